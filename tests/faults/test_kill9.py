"""Fault suite: kill -9 a real training stage of each plugin, again and again, and resume.

For gamengen ``train``, ddpo ``policy`` and irgen ``train`` (tiny settings, seconds each):

1. prepare a run directory with the stage's inputs (once);
2. run the stage uninterrupted in a copy of it: the reference weights;
3. in another copy, loop "start ``almost run``, wait, ``kill -9``": some kills after a random
   time, some the moment a checkpoint is being written (its ``.step-*.tmp`` folder exists);
   after every kill the run's records must still be valid JSON; then let a last run finish;
4. the final weights must equal the reference's **bitwise**.

Run: ``uv run pytest tests/faults -m faults`` (``ALMOST_FAULT_KILLS=10`` for more kills per
plugin; default 3). Marked slow; about 3 minutes in all on an idle 2-core machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.faults]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the in-process preparation too

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ALMOST_NO_PROGRESS": "1",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONHASHSEED": "0", "TOKENIZERS_PARALLELISM": "false"}
KILLS = int(os.environ.get("ALMOST_FAULT_KILLS", "3"))  # per plugin; every other one during a checkpoint write


def almost(*args: str) -> list[str]:
    return [sys.executable, "-m", "almost.cli", *args]


def run_args(plugin: str, out: Path, stages: list[str], sets: list[str]) -> list[str]:
    args = ["run", "--plugin", plugin, *stages, "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    return almost(*args)


def prepare(plugin: str, out: Path, stages: list[str], sets: list[str]) -> None:
    """Run the stages before the one under test, in this process (their output is copied to
    both the reference and the faulted run, so how it was made does not matter)."""
    from almost.testing import run_cli

    args = ["run", "--plugin", plugin, *stages, "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    code, stdout, err = run_cli(args)
    assert code == 0, (stdout[-2000:], err[-3000:])


def run_ok(cmd: list[str], timeout: float = 600) -> float:
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    return time.time() - t0


def tensors(folder: Path) -> dict[str, object]:
    """Every tensor of every .safetensors file under ``folder`` (checkpoints left out)."""
    from safetensors.torch import load_file

    out = {}
    for f in sorted(folder.rglob("*.safetensors")):
        rel = f.relative_to(folder)
        if "checkpoints" in rel.parts or any(p.startswith(".") for p in rel.parts):
            continue
        for k, v in load_file(str(f)).items():
            out[f"{rel}:{k}"] = v
    assert out, f"no weights under {folder}"
    return out


def assert_bitwise_equal(a: dict, b: dict) -> None:
    import torch

    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}"


def records_are_valid(out: Path) -> None:
    def strict(c):
        raise AssertionError(f"a record in {out} holds {c}")

    for name in ("manifest.json", "metrics.json"):
        p = out / name
        if p.exists():
            json.loads(p.read_text(), parse_constant=strict)


def _steps(ckdir: Path) -> set[str]:
    return {c.name for c in ckdir.iterdir() if c.name.startswith("step-")} if ckdir.is_dir() else set()


def kill_loop(cmd: list[str], out: Path, ckdir: Path, gap: float, seed: int) -> list[str]:
    """Start ``cmd`` and kill -9 it, ``KILLS`` times, then let it finish. Even kills come a random
    time (up to ``gap`` s, about one checkpoint interval) after the run wrote a new checkpoint;
    odd ones the moment a checkpoint is being written (its ``.tmp`` folder exists). Returns what
    each kill hit."""
    rng = random.Random(seed)
    log = []
    for i in range(KILLS):
        before = _steps(ckdir)
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        during_write = i % 2 == 1
        hit, fire_at = None, None
        while p.poll() is None:
            if during_write:
                if ckdir.is_dir() and any(c.name.endswith(".tmp") for c in ckdir.iterdir()):
                    hit = "during a checkpoint write"
                    break
                time.sleep(0.002)
            else:
                if fire_at is None and _steps(ckdir) - before:
                    fire_at = time.time() + rng.uniform(0, gap)
                if fire_at is not None and time.time() >= fire_at:
                    hit = "random, mid-training"
                    break
                time.sleep(0.02)
        if p.poll() is not None:  # finished (or failed) before the kill
            err = p.stderr.read()
            assert p.returncode == 0, err[-3000:]
            log.append("finished first")
            return log
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        p.stderr.close()
        log.append(hit)
        records_are_valid(out)
    run_ok(cmd)
    records_are_valid(out)
    return log


def _timed(key: str) -> bool:
    return key in ("time", "seconds") or key.endswith(("_per_s", "_s", "resumed_from", "resumed_from_step"))


def _untimed(values: dict) -> dict:
    return {k: v for k, v in values.items() if not _timed(k)}


def _history(sdir: Path) -> list[dict]:
    """A stage's history without wall-clock values (each step once, the same numbers)."""
    from almost.observe.history import read_history

    return [_untimed(r) for r in read_history(sdir) if "media" not in r]


