"""Atomic writes survive crashes; training state saves and resumes through accelerate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from almost import io as aio
from almost.errors import UserError
from almost.train.checkpoint import (
    Checkpoints,
    load_safetensors,
    make_accelerator,
    save_safetensors,
)


def test_atomic_safetensors_crash_mid_write_keeps_old_file(tmp_path: Path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_safetensors({"w": torch.ones(4)}, path)
    import safetensors.torch as st

    def crashing_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 10)  # half a file...
        raise OSError("disk full")  # ...then the process dies

    monkeypatch.setattr(st, "save_file", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        save_safetensors({"w": torch.zeros(4)}, path)
    assert torch.equal(load_safetensors(path)["w"], torch.ones(4))
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]  # no temp file left behind


def test_atomic_write_interrupted_by_keyboard_keeps_old(tmp_path: Path):
    path = tmp_path / "scores.json"
    aio.atomic_write_json(path, {"a": 1})
    with pytest.raises(KeyboardInterrupt), aio.atomic_path(path) as tmp:
        tmp.write_text('{"a": 2, "b"')
        raise KeyboardInterrupt
    assert aio.read_json(path) == {"a": 1}


def test_atomic_dir_swaps_a_whole_folder_and_keeps_the_old_one_on_failure(tmp_path: Path):
    model = tmp_path / "model"
    with aio.atomic_dir(model) as tmp:
        (tmp / "a.bin").write_bytes(b"old")
        (tmp / "only-old.txt").write_text("x")
    # a failing save (or Ctrl-C) leaves the old folder exactly as it was, and no temp folder
    with pytest.raises(KeyboardInterrupt), aio.atomic_dir(model) as tmp:
        (tmp / "a.bin").write_bytes(b"half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in model.iterdir()) == ["a.bin", "only-old.txt"]
    assert (model / "a.bin").read_bytes() == b"old"
    # a re-run over an existing folder (a stage redone after a crash) replaces it whole:
    # no file of the old folder survives, nothing is left beside it
    with aio.atomic_dir(model) as tmp:
        (tmp / "a.bin").write_bytes(b"new")
    assert sorted(p.name for p in model.iterdir()) == ["a.bin"] and (model / "a.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    # a crash between the two renames left the old folder aside: the next save clears it
    (tmp_path / ".model.old").mkdir()
    with aio.atomic_dir(model) as tmp:
        (tmp / "b.bin").write_bytes(b"b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_atomic_files_get_the_usual_permissions(tmp_path: Path):
    import stat

    aio.atomic_write(tmp_path / "a.txt", "x")
    # mkstemp creates 0600 files; the result must have the mode a plain open() gives
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~aio._UMASK


def test_corrupt_files_are_user_errors(tmp_path: Path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="bad.safetensors is not a readable safetensors file"):
        load_safetensors(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_safetensors(tmp_path / "none.safetensors")
    j = tmp_path / "x.json"
    j.write_text("{oops")
    with pytest.raises(UserError, match=r"x.json is not valid JSON \(line 1"):
        aio.read_json(j)


def _setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    acc = make_accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    return acc, model, opt


def _train(model, opt, steps):
    for i in range(steps):
        x = torch.full((4, 3), float(i + 1))
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()


def test_training_state_resume_matches_uninterrupted_run(tmp_path: Path):
    acc, model, opt = _setup()
    _train(model, opt, 2)
    ck = Checkpoints(tmp_path / "ckpt", acc)
    ck.save(2, {"epoch": 1})
    _train(model, opt, 2)
    straight = model.weight.detach().clone()

    acc2, model2, opt2 = _setup(seed=123)  # different init: must be overwritten by the load
    extra = Checkpoints(tmp_path / "ckpt", acc2).load()
    assert extra == {"step": 2, "epoch": 1}
    _train(model2, opt2, 2)
    assert torch.allclose(model2.weight, straight)


def test_checkpoints_are_listed_and_never_deleted_by_default(tmp_path: Path):
    acc, model, opt = _setup()
    ck = Checkpoints(tmp_path, acc)
    for s in (1, 2, 3):
        ck.save(s)
    assert [p.name for p in ck.all()] == ["step-00000001", "step-00000002", "step-00000003"]
    (tmp_path / ".step-00000004.tmp").mkdir()  # an interrupted save is ignored
    assert ck.latest().name == "step-00000003"
    Checkpoints(tmp_path, acc, keep=2).save(4)
    assert [p.name for p in ck.all()] == ["step-00000003", "step-00000004"]
    assert Checkpoints(tmp_path / "empty", acc).load() is None


def test_adapter_only_checkpoints_hold_the_lora_alone_and_restore_it(tmp_path: Path):
    peft = pytest.importorskip("peft")
    from almost.train.checkpoint import adapter_only_checkpoints

    torch.manual_seed(0)
    base = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    model = peft.get_peft_model(base, peft.LoraConfig(r=2, target_modules=["0", "2"], init_lora_weights=False))
    acc = make_accelerator(cpu=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model, opt = acc.prepare(model, opt)
    adapter_only_checkpoints(acc, model)
    acc.save_state(str(tmp_path / "ck"), safe_serialization=True)
    saved = load_safetensors(tmp_path / "ck" / "lora.safetensors")
    assert saved and all("lora_" in k for k in saved)  # the adapter, none of the frozen base
    assert not list((tmp_path / "ck").glob("model*.safetensors"))
    lora = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    base_w = model.base_model.model[0].base_layer.weight.detach().clone()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.add_(1.0)
    acc.load_state(str(tmp_path / "ck"))
    assert all(torch.equal(p, lora[n]) for n, p in model.named_parameters() if "lora_" in n)
    assert torch.equal(model.base_model.model[0].base_layer.weight, base_w)
