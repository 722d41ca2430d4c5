"""Stage ``train``: answer-only loss masks, packing without cross-example attention, LoRA training,
the core's checkpoints and resume, per-rank shards and a two-process launch."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import torch

from almost.errors import UserError
from almost.testing import free_port
from almost_irgen.config import full
from almost_irgen.model import encode, load_model, load_tokenizer
from almost_irgen.packing import collate_packed, collate_padded, pack
from almost_irgen.rules import generate
from almost_irgen.sharegpt import record
from almost_irgen.stages.train import checkpoints
from almost_irgen.synthgen import Size, random_ir


def _records(n, seed=0):
    rng = random.Random(seed)
    irs = [random_ir(rng, Size(2, 1, 2)) for _ in range(n)]
    return [record(ir, generate(ir)) for ir in irs]


def test_labels_cover_the_answer_only(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    rec = _records(1)[0]
    ids, labels = encode(tok, rec["conversations"])
    assert len(ids) == len(labels)
    first = next(i for i, x in enumerate(labels) if x != -100)
    assert all(x == -100 for x in labels[:first]) and all(x != -100 for x in labels[first:])
    answer = rec["conversations"][2]["value"]
    assert tok.decode(labels[first:], skip_special_tokens=True) == answer
    assert labels[-1] == tok.eos_token_id
    prompt = tok.decode(ids[:first])
    assert prompt.endswith("<|im_start|>assistant\n") and rec["conversations"][1]["value"] in prompt


def test_packing_keeps_examples_apart(tiny_model_dir):
    """Logits of an example inside a packed row equal its logits alone: no cross-example attention."""
    import torch

    tok = load_tokenizer(tiny_model_dir)
    model = load_model(tiny_model_dir)
    exs = [encode(tok, r["conversations"]) for r in _records(3)]
    rows = pack(exs, 10_000)
    assert len(rows) == 1 and len(rows[0]) == 3
    batch = collate_packed(rows, tok.pad_token_id)
    assert batch["position_ids"][0, len(exs[0][0])] == 0  # positions restart per example
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        start = len(exs[0][0]) + len(exs[1][0])
        alone = model(input_ids=torch.tensor([exs[2][0]])).logits[0]
    torch.testing.assert_close(packed[start:start + len(exs[2][0])], alone, atol=1e-4, rtol=1e-4)
    # the check can fail: with one running position range (no block mask) the third example sees the others
    with torch.no_grad():
        width = batch["input_ids"].shape[1]
        leaky = model(input_ids=batch["input_ids"], position_ids=torch.arange(width)[None], use_cache=False).logits[0]
    assert not torch.allclose(leaky[start:start + len(exs[2][0])], alone, atol=1e-2)
    # and the loss masks survive packing, minus each example's first token
    n_labels = sum(sum(x != -100 for x in lab) for _, lab in exs)
    assert int((batch["labels"] != -100).sum()) == n_labels
    padded = collate_padded(exs, tok.pad_token_id)
    assert padded["input_ids"].shape == (3, max(len(e[0]) for e in exs))


def test_pack_respects_row_budget():
    exs = [([1] * n, [1] * n) for n in (5, 7, 3, 9, 2)]
    rows = pack(exs, 10)
    assert all(sum(len(e[0]) for e in row) <= 10 for row in rows)
    assert sorted(len(e[0]) for row in rows for e in row) == [2, 3, 5, 7, 9]


def _run(tmp_path, tiny_model_dir, *stages, sets=()):
    from almost.testing import run_cli

    args = ["run", "--plugin", "irgen", *stages, "--out", str(tmp_path), "--set", f"model.base={tiny_model_dir}",
            "--set", "synth.count=40", "--set", "train.eval_every=2", "--set", "train.batch_tokens=512",
            "--set", "train.lr=0.01", "--set", "train.patience=0", *[x for s in sets for x in ("--set", s)]]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    return out


def test_lora_training_moves_adapters_lowers_loss_and_resumes(tmp_path, tiny_model_dir):
    import json

    from almost.train.checkpoint import load_safetensors

    _run(tmp_path, tiny_model_dir, "synth", "prepare", "train", sets=["train.max_steps=4"])
    m = json.loads((tmp_path / "metrics.json").read_text())["train"]
    assert m["steps"] == 4 and m["best_eval_loss"] < m["first_loss"]
    ck = sorted((tmp_path / "train" / "checkpoints").glob("step-*"))
    assert [p.name for p in ck] == ["step-00000002", "step-00000004"]
    w = load_safetensors(ck[-1] / "adapter.safetensors")
    lora_b = [v for k, v in w.items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().max()) > 0 for v in lora_b)  # B starts at zero: it moved
    assert (tmp_path / "train" / "adapter" / "adapter_config.json").is_file()


def test_interrupted_train_resumes_from_its_checkpoint(tmp_path, tiny_model_dir):
    import json
    import shutil

    from almost.observe.history import read_history
    from almost.testing import run_cli

    _run(tmp_path, tiny_model_dir, "synth", "prepare", "train", sets=["train.max_steps=4"])
    straight = json.loads((tmp_path / "metrics.json").read_text())["train"]
    ema = [(r["step"], r["loss_ema"]) for r in read_history(tmp_path / "train") if "loss_ema" in r]
    # as if stopped after step 2: its checkpoint is the last one, the stage is marked interrupted
    shutil.rmtree(tmp_path / "train" / "checkpoints" / "step-00000004")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["stages"]["train"]["status"] = "interrupted"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = run_cli(["run", "--plugin", "irgen", "train", "--out", str(tmp_path),
                              "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=40",
                              "--set", "train.eval_every=2", "--set", "train.batch_tokens=512",
                              "--set", "train.lr=0.01", "--set", "train.patience=0", "--set", "train.max_steps=4"])
    assert code == 0, out + err
    assert "resuming from step 2" in out
    resumed = json.loads((tmp_path / "metrics.json").read_text())["train"]
    assert resumed["steps"] == 4
    # the running average is part of the checkpoint: history and metrics as if never stopped
    assert resumed["final_train_loss"] == straight["final_train_loss"]
    assert [(r["step"], r["loss_ema"]) for r in read_history(tmp_path / "train") if "loss_ema" in r] == ema


def test_full_profile_builds_lora_with_gradient_checkpointing_on_cpu(tiny_model_dir):
    """The full profile's training code path, constructed and shape-checked on a tiny model (no weights)."""
    import torch

    from almost_irgen.stages.train import lora_model

    cfg = full()
    assert cfg.train.gradient_checkpointing and cfg.model.dtype == "bfloat16" and cfg.evaluate.k > 1
    model = lora_model(load_model(tiny_model_dir), cfg.train)
    model.train()
    ids = torch.randint(0, 100, (2, 16))
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    assert out.logits.shape == (2, 16, model.config.vocab_size)
    grads = [p.grad for n, p in model.named_parameters() if "lora_A" in n]
    assert grads and all(g is not None for g in grads)


