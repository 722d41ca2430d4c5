"""benchmarks/bench_irgen_train.py compares like with like: trl's SFTTrainer, fed the benchmark's
examples, trains irgen's objective (answer-only loss, examples kept apart) from the same LoRA init."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import attrs
import pytest

pytest.importorskip("trl")  # a dev dependency: the benchmark's baseline, not irgen's

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_irgen_train.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_irgen_train", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_trl_modes_train_irgens_objective(tiny_model_dir):
    from almost_irgen.config import tiny
    from almost_irgen.model import load_tokenizer
    from almost_irgen.rules import generate
    from almost_irgen.sharegpt import record
    from almost_irgen.stages.train import make_batches, tokenize_all
    from almost_irgen.synthgen import Size, random_ir

    bench = _bench()
    tok = load_tokenizer(tiny_model_dir)
    rng = random.Random(0)
    recs = [record(ir, generate(ir)) for ir in (random_ir(rng, Size(2, 1, 2)) for _ in range(20))]
    cfg = attrs.evolve(tiny().train, max_steps=3, eval_examples=4)
    ex = tokenize_all(tok, recs, cfg.max_length)
    steps = [bench.unpad(b) for b in make_batches(ex[:15], cfg, tok.pad_token_id, random.Random(0))]
    s = bench.Setup(tiny_model_dir, tok, cfg, "no", steps, ex[15:19])
    ours = bench.run_irgen(s)
    assert len(ours.losses) == 3 and ours.tokens == [sum(len(i) for i, _ in b) for b in steps]
    for mode in ("trl padding", "trl padding-free"):  # the same batches: the same losses, step by step
        r = bench.run_trl(s, mode)
        assert r.tokens == ours.tokens and r.answer == ours.answer, mode
        assert r.losses == pytest.approx(ours.losses, rel=1e-3), mode
        assert r.eval_loss == pytest.approx(ours.eval_loss, rel=1e-3), mode
    packed = bench.run_trl(s, "trl packing")  # trl's own rows: its loss is irgen's on the same examples
    assert sum(packed.tokens) == sum(ours.tokens) and sum(packed.answer) == sum(ours.answer)
    assert packed.losses[0] == pytest.approx(packed.reference, rel=1e-4)
    assert ours.rate(1) > 0 and packed.rate(1) > 0
