"""ddpo ``generate`` under a two-process launch (gloo on the CPU): each process samples its share of
the batches, the main one writes, and the files are the ones a single process writes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from almost.testing import run_cli, two_process_command


@pytest.mark.slow
def test_two_process_generate_writes_what_one_process_writes(tmp_path, tiny_model_dir, monkeypatch):
    sets = [f"model.path={tiny_model_dir}", "generate.prompts=a red circle,a blue square,a green cross",
            "generate.images_per_prompt=3", "generate.steps=2", "generate.batch_size=2"]
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    # one torch thread, as each process of the launch has (an idle machine would give this
    # in-process run two, and other float sums): the same bytes
    monkeypatch.setenv("ALMOST_THREADS", "1")
    code, out, err = run_cli(["run", "--plugin", "ddpo", "generate", "--out", str(one),
                              *[x for s in sets for x in ("--set", s)]])
    assert code == 0, out + err
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(two_process_command("ddpo", two, "generate", sets), capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (two.parent / "rank0.done").is_file() and (two.parent / "rank1.done").is_file()
    # 9 images in batches of 2 dealt round-robin: batches 0, 2, 4 to process 0 and 1, 3 to process 1
    assert "process 0 of 2 takes 5 of 9 images" in r.stdout and "process 1 of 2 takes 4 of 9 images" in r.stdout
    a, b = one / "round-001" / "generate", two / "round-001" / "generate"
    names = sorted(p.name for p in (a / "images").iterdir())
    assert len(names) == 18 and sorted(p.name for p in (b / "images").iterdir()) == names
    for name in names:  # the same bytes: PNGs and sidecars
        assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes(), name
    assert (a / "grid.png").read_bytes() == (b / "grid.png").read_bytes()
    assert json.loads((one / "metrics.json").read_text()) == json.loads((two / "metrics.json").read_text())
    manifest = json.loads((two / "manifest.json").read_text())
    assert manifest["stages"]["generate"]["status"] == "done"
