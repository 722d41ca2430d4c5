"""``almost report``: one self-contained page per run (and two runs side by side)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import attrs
import numpy as np
import pytest

from almost.config import field
from almost.observe.history import History
from almost.observe.report import _thin, load_run, svg_curve, write_report
from almost.runs import Pipeline, Stage, run_pipeline
from almost.testing import chromium_executable, launch_chromium, run_cli

CHROMIUM = chromium_executable()

# the training stages of the three pipelines, each with the values it logs
TRAINING = {
    "agent": ["episode_reward", "fps"],
    "train": ["loss", "lr", "grad_norm"],
    "decoder": ["loss"],
    "pretrain": ["vae_mse", "unet_loss"],
    "reward": ["train_loss", "heldout_loss"],
    "policy": ["reward_mean", "approx_kl", "clipfrac"],
    "lora": ["loss", "eval_loss"],
}


def _picture(path: Path, frames: int = 1, seed: int = 0) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    imgs = [Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)) for _ in range(frames)]
    if frames > 1:
        imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=120, loop=0)
    else:
        imgs[0].save(path)
    return path


def fake_run(root: Path, lr: float = 1e-4, seed: int = 0) -> Path:
    """A run folder as `almost run` leaves it: config, manifest, metrics, histories, pictures."""
    root.mkdir(parents=True)
    (root / "config.toml").write_text(f'seed = {seed}\n\n[almost]\npipeline = "fake"\nprofile = "tiny"\n\n'
                                      f'[train]\nlr = {lr}\nsteps = 60\n')
    stages, metrics = {}, {}
    rng = np.random.default_rng(seed)
    for i, (name, keys) in enumerate(TRAINING.items()):
        sdir = root / name
        h = History(sdir)
        for step in range(1, 61):
            h.log(step, {k: float(math.exp(-step / 20) * (j + 1) + 0.01 * rng.random()) for j, k in enumerate(keys)})
        gif = _picture(sdir / "samples" / "rollout.gif", frames=3, seed=i)
        h.log_media(60, {"rollout": gif})
        h.close()
        stages[name] = {"status": "done", "seconds": 12.5 * (i + 1), "artifacts": {"rollout": f"{name}/samples/rollout.gif"}}
        metrics[name] = {f"{keys[0]}_final": float(rng.random()), "steps": 60.0}
    _picture(root / "decoder" / "before_after.png", seed=9)
    (root / "lora" / "report.md").write_text("# Evaluation\n\n| sample | compiles |\n|---|---|\n| 0 | yes <ok> |\n")
    stages["lora"]["artifacts"]["evaluation report"] = "lora/report.md"
    stages["export"] = {"status": "failed", "seconds": 1.0, "error": "disk full"}
    (root / "manifest.json").write_text(json.dumps({"pipeline": "fake", "profile": "tiny", "round": 1,
                                                     "stages": stages, "versions": {"almost-core": "0.1.0"}}))
    (root / "metrics.json").write_text(json.dumps(metrics))
    return root


@attrs.define
class TinyCfg:
    steps: int = field(25, help="steps")
    lr: float = field(0.05, help="learning rate")


def _tiny_train(ctx):
    """A real (tiny) training stage: a torch linear model, a GIF of its predictions."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=ctx.config.lr)
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([[1.0], [2.0], [-1.0]])
    for step in range(1, ctx.config.steps + 1):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ctx.log_step(step, loss=loss.item(), lr=ctx.config.lr)
    gif = _picture(ctx.stage_dir() / "predictions.gif", frames=4)
    ctx.log_media(ctx.config.steps, predictions=gif)
    ctx.add_artifact(gif, "predictions GIF")
    ctx.log_metrics(loss_final=loss.item())


TINY = Pipeline("tiny", [Stage("train", _tiny_train)], {"tiny": TinyCfg})


