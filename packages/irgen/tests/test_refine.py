"""``refine``: RLOO on the LoRA, rewards chosen by config (a third-party one too), resumable."""

from __future__ import annotations

import json
import shutil

import pytest

from almost.testing import run_cli

FAST = ["--set", "refine.max_new_tokens=24", "--set", "refine.group_size=4", "--set", "refine.prompts_per_step=2",
        "--set", "refine.eval_examples=0", "--set", "refine.checkpoint_every=1",
        "--set", "refine.temperature=1.0"]  # the random tiny model needs diverse samples for a reward to tell apart


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    out = tmp_path_factory.mktemp("refine-run")
    code, o, e = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "train", "--out", str(out),
                          *base_sets(tiny_model_dir)])
    assert code == 0, o + e
    return out


def base_sets(tiny_model_dir):
    return ["--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30", "--set", "train.max_steps=1"]


def refine_args(dst, sets):
    base = (dst / "config.toml").read_text().split('base = "')[1].split('"')[0]
    return ["run", "--plugin", "irgen", "refine", "--force", "--out", str(dst), *base_sets(base), *FAST,
            *[x for s in sets for x in ("--set", s)]]


def refine(src, dst, *sets):
    shutil.copytree(src, dst)
    code, out, err = run_cli(refine_args(dst, sets))
    return code, out + err


def lora(run):
    from safetensors.torch import load_file

    return load_file(str(run / "refine" / "adapter" / "adapter_model.safetensors"))


def test_rloo_is_reward_minus_the_others_mean():
    import torch

    from almost_irgen.stages.refine import rloo

    adv = rloo(torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.5]), 3)
    assert torch.allclose(adv, torch.tensor([1.0, -0.5, -0.5, 0.5, -0.25, -0.25]))
    assert torch.allclose(rloo(torch.ones(4), 2), torch.zeros(4))  # all equal: nothing to learn


def test_third_party_reward_changes_what_refine_optimises(trained, tmp_path):
    from almost_example.lint import SemicolonReward  # registered through its entry point only

    code, out = refine(trained, tmp_path / "lint", "refine.reward=semicolons", "refine.steps=6", "refine.lr=0.05")
    assert code == 0, out
    hist = json.loads((tmp_path / "lint" / "refine" / "history.json").read_text())
    assert len(hist) == 6 and all(len(h["rewards"]) == 8 for h in hist)
    assert any(h["learning_rows"] for h in hist)  # the lint told programs apart
    m = json.loads((tmp_path / "lint" / "metrics.json").read_text())["refine"]
    assert m["reward_last"] > m["reward_first"]  # it raised the plugin's reward
    assert SemicolonReward()(["a;b;", ""], ["{}", "{}"]).tolist() == [1.0, 0.0]

    # the same run with the built-in compile reward: the untrained tiny model never compiles, so
    # every group scores the same, nothing is learned, and the LoRA stays the SFT one
    code, out = refine(trained, tmp_path / "compile", "refine.reward=csharp-compile", "refine.steps=2",
                       "refine.lr=0.05")
    assert code == 0, out
    hist = json.loads((tmp_path / "compile" / "refine" / "history.json").read_text())
    assert all(h["learning_rows"] == 0 and h["reward_mean"] == 0 for h in hist)
    from safetensors.torch import load_file

    sft = load_file(str(trained / "train" / "adapter" / "adapter_model.safetensors"))
    same, moved = lora(tmp_path / "compile"), lora(tmp_path / "lint")
    assert all(bool((same[k] == sft[k]).all()) for k in sft)
    assert any(not bool((moved[k] == sft[k]).all()) for k in sft)


def test_unknown_reward_is_one_sentence(trained, tmp_path):
    code, out = refine(trained, tmp_path / "bad", "refine.reward=nope")
    assert code != 0 and "refine.reward" in out and "csharp-compile" in out and "Traceback" not in out