def fault_case(tmp_path: Path, plugin: str, stage: str, prepared: Path, sets: list[str], weights_of, ckdir_of,
               seed: int) -> list[str]:
    ref, faulted = tmp_path / "reference", tmp_path / "faulted"
    shutil.copytree(prepared, ref)
    shutil.copytree(prepared, faulted)
    t0 = time.time()
    p = subprocess.Popen(run_args(plugin, ref, [stage], sets), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env=ENV)
    seen: dict[str, float] = {}
    while p.poll() is None:  # when does each checkpoint appear? the random kills aim between two
        for name in _steps(ckdir_of(ref)) - seen.keys():
            seen[name] = time.time() - t0
        time.sleep(0.02)
    assert p.returncode == 0, p.stderr.read()[-3000:]
    total = time.time() - t0
    times = sorted(seen.values())
    gap = (times[-1] - times[0]) / max(len(times) - 1, 1) if len(times) > 1 else 1.0
    log = kill_loop(run_args(plugin, faulted, [stage], sets), faulted, ckdir_of(faulted), gap, seed)
    manifest = json.loads((faulted / "manifest.json").read_text())
    stages = manifest["stages"]
    assert stages[stage]["status"] == "done"
    assert_bitwise_equal(tensors(weights_of(ref)), tensors(weights_of(faulted)))
    # history and metrics as an uninterrupted run's (running averages are part of the checkpoint)
    sdir = weights_of(ref) if weights_of(ref).name == stage else weights_of(ref).parent
    rel = sdir.relative_to(ref)
    assert _history(ref / rel) == _history(faulted / rel)
    assert _untimed(json.loads((ref / "metrics.json").read_text())[stage]) == \
        _untimed(json.loads((faulted / "metrics.json").read_text())[stage])
    print(f"{plugin} {stage}: reference {total:.1f}s, {len(times)} checkpoints {gap:.2f}s apart; kills: {log}")
    assert sum(hit != "finished first" for hit in log) >= 2, log  # the loop really interrupted it
    return log


# -- gamengen train -----------------------------------------------------------------------------
GAMENGEN = ["env.height=40", "env.width=40", "encode.vae_fit_steps=2", "encode.vae_fit_batch_size=4",
            "model.context=2", "model.block_out_channels=[16, 16]", "model.action_dim=16",
            "train.steps=16", "train.batch_size=2", "train.checkpoint_every=2", "train.warmup_steps=1",
            "train.log_every=2"]


@pytest.fixture(scope="module")
def gamengen_prepared(tmp_path_factory):
    from almost_gamengen.data.synthetic import write_synthetic

    run = tmp_path_factory.mktemp("gamengen") / "run"
    write_synthetic(run / "collect" / "episodes", episodes=4, length=12, height=40, width=40)
    prepare("gamengen", run, ["encode"], GAMENGEN)
    return run


def test_gamengen_train_survives_kill_9(tmp_path, gamengen_prepared):
    fault_case(tmp_path, "gamengen", "train", gamengen_prepared, GAMENGEN,
               weights_of=lambda run: run / "train" / "model",
               ckdir_of=lambda run: run / "train" / "checkpoints", seed=1)


# -- ddpo policy -----------------------------------------------------------------------------------
DDPO = ["generate.prompts=a red circle,a blue square", "generate.steps=3", "policy.epochs=6",
        "policy.samples_per_epoch=4", "policy.sample_batch_size=4", "policy.train_batch_size=4",
        "policy.steps=3", "policy.eval_images_per_prompt=1", "policy.checkpoint_every=1", "reward=compressibility"]


@pytest.fixture(scope="module")
def ddpo_prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddpo")
    model = root / "model"
    from almost_ddpo.loaders import build_tiny, save_pipeline
    from almost_ddpo.shapes import vocabulary

    save_pipeline(model, *build_tiny(vocabulary(), image_size=32, seed=0))
    run = root / "run"
    sets = [f"model.path={model}", *DDPO]
    prepare("ddpo", run, ["pretrain"], sets)
    return run, sets


def test_ddpo_policy_survives_kill_9(tmp_path, ddpo_prepared):
    prepared, sets = ddpo_prepared
    fault_case(tmp_path, "ddpo", "policy", prepared, sets,
               weights_of=lambda run: run / "round-001" / "policy",
               ckdir_of=lambda run: run / "round-001" / "policy" / "checkpoints", seed=2)


