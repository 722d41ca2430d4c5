"""irgen ``evaluate`` under a two-process launch (gloo on the CPU): each process writes and checks its
share of the programs, the main one repairs and writes; the report, samples and figures are those
of one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from almost.testing import run_cli, two_process_command


@pytest.mark.slow
def test_two_process_evaluate_gives_one_process_report(tmp_path, tiny_model_dir):
    sets = [f"model.base={tiny_model_dir}", "synth.count=40", "train.eval_every=2", "train.batch_tokens=512",
            "train.lr=0.01", "train.patience=0", "train.epochs=1", "evaluate.max_examples=5",
            "evaluate.batch_size=2", "evaluate.k=2", "evaluate.max_new_tokens=24", "evaluate.ir_max_new_tokens=24",
            "evaluate.repair_rounds=0"]
    base = tmp_path / "base"
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "train", "--out", str(base),
                              *[x for s in sets for x in ("--set", s)]])
    assert code == 0, out + err
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    shutil.copytree(base, one)
    shutil.copytree(base, two)
    # one process with one torch thread, as each process of the launch has
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([str(Path(sys.executable).parent / "almost"), "run", "--plugin", "irgen", "evaluate",
                        "--out", str(one), *[x for s in sets for x in ("--set", s)]],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run(two_process_command("irgen", two, "evaluate", sets), capture_output=True, text=True,
                       timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (two.parent / "rank0.done").is_file() and (two.parent / "rank1.done").is_file()
    # 5 specs in batches of 2: batches 0 and 2 (3 specs) to process 0, batch 1 (2 specs) to process 1
    assert "process 0 of 2 takes 3 of 5 specs" in r.stdout and "process 1 of 2 takes 2 of 5 specs" in r.stdout
    m1 = json.loads((one / "metrics.json").read_text())["evaluate"]
    m2 = json.loads((two / "metrics.json").read_text())["evaluate"]
    assert m1["eval_specs"] == 5 and "compile_at_2_finetuned" in m1
    figures = lambda m: {k: v for k, v in m.items() if not k.endswith("_s")}  # noqa: E731  (not the seconds)
    assert figures(m1) == figures(m2) and len(figures(m1)) > 20
    for name in ("report.md", "samples.jsonl", "error_codes.json"):  # (the report's timings aside)
        a, b = ([x for x in (d / "evaluate" / name).read_text().splitlines() if " s: " not in x] for d in (one, two))
        assert a == b and a, name
