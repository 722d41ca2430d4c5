"""Atomic writes survive crashes; training state saves and resumes through accelerate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from almost import io as aio
from almost.errors import ConfigError, InterruptedRun, NonFiniteError, UserError
from almost.train.checkpoint import (
    Checkpoints,
    load_safetensors,
    make_accelerator,
    save_safetensors,
)

from .trusty import (
    _flip_a_byte,
    _interrupt,
    _run,
    _same,
    _weights,
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


# moved from test_trust*.py (issues 10 and 27)
def test_checkpoints_refuse_a_negative_keep(tmp_path):
    from almost.train.checkpoint import Checkpoints

    with pytest.raises(UserError, match="keep_checkpoints must be >= 1"):
        Checkpoints(tmp_path, accelerator=None, keep=-1)


def test_checkpoints_never_save_nan_weights(tmp_path):
    import torch

    from almost.train.checkpoint import Checkpoints, make_accelerator

    acc = make_accelerator(cpu=True)
    model = acc.prepare(torch.nn.Linear(2, 1))
    ck = Checkpoints(tmp_path / "train" / "ck", acc)
    ck.save(1)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"train: weight weight became NaN or infinite by step 2; the last good "
                                             r"checkpoint step-00000001 is kept"):
        ck.save(2)
    assert [p.name for p in ck.all()] == ["step-00000001"]


def test_resume_skips_a_torn_checkpoint_and_matches_an_uninterrupted_run(app, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setenv("TRAINY_STOP_AT", "6")
    with pytest.raises(InterruptedRun):
        _run(app, run, sets=["steps=8"])
    monkeypatch.delenv("TRAINY_STOP_AT")
    newest = run / "train" / "checkpoints" / "step-00000004" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:40])  # a torn file in the newest checkpoint
    capsys.readouterr()
    metrics = _run(app, run, sets=["steps=8"])
    out = " ".join(capsys.readouterr().out.split())
    assert "step-00000004 is damaged (model.safetensors has 40 bytes, not the" in out
    assert "set aside as damaged-step-00000004" in out
    assert metrics["train"]["resumed_from"] == 2.0
    _run(app, tmp_path / "straight", sets=["steps=8"])
    a, b = _weights(run), _weights(tmp_path / "straight")
    assert all((a[k] == b[k]).all() for k in a)  # bitwise


def test_no_intact_checkpoint_is_one_sentence(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINY_STOP_AT", "4")
    with pytest.raises(InterruptedRun):
        _run(app, tmp_path, sets=["steps=8"])
    monkeypatch.delenv("TRAINY_STOP_AT")
    (tmp_path / "train" / "checkpoints" / "step-00000002" / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(UserError, match=r"^no intact checkpoint in .*checkpoints \(step-00000002: model.safetensors "
                                        r"has 4 bytes.*re-run with --force train\)$"):
        _run(app, tmp_path, sets=["steps=8"])


def test_checkpoint_files_and_folders_are_fsynced(app, tmp_path, monkeypatch):
    synced: set[str] = set()
    real = os.fsync

    def spy(fd):
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    _run(app, tmp_path, sets=["steps=2"])
    ck = tmp_path / "train" / "checkpoints" / "step-00000002"
    files = [p for p in ck.rglob("*")]
    assert files and all(str(p).replace(ck.name, f".{ck.name}.tmp") in synced or str(p) in synced for p in files)
    assert str(ck.parent) in synced  # the rename itself


def test_disk_full_inside_a_checkpoint_write_is_one_sentence(tmp_path, monkeypatch):
    import torch

    from almost.train.checkpoint import Checkpoints, make_accelerator

    acc = make_accelerator(cpu=True)
    acc.prepare(torch.nn.Linear(2, 1))
    ck = Checkpoints(tmp_path / "train" / "checkpoints", acc)
    ck.save(1)

    def full(path, **kw):  # what safetensors raises when the disk fills up mid-file
        raise RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(acc, "save_state", full)
    with pytest.raises(UserError, match=r"^no space left on the device while writing .*step-00000002.tmp; free some"):
        ck.save(2)
    assert [p.name for p in (tmp_path / "train" / "checkpoints").iterdir()] == ["step-00000001"]


def test_same_config_gives_bitwise_equal_weights(app, tmp_path):
    _run(app, tmp_path / "one")
    _run(app, tmp_path / "two")
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert all((a[k] == b[k]).all() for k in a)


def test_a_checkpoint_of_another_config_is_refused_even_without_the_stage_record(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch)
    (tmp_path / "train" / ".almost-config.json").unlink()  # e.g. a folder copied in by hand
    (tmp_path / "config.toml").unlink()
    with pytest.raises(ConfigError, match=r"checkpoint .*step-00000004 was made with another config \(lr 0.1 → 0.3\)"
                                          r".*--force train"):
        _run(app, tmp_path, sets=["steps=8", "lr=0.3"])


def test_same_size_damage_is_found_set_aside_and_the_older_one_used(app, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    _interrupt(app, run, monkeypatch)
    ck = run / "train" / "checkpoints"
    _flip_a_byte(ck / "step-00000004" / "model.safetensors")
    capsys.readouterr()
    shown = _run(app, run, sets=["steps=8"])
    out = " ".join(capsys.readouterr().out.split())
    assert ("checkpoint step-00000004 is damaged (model.safetensors does not match the checksum written with it); "
            "set aside as damaged-step-00000004") in out
    assert shown["train"]["resumed_from"] == 2.0
    assert (ck / "damaged-step-00000004" / "almost-damaged.txt").is_file()
    _run(app, tmp_path / "straight", sets=["steps=8"])
    assert _same(_weights(run), _weights(tmp_path / "straight"))


def test_no_intact_checkpoint_says_what_happens_next(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch, at=4)
    _flip_a_byte(tmp_path / "train" / "checkpoints" / "step-00000002" / "model.safetensors")
    with pytest.raises(UserError, match=r"^no intact checkpoint in .*checkpoints \(step-00000002: model.safetensors "
                                        r"does not match.*set aside.*starts train from step 0"):
        _run(app, tmp_path, sets=["steps=8"])
    shown = _run(app, tmp_path, sets=["steps=8"])  # as the message says
    assert shown["train"]["resumed_from"] == 0.0
