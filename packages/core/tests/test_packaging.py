"""The wheels, as a user outside this repository gets them.

`uv build --all-packages` builds every distribution; each wheel carries its LICENSE,
classifiers, project URLs and a README that stands alone (no links into the repository);
plugins bound their almost-core version. Then, in fresh virtual environments outside the
workspace: almost-core alone (no torch) runs the CLI, and almost-gamengen's wheel with its
dependencies lists its plugin with `almost plugins`. uv's cache makes the installs links,
not downloads, on a machine where the workspace was synced.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DISTS = ("almost_core", "almost_gamengen", "almost_ddpo", "almost_irgen", "almost_example")


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    return uv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([_uv(), "build", "--all-packages", "--wheel", "--out-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}


def _metadata(wheel: Path) -> tuple[email.message.Message, list[str]]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(z.read(meta)), names


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"COLUMNS": "200"}


def _venv(uv: str, where: Path, *wheel_paths: Path, find_links: Path) -> Path:
    subprocess.run([uv, "venv", "--python", sys.executable, str(where)], check=True, capture_output=True,
                   timeout=120)
    r = subprocess.run([uv, "pip", "install", "--python", str(where / "bin" / "python"),
                        "--find-links", str(find_links), *map(str, wheel_paths)],
                       capture_output=True, text=True, timeout=900, cwd=where.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    return where / "bin"


@pytest.mark.slow
def test_every_wheel_is_publishable(wheels):
    assert set(wheels) == set(DISTS)
    for name, wheel in wheels.items():
        meta, names = _metadata(wheel)
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), f"{name}: no LICENSE"
        assert meta["License-Expression"] == "Apache-2.0"
        assert meta.get_all("Classifier") and meta.get_all("Project-URL"), name
        assert meta["Author"] or meta["Author-email"], name
        body = meta.get_payload()
        assert len(body) > 600, f"{name}: README too short to stand alone ({len(body)} chars)"
        assert "](../" not in body and "](packages/" not in body, f"{name}: README links into the repository"
        if name != "almost_core":
            core = [r for r in meta.get_all("Requires-Dist") if r.startswith("almost-core")]
            assert core and "<" in core[0] and ">=" in core[0], f"{name}: almost-core unbounded: {core}"
    _, names = _metadata(wheels["almost_gamengen"])  # the pretrained tiny VAE ships inside the wheel
    for f in ("config.json", "diffusion_pytorch_model.safetensors"):
        assert f"almost_gamengen/pretrained/vae-48x64/{f}" in names
    core_meta, _ = _metadata(wheels["almost_core"])
    requires = core_meta.get_all("Requires-Dist")
    assert not any(r.startswith(("torch", "accelerate")) and "extra" not in r for r in requires)
    assert any(r.startswith("torch") and "train" in r.partition(";")[2] for r in requires)


@pytest.mark.slow
def test_core_alone_runs_the_cli_without_torch(wheels, tmp_path):
    uv = _uv()
    bin_ = _venv(uv, tmp_path / "core-venv", wheels["almost_core"], find_links=wheels["almost_core"].parent)
    r = subprocess.run([str(bin_ / "python"), "-c", "import torch"], capture_output=True, timeout=60)
    assert r.returncode != 0  # no torch in this environment
    for args in (["--help"], ["plugins"], ["components"]):
        out = subprocess.run([str(bin_ / "almost"), *args], capture_output=True, text=True, env=_env(), timeout=120,
                             cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    code = ("import almost, almost.testing, almost.registry; r = almost.registry.Registry(); "
            "r.add('env', 'x', 'm:f'); print(almost.HOOK_API)")
    out = subprocess.run([str(bin_ / "python"), "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr


@pytest.mark.slow
def test_gamengen_wheel_in_a_fresh_venv_lists_its_plugin(wheels, tmp_path):
    uv = _uv()
    bin_ = _venv(uv, tmp_path / "venv", wheels["almost_gamengen"], find_links=wheels["almost_core"].parent)
    out = subprocess.run([str(bin_ / "almost"), "plugins", "--json"], capture_output=True, text=True,
                         env=_env(), timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert set(rows) == {"gamengen"}, rows.keys()  # only what this venv holds
    g = rows["gamengen"]
    assert g["status"] == "ok" and g["distribution"] == "almost-gamengen" and g["pipelines"] == ["gamengen"]
    assert "env/vizdoom-basic" in g["components"] and "env/worldmodel" in g["components"]
    out = subprocess.run([str(bin_ / "almost"), "plugins"], capture_output=True, text=True, env=_env(),
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and "gamengen" in out.stdout and "broken" not in out.stdout
    out = subprocess.run([str(bin_ / "almost"), "stages", "--plugin", "gamengen"], capture_output=True,
                         text=True, env=_env(), timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and "encode" in out.stdout and "rollout" in out.stdout
    out = subprocess.run([str(bin_ / "almost"), "run", "--plugin", "ddpo"], capture_output=True,
                         text=True, env=_env(), timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "unknown plugin 'ddpo'" in out.stderr  # not installed in that venv
