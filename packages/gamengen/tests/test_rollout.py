"""Stage ``rollout`` (:mod:`almost_gamengen.stages.rollout`) under a two-process launch (gloo on the
CPU): each process takes its share of the teacher-forced batches, held-out episodes and probe
states; the main one writes the same figures, GIFs and curve as one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from almost.testing import two_process_command

TIMINGS = {"teacher_forced_frames_per_s", "rollout_frames_per_s", "probe_seconds"}


SETS = ["env.name=gridchase", "collect.policy=random", "collect.gif_frames=0", "collect.episodes=8",
        "encode.vae_fit_steps=2", "encode.vae_fit_batch_size=4", "model.context=2",
        "model.block_out_channels=[16,16]", "model.action_dim=16", "train.steps=2", "train.batch_size=2",
        "train.checkpoint_every=2", "train.warmup_steps=1", "train.heldout_fraction=0.4",
        "rollout.eval_frames=40", "rollout.episodes=3", "rollout.horizon=4", "rollout.probe_states=3",
        "rollout.probe_horizon=2", "rollout.gif_scale=1"]


def _frames(path) -> np.ndarray:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])


@pytest.mark.slow
def test_two_process_rollout_gives_one_process_figures_and_files(tmp_path, run_gamengen):
    base = tmp_path / "base"
    code, out, err = run_gamengen(base, "collect", "encode", "train", sets=SETS)
    assert code == 0, out + err
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    shutil.copytree(base, one)
    shutil.copytree(base, two)
    # one process with one torch thread, as each process of the launch has: the same float sums
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([str(Path(sys.executable).parent / "almost"), "run", "--plugin", "gamengen", "rollout",
                        "--out", str(one), *[x for s in SETS for x in ("--set", s)]],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run(two_process_command("gamengen", two, "rollout", SETS), capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (two.parent / "rank0.done").is_file() and (two.parent / "rank1.done").is_file()
    # 40 windows in batches of 16: batches 0 and 2 to process 0, batch 1 to process 1
    assert "process 0 of 2 takes 2 of 3 teacher-forced batches" in r.stdout
    assert "process 1 of 2 takes 1 of 3 teacher-forced batches" in r.stdout
    m1 = json.loads((one / "metrics.json").read_text())["rollout"]
    m2 = json.loads((two / "metrics.json").read_text())["rollout"]
    assert m1["action_probe_states"] == 3 and m1["eval_frames"] == 40
    # the same figures to far below the printed digit (the one-process run has more torch threads,
    # so float sums may round differently in the last bits)
    assert {k: v if v is None else pytest.approx(v, rel=1e-5, abs=1e-6)
            for k, v in m1.items() if k not in TIMINGS} == {k: v for k, v in m2.items() if k not in TIMINGS}
    a, b = one / "rollout", two / "rollout"
    files = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    assert len([f for f in files if f.endswith(".gif")]) == 3
    assert files == sorted(p.name for p in b.iterdir() if not p.name.startswith("."))
    # recorded | generated: the same frames. The PSNR curves below hold them to 1e-5; the GIF's
    # palette quantisation can turn a float's last bit into a level on a few percent of pixels
    # (1.5% seen in CI), while another process's seeds would change most pixels by many levels
    for name in files:
        if name.endswith(".gif"):
            fa, fb = _frames(a / name), _frames(b / name)
            assert fa.shape == fb.shape and fa.shape[0] == 4, name
            diff = np.abs(fa.astype(int) - fb.astype(int))
            assert (diff > 0).mean() < 0.05 and diff.mean() < 0.5, (name, (diff > 0).mean(), diff.mean())
    c1, c2 = (json.loads((d / "psnr_over_horizon.json").read_text()) for d in (a, b))
    assert c1.keys() == c2.keys()
    for k in c1:  # (a copy of an unchanged frame scores infinite PSNR: null)
        assert [None if v is None else pytest.approx(v, rel=1e-5) for v in c1[k]] == c2[k], k
    arts1 = json.loads((one / "manifest.json").read_text())["stages"]["rollout"]["artifacts"]
    arts2 = json.loads((two / "manifest.json").read_text())["stages"]["rollout"]["artifacts"]
    assert {k: v.replace(str(two), str(one)) for k, v in arts2.items()} == arts1 or arts2 == arts1
