"""The whole loop through the real `almost` entry point, on a tiny untrained model with every
count reduced by --set; the third-party reward/brightness drives the policy; a second run
starts round 2 from the exported LoRA."""

from __future__ import annotations

import json

import pytest

from almost.testing import check_component, load_app, run_cli


def test_plugin_registers_rewards_and_pipeline():
    app = load_app()
    for name in ("compressibility", "incompressibility", "shape-area"):
        out = check_component(app.registry, f"reward/{name}")
        assert out.name == name
    assert "reward/brightness" in app.registry  # from the third-party example plugin
    assert [s.name for s in app.pipelines["ddpo"].stages] == ["pretrain", "generate", "score", "reward",
                                                              "policy", "export"]


def test_plugin_registers_a_dataset_a_sampler_and_two_trainers(tmp_path, tiny_pipe):
    import types

    import attrs
    import torch

    from almost_ddpo.config import tiny
    from almost_ddpo.scores import RatingLog

    app = load_app()
    assert {"trainer/ddpo", "trainer/ddpo-d3po", "sampler/ddpo-ddim", "dataset/ddpo-ratings"} <= set(
        f"{c.kind}/{c.name}" for c in app.registry)
    cfg = tiny()
    assert (cfg.policy.trainer, cfg.generate.sampler, cfg.reward_model.dataset) == ("ddpo", "ddpo-ddim", "ddpo-ratings")
    ctx = types.SimpleNamespace(config=attrs.evolve(cfg, generate=attrs.evolve(cfg.generate, steps=2)))
    sampler = check_component(app.registry, "sampler/ddpo-ddim", ctx=ctx, pipe=tiny_pipe,
                              conditions=[("a red circle", 1), ("a blue square", 2)])
    images = sampler.sample([("a red circle", 1), ("a red circle", 2)])
    assert images[0].shape == (3, 32, 32) and not torch.equal(images[0], images[1])
    seeded = sampler.sample(["a red circle"] * 2, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(seeded[0], seeded[1])  # plain prompts take their seeds from the generator
    img = tmp_path / "round-001" / "generate" / "images" / "00000.png"
    img.parent.mkdir(parents=True)
    from almost_ddpo.pictures import save_png

    save_png(images[0], img)
    (img.with_suffix(".json")).write_text(json.dumps({"prompt": "a red circle", "seed": 1}))
    RatingLog(tmp_path / "ratings.jsonl").append({"kind": "score", "image": "k1", "score": 4,
                                                  "file": "round-001/generate/images/00000.png"})
    ds = check_component(app.registry, "dataset/ddpo-ratings", run_dir=tmp_path)
    assert len(ds) == 1 and ds[0] == {"key": "k1", "file": str(img), "prompt": "a red circle", "score": 4}


@pytest.mark.parametrize("key, kind, known", [("policy.trainer", "trainer", "ddpo, ddpo-d3po"),
                                              ("generate.sampler", "sampler", "ddpo-ddim"),
                                              ("reward_model.dataset", "dataset", "ddpo-ratings")])
def test_an_unknown_component_is_refused_before_any_stage_runs(tmp_path, key, kind, known):
    code, out, err = run_cli(["run", "--plugin", "ddpo", "--out", str(tmp_path / "run"), "--set", f"{key}=nosuch"])
    assert code == 2 and not (tmp_path / "run").exists(), out + err
    assert f"{key} names no known {kind} component ('nosuch'); known {kind} components: " in err
    assert known in err and "Traceback" not in out + err
    code, out, err = run_cli(["config", "--plugin", "ddpo", "--set", f"{key}=nosuch"])
    assert code == 2 and f"known {kind} components: " in err and known in err


def test_unknown_reward_is_a_clear_error(tmp_path, tiny_model_dir):
    code, out, err = run_cli(["run", "--plugin", "ddpo", "pretrain", "policy", "--out", str(tmp_path),
                              "--set", f"model.path={tiny_model_dir}", "--set", "reward=nosuch"])
    assert code == 2
    assert "'nosuch'" in out + err and "known reward components" in out + err and "Traceback" not in out + err


SETS = [
    "generate.prompts=a red circle,a blue square", "generate.images_per_prompt=3", "generate.steps=3",
    "reward_model.epochs=3", "policy.epochs=2", "policy.samples_per_epoch=4", "policy.sample_batch_size=4",
    "policy.train_batch_size=4", "policy.steps=3", "policy.eval_images_per_prompt=1",
    "policy.checkpoint_every=1", "reward=brightness", "export.export_every=1",
]


@pytest.mark.slow
def test_two_rounds_through_the_cli_with_a_third_party_reward(tmp_path, tiny_model_dir):
    import torch
    from safetensors.torch import load_file

    args = ["run", "--plugin", "ddpo", "--out", str(tmp_path), "--set", f"model.path={tiny_model_dir}"]
    for s in SETS:
        args += ["--set", s]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"reward_before", "reward_after"} <= set(metrics["policy"])
    r1 = tmp_path / "round-001"
    assert len(list((r1 / "generate" / "images").glob("*.png"))) == 6
    side = json.loads((r1 / "generate" / "images" / "00000.json").read_text())
    assert side["prompt"] == "a red circle" and side["lora"] is None and side["steps"] == 3
    assert len(json.loads((r1 / "score" / "scores.json").read_text())) == 6
    assert (r1 / "reward" / "reward_cnn.safetensors").is_file()
    kohya = load_file(str(r1 / "export" / "kohya_lora.safetensors"))
    assert any(k.endswith(".alpha") for k in kohya)
    # a kohya file per epoch (export_every=1), the seed's names; the last one is the final LoRA
    epochs = sorted(p.name for p in (r1 / "export" / "kohya").iterdir())
    assert epochs == ["ui_lora_epoch_001.safetensors", "ui_lora_epoch_002.safetensors"]
    first, last = (load_file(str(r1 / "export" / "kohya" / e)) for e in epochs)
    assert last.keys() == kohya.keys() and all(torch.equal(last[k], kohya[k]) for k in kohya)
    assert any(not torch.equal(first[k], last[k]) for k in kohya if k.endswith("lora_up.weight"))

    code, out, err = run_cli(args)  # everything done: round 2 starts from the exported LoRA
    assert code == 0, out + err
    r2 = tmp_path / "round-002"
    side = json.loads((r2 / "generate" / "images" / "00000.json").read_text())
    assert side["lora"] and side["lora"].endswith("round-001/export/lora")
    assert side["seed"] != json.loads((r1 / "generate" / "images" / "00000.json").read_text())["seed"]
    assert len(list((r1 / "generate" / "images").glob("*.png"))) == 6  # round 1 untouched
    assert (r2 / "export" / "kohya_lora.safetensors").is_file()

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["reward"]["rounds_labelled"] == 2  # round 2's reward model learned from both rounds
    assert metrics["reward"]["scores"] == 12
    assert len([ln for ln in (tmp_path / "ratings.jsonl").read_text().splitlines() if ln]) == 12

    # importing a seed scores.json of only bad entries: each listed, nothing merged, exit 2
    bad = tmp_path / "bad_scores.json"
    bad.write_text(json.dumps({"someone_elses.png": 2, "00001.png": 9}))
    code, out, err = run_cli([*args, "score", "--force", "--set", "score.mode=import",
                              "--set", f"score.import_file={bad}"])
    assert code == 2, out + err
    assert "someone_elses.png: no such file" in out and "00001.png: score 9 is out of range" in out
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_a_third_party_sampler_and_trainer_run_through_ddpo_stages(tmp_path, tiny_model_dir):
    """almost-example (a plugin outside the Almost packages) brings sampler/example-euler and
    trainer/example-rwr; `almost run` builds them from the config for generate and policy."""
    import torch
    from safetensors.torch import load_file

    args = ["run", "--plugin", "ddpo", "--out", str(tmp_path), "--set", f"model.path={tiny_model_dir}",
            "--set", "generate.sampler=example-euler", "--set", "policy.trainer=example-rwr"]
    for s in SETS:
        args += ["--set", s]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    r1 = tmp_path / "round-001"
    side = json.loads((r1 / "generate" / "images" / "00000.json").read_text())
    assert side["sampler"] == "Euler"  # the plugin's sampler made the images
    history = json.loads((r1 / "policy" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and all("weight_max" in h for h in history)  # its trainer ran
    metrics = json.loads((tmp_path / "metrics.json").read_text())["policy"]
    assert {"reward_before", "reward_after", "last_epoch_loss"} <= set(metrics)
    kohya = load_file(str(r1 / "export" / "kohya_lora.safetensors"))  # export took the plugin's LoRA
    ups = [v for k, v in kohya.items() if k.endswith("lora_up.weight")]
    assert ups and any(bool(torch.any(v != 0)) for v in ups)  # a fresh LoRA's up weights are all zero
