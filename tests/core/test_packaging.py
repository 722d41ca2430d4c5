"""Each distribution builds as a wheel on its own; gamengen + core wheels give a working CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    return uv


@pytest.mark.slow
def test_wheels_build_and_install_in_a_fresh_venv(tmp_path: Path):
    uv = _uv()
    dist = tmp_path / "dist"
    for pkg in ("almost-core", "almost-gamengen", "almost-ddpo", "almost-irgen"):
        subprocess.run([uv, "build", "--package", pkg, "--wheel", "--out-dir", str(dist)],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)
    wheels = {p.name.split("-")[0]: p for p in dist.glob("*.whl")}
    assert set(wheels) == {"almost_core", "almost_gamengen", "almost_ddpo", "almost_irgen"}

    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True, timeout=120)
    py = venv / "bin" / "python"
    # pip-style install of the two wheels with their dependencies (uv reuses its cache, so
    # torch is linked rather than downloaded when the workspace was synced on this machine).
    r = subprocess.run(
        [uv, "pip", "install", "--python", str(py), str(wheels["almost_core"]), str(wheels["almost_gamengen"])],
        capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    out = subprocess.run([str(venv / "bin" / "almost"), "stages", "--plugin", "gamengen"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "encode" in out.stdout and "rollout" in out.stdout
    out = subprocess.run([str(venv / "bin" / "almost"), "run", "--plugin", "ddpo"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 2 and "unknown plugin 'ddpo'" in out.stderr  # not installed in that venv