def test_unknown_target_modules_and_cpu_4bit_are_user_errors(tiny_model_dir):
    import attrs

    from almost.errors import UserError
    from almost_irgen.stages.train import lora_model

    cfg = attrs.evolve(full().train, target_modules=["c_attn"])
    with pytest.raises(UserError, match="target_modules"):
        lora_model(load_model(tiny_model_dir), cfg)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            load_model(tiny_model_dir, quantize_4bit=True)


def test_mixed_precision_auto_is_bf16_only_where_the_hardware_has_it(monkeypatch):
    import torch

    from almost_irgen.config import tiny
    from almost_irgen.model import mixed_precision

    assert tiny().train.mixed_precision == "auto" and full().train.mixed_precision == "bf16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert mixed_precision("auto") == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)  # emulated bf16 is slower than fp32
    assert mixed_precision("auto") == "no"
    assert mixed_precision("no") == "no" and mixed_precision("bf16") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert mixed_precision("auto") == "no"


def test_a_bf16_autocast_step_moves_the_lora_and_keeps_it_fp32(tiny_model_dir):
    """What train does under mixed_precision=bf16 on a CPU: the LoRA weights stay fp32 masters."""
    import torch

    from almost.train.checkpoint import make_accelerator
    from almost_irgen.config import tiny
    from almost_irgen.stages.train import lora_model

    tok = load_tokenizer(tiny_model_dir)
    torch.manual_seed(0)
    model = lora_model(load_model(tiny_model_dir, "float32"), tiny().train)
    # accelerate's state is a process-wide singleton: an earlier test's Accelerator (fp32) would
    # make this one refuse bf16. A stage resets it the same way (RunContext.accelerator).
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=False)
    acc = make_accelerator(mixed_precision="bf16", cpu=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model, opt = acc.prepare(model, opt)
    ir = random_ir(random.Random(0), Size(2, 1, 2))
    ids, labels = encode(tok, record(ir, generate(ir))["conversations"])
    batch = {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels])}
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    losses = []
    for _ in range(3):
        loss = model(**batch, use_cache=False).loss
        acc.backward(loss)
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    after = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert all(p.dtype == torch.float32 for p in after.values())
    assert any(not torch.equal(before[n], after[n]) for n in before) and losses[-1] < losses[0]