# -- irgen train -----------------------------------------------------------------------------------
IRGEN = ["synth.count=40", "train.max_steps=12", "train.eval_every=2", "train.patience=0"]


def _tiny_llama(folder: Path) -> None:
    """A 2-layer, 64-dim Llama with a byte-level BPE tokenizer trained here (offline)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from almost_irgen.ir import dumps
    from almost_irgen.model import CHATML
    from almost_irgen.rules import generate
    from almost_irgen.synthgen import Size, random_ir

    rng = random.Random(0)
    irs = [random_ir(rng, Size(2, 1, 2)) for _ in range(40)]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator([dumps(ir) for ir in irs] + [generate(ir) for ir in irs], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.chat_template = CHATML
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=True)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)


@pytest.fixture(scope="module")
def irgen_prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("irgen")
    _tiny_llama(root / "base")
    run = root / "run"
    sets = [f"model.base={root / 'base'}", *IRGEN]
    prepare("irgen", run, ["synth", "prepare"], sets)
    return run, sets


def test_irgen_train_survives_kill_9(tmp_path, irgen_prepared):
    prepared, sets = irgen_prepared
    fault_case(tmp_path, "irgen", "train", prepared, sets,
               weights_of=lambda run: run / "train" / "adapter",
               ckdir_of=lambda run: run / "train" / "checkpoints", seed=3)


def test_gamengen_train_never_resumes_a_checkpoint_of_another_config(tmp_path, gamengen_prepared):
    """The issue's repro: kill train (lr 0.001) after a checkpoint; `rollout --force --set
    train.lr=0.0005` rewrites config.toml (and fails: train is not done); the next
    `train --set train.lr=0.0005` must refuse to resume the lr=0.001 checkpoint, in one sentence
    offering --force train, and `--force train` then trains the new config from step 0."""
    run = tmp_path / "run"
    shutil.copytree(gamengen_prepared, run)
    sets = [*GAMENGEN, "train.lr=0.001"]
    p = subprocess.Popen(run_args("gamengen", run, ["train"], sets), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    ckdir = run / "train" / "checkpoints"
    while p.poll() is None and not _steps(ckdir):
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stderr.close()
    assert _steps(ckdir), "train finished before the kill"
    new = [*GAMENGEN, "train.lr=0.0005"]
    r = subprocess.run(run_args("gamengen", run, ["rollout", "--force"], new), capture_output=True, text=True,
                       env=ENV, timeout=600)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "lr = 0.0005" in (run / "config.toml").read_text()
    r = subprocess.run(run_args("gamengen", run, ["train"], new), capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 2, (r.stdout[-2000:], r.stderr[-2000:])
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "stage train was killed under another config" in err, err
    assert "train.lr 0.001 → 0.0005" in err and "--force train" in err, err
    r = subprocess.run(run_args("gamengen", run, ["train", "--force"], new), capture_output=True, text=True,
                       env=ENV, timeout=600)
    assert r.returncode == 0 and "resuming from step" not in r.stdout, r.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())["train"]
    assert metrics["resumed_from_step"] == 0.0


def test_gamengen_train_killed_between_its_model_and_its_metrics_finishes_them(tmp_path, gamengen_prepared):
    """A kill after train wrote its model, before it logged its metrics: the next run must log them
    (it used to find the model, return at once, and be marked done with no metrics)."""
    run = tmp_path / "run"
    shutil.copytree(gamengen_prepared, run)
    env = {**ENV, "PYTHONPATH": str(Path(__file__).parent)}
    code = ("import os, signal, sys; from almost import runs as pipeline; "
            "real = pipeline.RunContext.log_metrics\n"
            "def killed(self, *a, **k):\n"
            "    if self.stage_name == 'train': os.kill(os.getpid(), signal.SIGKILL)\n"
            "    return real(self, *a, **k)\n"
            "pipeline.RunContext.log_metrics = killed\n"
            "from almost.cli import main; sys.exit(main(sys.argv[1:]))")
    args = run_args("gamengen", run, ["train"], GAMENGEN)[3:]  # after `python -m almost.cli`
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert (run / "train" / "model" / "world_model.json").is_file()
    assert json.loads((run / "manifest.json").read_text())["stages"]["train"]["status"] == "running"
    run_ok(run_args("gamengen", run, ["train"], GAMENGEN))
    rec = json.loads((run / "manifest.json").read_text())["stages"]["train"]
    metrics = json.loads((run / "metrics.json").read_text())["train"]
    assert rec["status"] == "done" and "heldout_loss" in metrics and rec["metrics"] == metrics