# ---------------------------------------------------------------------------------------
def test_report_holds_every_stage_curve_and_picture(tmp_path):
    run = fake_run(tmp_path / "run")
    code, out, err = run_cli(["report", str(run)])
    assert code == 0, err
    page = (run / "report.html").read_text()
    for name, keys in TRAINING.items():
        for k in keys:
            assert f'data-stage="{name}" data-key="{k}"' in page
    assert page.count('src="data:image/gif;base64,') == len(TRAINING)  # artifact and media: one picture
    assert 'src="data:image/png;base64,' in page
    assert "disk full" in page and "12.5 s" in page and "lr = 0.0001" in page
    assert "| 0 | yes &lt;ok&gt; |" in page  # a text artifact (irgen's evaluation report), escaped
    # self-contained: nothing loads from anywhere
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page


def test_compare_two_runs(tmp_path):
    a = fake_run(tmp_path / "a", lr=1e-4, seed=0)
    b = fake_run(tmp_path / "b", lr=3e-4, seed=1)
    code, out, err = run_cli(["report", str(a), str(b)])
    assert code == 0, err
    page = (a / "report-vs-b.html").read_text()
    assert "<td>train.lr</td><td>0.0001</td><td>0.0003</td>" in page and "<td>seed</td>" in page
    ma, mb = json.loads((a / "metrics.json").read_text()), json.loads((b / "metrics.json").read_text())
    for stage, values in ma.items():
        for k in values:
            assert f"<td>{stage}</td><td>{k}</td>" in page  # every shared metric
    svg = re.search(r'<svg class="curve"[^>]*data-stage="policy" data-key="approx_kl".*?</svg>', page).group(0)
    assert svg.count("<polyline") == 2  # both runs on one plot
    assert mb  # (b's own values are in the B column)


def test_watch_page_reloads_itself_and_stray_folders_are_not_stages(tmp_path):
    run = fake_run(tmp_path / "run")
    shutil.copytree(run / "train", run / "train.replaced-20261125-101010")  # set aside by --force
    page = write_report(run, refresh=7).read_text()
    assert '<meta http-equiv="refresh" content="7">' in page
    assert "replaced-" not in page
    assert "http-equiv=\"refresh\"" not in write_report(run).read_text()


def test_report_mistakes_are_one_sentence(tmp_path):
    code, _, err = run_cli(["report", str(tmp_path / "nope")])
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, _, err = run_cli(["report", str(tmp_path)])
    assert code == 2 and "is not a run directory" in err


def test_curve_drawing_edge_cases():
    assert "no finite values" in svg_curve("x", [("a", [(1, float("nan"))])])
    one = svg_curve("x", [("a", [(5, 1.0)])])
    assert "<circle" in one and "NaN" not in one
    gap = svg_curve("x", [("a", [(1, 1.0), (2, 2.0), (3, float("nan")), (4, 1.5), (5, 1.0)])])
    assert gap.count("<polyline") == 2 and "nan" not in gap.lower().replace("no finite", "")
    wide = svg_curve("loss", [("a", [(i, 10.0 ** (-i / 10)) for i in range(1, 60)])])
    assert ">0.01<" in wide or ">1<" in wide  # decades on a log axis
    noisy = svg_curve("loss", [("a", [(i, 1 + (-1) ** i * 0.5) for i in range(200)])])
    assert 'class="raw"' in noisy and 'class="smooth"' in noisy
    pts = [(i, 1.0) for i in range(100_000)]
    pts[77_777] = (77_777, 50.0)
    thin = _thin(pts)
    assert len(thin) <= 1000 and (77_777, 50.0) in thin  # a spike survives thinning


def test_report_of_rounds_and_a_real_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run_pipeline(TINY, None, out=tmp_path / "run")
    r = load_run(tmp_path / "run")
    (st,) = r.stages
    assert st.status == "done" and [k for k in st.curves] == ["loss", "lr"] and len(st.curves["loss"]) == 25
    assert [p.name for _, p in st.pictures] == ["predictions.gif"]
    # a pipeline with rounds keeps each round's stages apart
    rounds = tmp_path / "rounds"
    for r_ in (1, 2):
        h = History(rounds / f"round-00{r_}" / "policy")
        h.log(1, {"reward_mean": float(r_)})
        h.close()
    (rounds / "manifest.json").write_text(json.dumps({"pipeline": "ddpo", "round": 2, "stages": {"policy": {"status": "done"}},
                                                       "history": [{"round": 1, "stages": {"policy": {"status": "done"}}}]}))
    assert [s.name for s in load_run(rounds).stages] == ["round-001/policy", "round-002/policy"]