def test_unpacked_batches_are_grouped_by_length():
    """train.pack=false: every example once, in batches of similar length (little padding), seeded."""
    import attrs

    from almost_irgen.config import tiny
    from almost_irgen.stages.train import make_batches

    rng = random.Random(0)
    exs = [([i] * n, [i] * n) for i, n in enumerate(rng.randint(20, 200) for _ in range(300))]
    cfg = attrs.evolve(tiny().train, pack=False, batch_size=5)
    assert not tiny().train.pack
    batches = make_batches(exs, cfg, 0, random.Random(1))
    seen = sorted(int(b["input_ids"][r, 0]) for b in batches for r in range(b["input_ids"].shape[0]))
    assert seen == list(range(300))
    pad = sum(int((b["attention_mask"] == 0).sum()) for b in batches) / sum(b["attention_mask"].numel() for b in batches)
    # random batches of 5 of these lengths pad ~35% of their tokens; grouped ones a few per cent
    shuffled = list(exs)
    random.Random(1).shuffle(shuffled)
    rand = [shuffled[i:i + 5] for i in range(0, 300, 5)]
    rand_pad = 1 - sum(len(e[0]) for e in exs) / sum(5 * max(len(e[0]) for e in b) for b in rand)
    assert pad < 0.05 < 0.25 < rand_pad
    # the batch order is shuffled (not longest last) and the same seed gives the same batches
    widths = [b["input_ids"].shape[1] for b in batches]
    assert widths != sorted(widths)
    again = make_batches(exs, cfg, 0, random.Random(1))
    assert all(a["input_ids"].equal(b["input_ids"]) for a, b in zip(batches, again))


def test_frozen_linears_in_bf16_change_no_number_under_autocast(tiny_model_dir):
    """train stores frozen linear weights in the autocast dtype once: same loss and gradients, bf16 weights."""
    import torch

    from almost_irgen.config import tiny
    from almost_irgen.stages.train import frozen_linears_to, lora_model

    tok = load_tokenizer(tiny_model_dir)
    ir = random_ir(random.Random(0), Size(2, 1, 2))
    ids, labels = encode(tok, record(ir, generate(ir))["conversations"])
    batch = {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels])}

    def loss_and_grads(cast: str):
        torch.manual_seed(0)
        model = lora_model(load_model(tiny_model_dir, "float32"), tiny().train)
        for n, p in model.named_parameters():  # B starts at zero: give the adapters a signal
            if "lora_B" in n:
                torch.nn.init.normal_(p, std=0.02)
        n_cast = frozen_linears_to(model, cast)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(**batch, use_cache=False).loss
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        return model, n_cast, loss.detach(), grads

    m0, n0, loss0, g0 = loss_and_grads("no")
    m1, n1, loss1, g1 = loss_and_grads("bf16")
    assert n0 == 0 and n1 > 0
    assert torch.equal(loss0, loss1) and all(torch.equal(g0[k], g1[k]) for k in g0)
    dtypes = {n: p.dtype for n, p in m1.named_parameters()}
    assert any(v == torch.bfloat16 for k, v in dtypes.items() if "base_layer" in k)
    assert all(v == torch.float32 for k, v in dtypes.items() if "lora_" in k)
    assert m1.get_input_embeddings().weight.dtype == torch.float32  # tied to the output head: not cast


