"""irgen's components through the registry: names checked before any stage runs, and each
component against its protocol (``almost.testing.check_component``)."""

from __future__ import annotations

import pytest

from almost.testing import check_component, load_app, run_cli

KNOWN = {"train.trainer": ("trainer", "irgen-sft"), "refine.trainer": ("trainer", "irgen-grpo"),
         "evaluate.sampler": ("sampler", "irgen-llm"), "train.dataset": ("dataset", "irgen-triplets")}


@pytest.mark.parametrize("key", sorted(KNOWN))
def test_unknown_component_names_are_refused_with_the_known_ones(key, tmp_path):
    kind, known = KNOWN[key]
    code, out, err = run_cli(["config", "--plugin", "irgen", "--set", f"{key}=nosuch"])
    assert code == 2, out + err
    assert f"{key} names no known {kind} component ('nosuch')" in err and known in err and "Traceback" not in err
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(tmp_path), "--set", f"{key}=nosuch"])
    assert code == 2 and f"known {kind} components" in err
    assert not (tmp_path / "synth").exists()  # refused before any stage ran


def test_config_names_a_dataset_a_sampler_and_trainers():
    cfg = load_app().pipelines["irgen"].resolve_config("tiny")
    assert (cfg.train.dataset, cfg.train.trainer, cfg.refine.trainer, cfg.evaluate.sampler) == (
        "irgen-triplets", "irgen-sft", "irgen-rloo", "irgen-llm")


def test_triplets_dataset_and_llm_sampler_meet_their_protocols(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path),
                              "--set", "synth.count=20"])
    assert code == 0, out + err
    reg = load_app().registry
    ds = check_component(reg, "dataset/irgen-triplets", root=tmp_path / "prepare")
    assert len(ds) == len(ds.split("train")) > 0 and ds.split("eval") and "conversations" in ds[0]
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    greedy = check_component(reg, "sampler/irgen-llm", model=model, tokenizer=tok, max_new_tokens=12)
    sampled = check_component(reg, "sampler/irgen-llm", model=model, tokenizer=tok, max_new_tokens=12,
                              temperature=1.0)
    conds = greedy.example_conditions()
    assert all(isinstance(c, str) for c in greedy.sample(conds))
    import torch

    a = sampled.sample(conds * 3, generator=torch.Generator().manual_seed(1))
    b = sampled.sample(conds * 3, generator=torch.Generator().manual_seed(2))
    assert a != b  # the generator's seed is what the samples are drawn from