def test_refine_resumes_from_its_checkpoint_and_matches_a_straight_run(trained, tmp_path, monkeypatch):
    import almost_irgen.stages.refine as stage

    sets = ("refine.reward=semicolons", "refine.steps=3", "refine.lr=0.05")
    code, out = refine(trained, tmp_path / "straight", *sets)
    assert code == 0, out
    real, calls = stage.rloo, {"n": 0}

    def crash_on_third(rewards, group):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(rewards, group)

    monkeypatch.setattr(stage, "rloo", crash_on_third)
    code, out = refine(trained, tmp_path / "resumed", *sets)
    assert code != 0
    assert (tmp_path / "resumed" / "refine" / "checkpoints" / "step-00000002").is_dir()
    monkeypatch.setattr(stage, "rloo", real)
    args = refine_args(tmp_path / "resumed", sets)
    args.remove("--force")  # a plain re-run resumes the interrupted stage
    code, out2, err2 = run_cli(args)
    out2 += err2
    assert code == 0, out2
    a = json.loads((tmp_path / "straight" / "refine" / "history.json").read_text())
    b = json.loads((tmp_path / "resumed" / "refine" / "history.json").read_text())
    assert [h["rewards"] for h in a] == [h["rewards"] for h in b]
    x, y = lora(tmp_path / "straight"), lora(tmp_path / "resumed")
    assert all(bool(((x[k] - y[k]).abs() < 1e-5).all()) for k in x)


def test_refine_then_evaluate_log_the_generate_path_metrics(trained, tmp_path):
    import shutil as sh

    sets = ["refine.steps=1", "refine.eval_examples=2", "evaluate.max_examples=2", "evaluate.max_new_tokens=24",
            "evaluate.repair_rounds=1", "evaluate.handwritten=false"]
    sh.copytree(trained, tmp_path / "run")
    args = refine_args(tmp_path / "run", sets)
    code, o, e = run_cli(args[:4] + ["evaluate"] + args[4:])  # refine evaluate --force ...
    assert code == 0, o + e
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"compile_at_1", "compile_at_1_sft"} <= set(m["refine"])
    assert {"ir_at_1_from_text", "ir_valid_from_text", "compile_at_1_with_repair"} <= set(m["evaluate"])
    assert m["evaluate"]["adapter_refined"] == 1
    if sh.which("mono") and sh.which("mcs"):
        assert "behaviour_at_1" in m["refine"] and "behaviour_at_1_with_repair" in m["evaluate"]
    # repair can only add programs that compile, never lose one
    assert m["evaluate"]["compile_at_1_with_repair"] >= m["evaluate"]["compile_at_1_finetuned"]
    # evaluate took the refined adapter's greedy programs from refine instead of generating them again
    assert m["evaluate"]["finetuned_programs_reused"] == 1
    kept = json.loads((tmp_path / "run" / "refine" / "eval_programs.json").read_text())["codes"]
    samples = [json.loads(x) for x in (tmp_path / "run" / "evaluate" / "samples.jsonl").read_text().splitlines()]
    assert [s["finetuned_code"] for s in samples] == kept[:2]


def test_zero_refine_steps_keep_the_sft_adapter_and_score_it_once(trained, tmp_path):
    from safetensors.torch import load_file

    code, out = refine(trained, tmp_path / "run", "refine.steps=0", "refine.eval_examples=2")
    assert code == 0, out
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())["refine"]
    assert m["steps"] == 0 and m["compile_at_1"] == m["compile_at_1_sft"]
    sft = load_file(str(trained / "train" / "adapter" / "adapter_model.safetensors"))
    got = lora(tmp_path / "run")
    assert sft.keys() == got.keys() and all(bool((sft[k] == got[k]).all()) for k in sft)
    scored = json.loads((tmp_path / "run" / "refine" / "sft_scores.json").read_text())["codes"]
    assert json.loads((tmp_path / "run" / "refine" / "eval_programs.json").read_text())["codes"] == scored
    assert len(scored) == 2


# -- the trainer seam: GRPO beside RLOO, each through trainer/NAME ------------------------------


def test_grpo_advantages_are_normalised_within_each_group():
    import torch

    from almost_irgen.stages.refine import grpo_advantages, rloo

    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 10.0, 0.0, 0.0, 10.0, 3.0, 3.0, 3.0, 3.0])
    adv = grpo_advantages(r, 4)
    one = 0.5 / (torch.tensor([1.0, 0.0, 0.0, 1.0]).std() + 1e-4)
    # the same ranking at ten times the scale gets the same advantages (per-group std), a group
    # whose programs all scored the same gets exactly zero
    assert torch.allclose(adv[:4], torch.stack([one, -one, -one, one]))
    assert torch.allclose(adv[4:8], adv[:4], atol=1e-3)
    assert bool((adv[8:] == 0).all())
    assert not torch.allclose(rloo(r, 4)[4:8], rloo(r, 4)[:4])  # RLOO keeps the scale
    assert torch.allclose(grpo_advantages(torch.full((6,), 0.1), 3), torch.zeros(6))