def test_answer_loss_is_the_models_loss_from_fewer_logits(tiny_model_dir):
    """train's loss projects only the labelled positions, and equals the model's own loss (padded and packed)."""
    import torch

    from almost_irgen.stages.train import answer_loss

    tok = load_tokenizer(tiny_model_dir)
    model = load_model(tiny_model_dir)
    exs = [encode(tok, r["conversations"]) for r in _records(3, seed=4)]
    for batch in (collate_padded(exs, tok.pad_token_id), collate_packed(pack(exs, 10_000), tok.pad_token_id)):
        with torch.no_grad():
            ours = answer_loss(model, batch)
            theirs = model(**batch, use_cache=False).loss
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    # it can fail: the loss of every position differs, and so does one shifted off the labels
    with torch.no_grad():
        batch = collate_padded(exs, tok.pad_token_id)
        shifted = dict(batch, labels=torch.roll(batch["labels"], 1, dims=1))
        assert abs(float(answer_loss(model, shifted)) - float(model(**batch, use_cache=False).loss)) > 1e-3


# -- checkpoints (the core's, adapter only) --------------------------------------------------------
class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.proj(x)


def _lora_and_opt(seed: int):
    """A LoRA on a tiny net after one optimizer step (B starts at zero: the step moves it), prepared."""
    from accelerate.state import AcceleratorState
    from peft import LoraConfig, get_peft_model

    from almost.train.checkpoint import make_accelerator

    torch.manual_seed(seed)
    model = get_peft_model(_Net(), LoraConfig(r=2, lora_alpha=4, target_modules=["proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    AcceleratorState._reset_state(reset_partial_state=False)  # an earlier test's (bf16) would refuse fp32
    acc = make_accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    return acc, model, opt


def _lora(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def test_resume_skips_a_torn_newest_checkpoint(tmp_path, capsys):
    ckdir = tmp_path / "train" / "checkpoints"
    acc, m2, _ = _lora_and_opt(2)
    checkpoints(ckdir, acc, m2).save(2, {"note": "two"})
    acc, m4, _ = _lora_and_opt(4)
    checkpoints(ckdir, acc, m4).save(4, {"note": "four"})
    assert sorted(p.name for p in ckdir.iterdir()) == ["step-00000002", "step-00000004"]
    saved = (ckdir / "step-00000004" / "adapter.safetensors")  # the LoRA alone, not the frozen base
    from almost.train.checkpoint import load_safetensors

    assert sorted(load_safetensors(saved)) == ["base_model.model.proj.lora_A.weight",
                                               "base_model.model.proj.lora_B.weight"]
    saved.write_bytes(saved.read_bytes()[:40])

    acc, fresh, _ = _lora_and_opt(9)
    state = checkpoints(ckdir, acc, fresh).load()
    assert state == {"step": 2, "note": "two"}
    got, want = _lora(fresh), _lora(m2)
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)
    assert not torch.equal(got["base_model.model.proj.lora_B.default.weight"],
                           _lora(m4)["base_model.model.proj.lora_B.default.weight"])
    out = capsys.readouterr().out
    assert "step-00000004 is damaged" in out and "adapter.safetensors has 40 bytes" in out


def test_every_checkpoint_damaged_is_one_sentence(tmp_path):
    ckdir = tmp_path / "train" / "checkpoints"
    acc, m, _ = _lora_and_opt(1)
    checkpoints(ckdir, acc, m).save(1, {})
    (ckdir / "step-00000001" / "optimizer.bin").write_bytes(b"x")
    acc, fresh, _ = _lora_and_opt(3)
    with pytest.raises(UserError, match="no intact checkpoint in .*optimizer.bin has 1 bytes.*--force train"):
        checkpoints(ckdir, acc, fresh).load()


def test_no_checkpoint_means_a_fresh_start(tmp_path):
    acc, m, _ = _lora_and_opt(0)
    assert checkpoints(tmp_path / "train" / "checkpoints", acc, m).load() is None


# -- ranks -----------------------------------------------------------------------------------------
def test_ranks_train_on_disjoint_rows_of_equal_count():
    from almost_irgen.stages.train import make_batches, shard

    assert shard(list(range(10)), 0, 3) == [0, 3, 6] and shard(list(range(10)), 2, 3) == [2, 5, 8]
    assert shard([7], 1, 2) == [7]  # fewer items than ranks: every rank still steps
    cfg = attrs.evolve(full().train, batch_tokens=64, max_length=64, batch_size=1, pack=True)
    exs = [([i + 1] * 30, [i + 1] * 30) for i in range(9)]  # two examples per 64-token row
    per_rank = [make_batches(exs, cfg, 0, random.Random(3), rank, 2) for rank in (0, 1)]
    assert len(per_rank[0]) == len(per_rank[1]) >= 2
    seen = [{int(t) for b in batches for t in b["input_ids"].flatten() if t} for batches in per_rank]
    assert not seen[0] & seen[1]  # no example on both ranks
    alone = make_batches(exs, cfg, 0, random.Random(3))
    assert len(alone) == 5 and len(seen[0] | seen[1]) >= 8  # one short-tail row dropped at most


HERE = Path(__file__).parent


@pytest.mark.slow
def test_two_process_train_shards_data_and_writes_once(tmp_path, tiny_model_dir):
    from almost.testing import run_cli
    from almost.train.checkpoint import load_safetensors

    sets = [f"model.base={tiny_model_dir}", "synth.count=40", "train.eval_every=2", "train.batch_tokens=512",
            "train.lr=0.01", "train.patience=0", "train.epochs=1"]
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    for run in (one, two):
        code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(run),
                                  *[x for s in sets for x in ("--set", s)]])
        assert code == 0, out + err
    code, out, err = run_cli(["run", "--plugin", "irgen", "train", "--out", str(one),
                              *[x for s in sets for x in ("--set", s)]])
    assert code == 0, out + err
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(free_port()), str(HERE / "irgen_ddp_script.py"), str(two), *sets]
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(launcher, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (two.parent / "rank0.json").is_file() and (two.parent / "rank1.json").is_file()  # both ranks finished
    solo = json.loads((one / "metrics.json").read_text())["train"]
    duo = json.loads((two / "metrics.json").read_text())["train"]
    # one epoch over half the rows each: half the optimizer steps (rounded up), same example count
    assert duo["steps"] == -(-solo["steps"] // 2) or duo["steps"] == solo["steps"] // 2
    assert duo["steps"] < solo["steps"] and duo["train_examples"] == solo["train_examples"]
    manifest = json.loads((two / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "done"
    assert (two / "train" / "adapter" / "adapter_model.safetensors").is_file()
    ck = sorted((two / "train" / "checkpoints").glob("step-*"))
    assert ck and not list((two / "train" / "checkpoints").glob(".step-*"))  # no half-written step left
    w = load_safetensors(ck[-1] / "adapter.safetensors")
    assert any(float(v.abs().max()) > 0 for k, v in w.items() if "lora_B" in k)