def test_end_of_run_table_shows_headline_figures_and_durations(tmp_path, monkeypatch, capsys):
    from almost.observe.console import headline

    train = {"steps": 200.0, "resumed_from_step": 0.0, "loss_final": 0.1, "heldout_loss": 0.2,
             "heldout_loss_init": 0.9, "seconds": 3.0, "steps_per_s": 5.0, "params_m": 1.2}
    assert headline(train) == ["loss_final", "heldout_loss", "steps_per_s"]
    assert headline({"images": 8.0, "with_lora": 0.0, "seconds": 1.0}) == ["images", "with_lora"]
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run_pipeline(TINY, None, out=tmp_path / "run")
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "loss_final" in line)
    assert re.search(r"train\s.*\d+\.\d s\s.*loss_final", row), row  # stage, duration, figure
    assert "almost report" in out and "metrics.json" in out


# ---------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_report_in_chromium(tmp_path, monkeypatch):
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run = fake_run(tmp_path / "run")
    run_pipeline(TINY, None, out=tmp_path / "tiny")  # and a real tiny stage
    pages = [write_report(run), write_report(tmp_path / "tiny")]
    expected = [TRAINING, {"train": ["loss", "lr"]}]
    with sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for path, stages in zip(pages, expected):
                page = browser.new_page()
                errors, requests = [], []
                page.on("console", lambda m, out=errors: out.append(m.text) if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, out=errors: out.append(str(e)))
                page.on("request", lambda r, out=requests: out.append(r.url))
                page.goto(path.resolve().as_uri())
                page.wait_for_load_state("load")
                for stage, keys in stages.items():
                    for k in keys:
                        curve = page.locator(f'svg.curve[data-stage="{stage}"][data-key="{k}"]')
                        assert curve.count() == 1, (stage, k)
                        box = curve.bounding_box()
                        assert box and box["width"] > 300 and box["height"] > 150
                        assert curve.locator("polyline").count() >= 1
                gifs = page.locator('img[src^="data:image/gif"]')
                assert gifs.count() >= 1
                for i in range(gifs.count()):  # decoded by the browser, not a broken image
                    assert gifs.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
                assert errors == [], errors
                assert all(u.startswith(("file:", "data:")) for u in requests), requests
                page.close()
        finally:
            browser.close()


# the headline words the built-in plugins register (Pipeline.headline in their plugin.py)
PLUGIN_HEADLINE = ("gain", "sensitivity", "return_mean", "return_random", "at_1", "after", "final", "heldout",
                   "held_out", "eval", "psnr", "reward", "rate", "accuracy", "acc", "loss", "score", "lpips", "kl",
                   "per_s")


def test_headline_prefers_the_honest_comparisons_and_numbers_read_plainly():
    from almost.observe.console import _fmt, headline

    rollout = {"psnr_db_trained": 26.7, "psnr_db_untrained": 19.7, "psnr_db_copy_raw": 24.8,
               "psnr_db_copy_vae": 26.1, "psnr_db_gain_over_copy_vae": 0.55, "action_sensitivity": 0.51}
    names = headline(rollout, PLUGIN_HEADLINE)
    assert "psnr_db_gain_over_copy_vae" in names and "action_sensitivity" in names
    agent = {"steps_per_s": 150.0, "mean_shaped_return": -214.0, "return_mean": -243.0,
             "return_std": 153.0, "return_random": -184.0, "return_gain_sigma": -1.1}
    assert {"return_mean", "return_random", "return_gain_sigma"} <= set(headline(agent, PLUGIN_HEADLINE))
    assert _fmt(1210.4) == "1,210" and _fmt(1280.0) == "1,280" and _fmt(0.5) == "0.5"
    assert _fmt(3.2e12) == "3.2e+12"