def test_grpo_refines_and_resumes_from_its_checkpoint_like_a_straight_run(trained, tmp_path, monkeypatch):
    import almost_irgen.stages.refine as stage

    sets = ("refine.trainer=irgen-grpo", "refine.reward=semicolons", "refine.steps=3", "refine.lr=0.05")
    code, out = refine(trained, tmp_path / "straight", *sets)
    assert code == 0, out
    hist = json.loads((tmp_path / "straight" / "refine" / "history.json").read_text())
    assert len(hist) == 3 and any(h["learning_rows"] for h in hist) and "GRPO" in out
    real, calls = stage.grpo_advantages, {"n": 0}

    def crash_on_third(rewards, group):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(rewards, group)

    monkeypatch.setattr(stage, "grpo_advantages", crash_on_third)
    code, out = refine(trained, tmp_path / "resumed", *sets)
    assert code != 0 and calls["n"] == 3
    assert (tmp_path / "resumed" / "refine" / "checkpoints" / "step-00000002").is_dir()
    monkeypatch.setattr(stage, "grpo_advantages", real)
    args = refine_args(tmp_path / "resumed", sets)
    args.remove("--force")
    code, out2, err2 = run_cli(args)
    assert code == 0, out2 + err2
    b = json.loads((tmp_path / "resumed" / "refine" / "history.json").read_text())
    assert [h["rewards"] for h in hist] == [h["rewards"] for h in b]
    assert [h["loss"] for h in hist] == [h["loss"] for h in b]
    x, y = lora(tmp_path / "straight"), lora(tmp_path / "resumed")
    assert all(bool(((x[k] - y[k]).abs() < 1e-5).all()) for k in x)


@pytest.mark.parametrize("name", ["irgen-rloo", "irgen-grpo"])
def test_refine_trainers_pass_check_trainer(trained, tmp_path, monkeypatch, name):
    import almost_irgen.stages.refine as stage
    from almost.testing import check_trainer

    got = {}

    def run(ctx):
        trainer = stage.build_trainer(ctx)
        assert type(trainer).__name__ == {"irgen-rloo": "RLOOTrainer", "irgen-grpo": "GRPOTrainer"}[name]
        got["metrics"] = check_trainer(trainer)
        ctx.log_metrics(**got["metrics"])

    monkeypatch.setattr(stage, "run", run)
    code, out = refine(trained, tmp_path / "run", f"refine.trainer={name}", "refine.reward=semicolons",
                       "refine.steps=2", "refine.lr=0.05")
    assert code == 0, out
    assert got["metrics"]["steps"] == 2 and (tmp_path / "run" / "refine" / "adapter").is_dir()


def test_grpo_options_are_checked(trained, tmp_path):
    code, out = refine(trained, tmp_path / "bad", "refine.trainer=irgen-grpo", "refine.trainer_options.nope=1")
    assert code == 2 and "refine.trainer_options.nope" in out and "clip" in out and "Traceback" not in out
    code, out = refine(trained, tmp_path / "bad2", "refine.trainer=irgen-grpo", "refine.trainer_options.clip=0")
    assert code == 2 and "clip > 0" in out and "Traceback" not in out


def test_sft_trainer_passes_check_trainer(trained, tmp_path, monkeypatch):
    import almost_irgen.stages.train as stage
    from almost.testing import check_trainer

    got = {}

    def run(ctx):
        ds = ctx.component(f"dataset/{ctx.config.train.dataset}", root=ctx.find_stage_dir("prepare"))
        got["metrics"] = check_trainer(ctx.component(f"trainer/{ctx.config.train.trainer}", ctx=ctx, dataset=ds))
        ctx.log_metrics(**got["metrics"])

    monkeypatch.setattr(stage, "run", run)
    shutil.copytree(trained, tmp_path / "run")
    base = (tmp_path / "run" / "config.toml").read_text().split('base = "')[1].split('"')[0]
    code, o, e = run_cli(["run", "--plugin", "irgen", "train", "--force", "--out", str(tmp_path / "run"),
                          *base_sets(base), "--set", "train.max_steps=2"])
    assert code == 0, o + e
    assert got["metrics"]["steps"] == 2
