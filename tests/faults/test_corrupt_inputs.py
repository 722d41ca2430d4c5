"""Corrupt inputs: every file the project reads × the ways it goes wrong → exit 2, one sentence
naming the file, no traceback (issue 27).

The table ``CASES`` lists (file kind, corruption); one parametrised test runs each. A case
damages a copy of a small, valid fixture (a finished run of the trust tests' ``trainy`` pipeline,
a ddpo run with 6 generated images and a seed folder, a tiny saved world model, a tiny latent
store) and runs the command that reads the file:

* ``almost run`` / ``almost report`` / ``almost ddpo import`` in-process (``almost.testing.run_cli``,
  the real ``almost.cli.main``): exit status and stderr as a user sees them;
* the gamengen readers (latent index, world model: what ``train``, ``rollout`` and ``play`` call
  first) directly, through the same mapping ``almost.cli.main`` applies (a UserError is
  ``error: MESSAGE`` and exit 2; anything else escapes and fails the case with its traceback).

Every case: exit 2; stderr is one line, ``error: ...``, naming the file; no ``Traceback``.
Fast (seconds for the whole table): not marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1] / "packages" / "core" / "tests"))  # trust_plugin.py
import trust_plugin  # noqa: E402

RANDOM = bytes(range(256)) * 3 + b"\x00\xff\xfe" * 50  # "random bytes": every byte value, not UTF-8
NON_UTF8 = b"\xff\xfe\xfa not utf-8 \x80\x81"


# -- fixtures: one valid copy of each kind of input, built once ----------------------------------
@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    from almost.runs import run_pipeline

    root = tmp_path_factory.mktemp("bases")
    app = trust_plugin.app()
    run_pipeline(app.pipeline("trainy"), app.registry, out=root / "run", sets=["steps=2"])
    (root / "run" / "train" / "history.jsonl").write_text(
        "".join(json.dumps({"step": s, "time": 1.0, "loss": 1.0 / s}) + "\n" for s in (1, 2)))
    _gif(root / "run" / "train" / "samples.gif")
    _ddpo_run(root / "ddpo")
    _world_model(root / "wm")
    _latent_store(root / "latents")
    from almost_gamengen.data.synthetic import write_synthetic

    write_synthetic(root / "episodes", episodes=2, length=4, height=8, width=8)
    return root, app


def _png(path: Path, seed: int) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
    return path


def _gif(path: Path) -> Path:
    import numpy as np
    from PIL import Image

    frames = [Image.fromarray(np.full((16, 20, 3), 40 * k, np.uint8)) for k in range(4)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def _ddpo_run(root: Path) -> None:
    images = root / "run" / "round-001" / "generate" / "images"
    images.mkdir(parents=True)
    for i in range(4):
        _png(images / f"{i:05d}.png", i)
    stages = {s: {"status": "done"} for s in ("pretrain", "generate")}
    (root / "run" / "manifest.json").write_text(json.dumps({"pipeline": "ddpo", "round": 1, "stages": stages}))
    (root / "run" / "config.toml").write_text('[almost]\npipeline = "ddpo"\nprofile = "tiny"\n')  # `almost run` writes it first
    seed = root / "seed"
    seed.mkdir()
    for i in range(4):
        shutil.copyfile(images / f"{i:05d}.png", seed / f"10012{i}.png")
    (seed / "scores.json").write_text(json.dumps({"100120.png": 3, "100121.png": -1}))


def _world_model(folder: Path) -> None:
    import attrs

    from almost_gamengen.config_model import ModelConfig
    from almost_gamengen.model.world_model import build_world_model

    mcfg = attrs.evolve(ModelConfig.tiny(), context=2, block_out_channels=[16, 16],
                        cross_attention_levels=[False, True], attention_head_dim=8, action_dim=16)
    build_world_model(mcfg, 3, (4, 4), seed=0, meta={"action_names": ["n", "l", "r"]}).save(folder)


def _latent_store(folder: Path) -> None:
    import torch

    from almost_gamengen.model.latents import shard_name, write_index, write_shard

    folder.mkdir()
    write_shard(folder / shard_name(0), torch.zeros(6, 4, 4, 4), [0, 1, 2, 0, 1, 2])
    write_index(folder, latent_shape=[4, 4, 4], dtype="float32", scaling_factor=0.18, action_names=["n", "l", "r"],
                noop_action=0, frame_shape=[32, 32, 3], shards=[{"file": shard_name(0), "frames": 6}],
                episodes=[{"id": "collect:0", "source": "collect", "episode_id": 0, "shard": 0, "start": 0,
                           "length": 6}])


# -- how a case damages a file ---------------------------------------------------------------------
def put(rel: str, data: bytes | str | Callable[[Path], None]):
    """Replace ``rel`` (under the case's folder) with ``data``; a callable gets the path."""
    def apply(w: Path) -> None:
        p = w / rel
        if callable(data):
            data(p)
        else:
            if p.is_dir():
                shutil.rmtree(p)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return apply


def edit_json(rel: str, fn: Callable[[dict], object]):
    def apply(w: Path) -> None:
        p = w / rel
        data = json.loads(p.read_text())
        new = fn(data)  # edits data in place, or returns the new text
        p.write_text(new if isinstance(new, str) else json.dumps(data))
    return apply


def a_folder(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "x").write_text("x")


def truncate(n: int):
    def apply(p: Path) -> None:
        p.write_bytes(p.read_bytes()[:n])
    return apply


def half(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def drop(*keys: str):
    def fn(d: dict) -> None:
        for k in keys:
            d.pop(k)
    return fn


def setv(path: str, value):
    """Set a dotted key (``stages.train.seconds``) in a JSON object."""
    def fn(d: dict) -> None:
        *head, last = path.split(".")
        cur = d
        for k in head:
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        if isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return fn


def append_line(rel: str, line: bytes):
    def apply(w: Path) -> None:
        with open(w / rel, "ab") as f:
            f.write(line)
    return apply


# -- the commands ------------------------------------------------------------------------------------
RUN = ("run", "--plugin", "trainy", "--out", "{run}")
REPORT = ("report", "{run}")
IMPORT = ("ddpo", "import", "{seed}/scores.json", "--images", "{seed}", "--run", "{ddpo}")


def LATENTS(w: Path) -> None:
    from almost_gamengen.model.latents import LatentStore

    LatentStore(w / "latents")


def EPISODES(w: Path) -> None:
    from almost_gamengen.data.episodes import EpisodeStore

    EpisodeStore(w / "episodes")


def WORLD_MODEL(w: Path) -> None:
    from almost_gamengen.model.world_model import WorldModel

    WorldModel.load(w / "wm")


# (file kind, corruption, damage, command, a part of the file's path the message must name)
M, MT, CF = "run/manifest.json", "run/metrics.json", "run/config.toml"
H, RT, SC = "run/train/history.jsonl", "ddpo/run/ratings.jsonl", "ddpo/seed/scores.json"
IX, WJ, EM = "latents/index.json", "wm/world_model.json", "episodes/manifest.json"
UNET = "wm/unet/diffusion_pytorch_model.safetensors"
RATING = '{"kind": "score", "image": "abc", "score": 1, "time": 1}\n'

CASES = [
    # run manifest, read by `almost run` (and report, below)
    ("manifest", "not JSON", put(M, "{not json"), RUN, "manifest.json"),
    ("manifest", "empty file", put(M, ""), RUN, "manifest.json"),
    ("manifest", "random bytes", put(M, RANDOM), RUN, "manifest.json"),
    ("manifest", "non-UTF-8 text", put(M, NON_UTF8), RUN, "manifest.json"),
    ("manifest", "a folder instead of the file", put(M, a_folder), RUN, "manifest.json"),
    ("manifest", "a list", put(M, "[1, 2]"), RUN, "manifest.json"),
    ("manifest", "stages is a list", edit_json(M, setv("stages", [])), RUN, "manifest.json"),
    ("manifest", "a stage record is a number", edit_json(M, setv("stages.train", 3)), RUN, "manifest.json"),
    ("manifest", "string seconds", edit_json(M, setv("stages.train.seconds", "abc")), RUN, "manifest.json"),
    ("manifest", "numeric status", edit_json(M, setv("stages.train.status", 1)), RUN, "manifest.json"),
    ("manifest", "unknown status", edit_json(M, setv("stages.train.status", "finished")), RUN, "manifest.json"),
    ("manifest", "artifact is a number", edit_json(M, setv("stages.train.artifacts.weights", 5)), RUN,
     "manifest.json"),
    ("manifest", "round is text", edit_json(M, setv("round", "two")), RUN, "manifest.json"),
    ("manifest", "history is an object", edit_json(M, setv("history", {})), RUN, "manifest.json"),
    ("manifest", "NaN seconds", edit_json(M, lambda d: json.dumps(d).replace('"seconds": ', '"seconds": NaN, "x": ')),
     RUN, "manifest.json"),
    ("manifest", "1e400 seconds", edit_json(M, lambda d: json.dumps(d).replace('"seconds": ', '"seconds": 1e400, "x": ')),
     RUN, "manifest.json"),
    ("manifest", "truncated", put(M, half), RUN, "manifest.json"),
    # metrics, read by `almost run`
    ("metrics", "not JSON", put(MT, "{'train': 1}"), RUN, "metrics.json"),
    ("metrics", "random bytes", put(MT, RANDOM), RUN, "metrics.json"),
    ("metrics", "a folder instead of the file", put(MT, a_folder), RUN, "metrics.json"),
    ("metrics", "a list", put(MT, "[]"), RUN, "metrics.json"),
    ("metrics", "a stage's metrics are a number", edit_json(MT, setv("train", 2)), RUN, "metrics.json"),
    ("metrics", "a metric is an object", edit_json(MT, setv("train.steps", {"a": 1})), RUN, "metrics.json"),
    ("metrics", "NaN", put(MT, '{"train": {"loss": NaN}}'), RUN, "metrics.json"),
    ("metrics", "truncated", put(MT, half), RUN, "metrics.json"),
    # the run's config.toml, and --config
    ("config.toml", "random bytes", put(CF, RANDOM), RUN, "config.toml"),
    ("config.toml", "not TOML", put(CF, "steps = = 3\n[["), RUN, "config.toml"),
    ("config.toml", "a folder instead of the file", put(CF, a_folder), RUN, "config.toml"),
    ("--config", "a folder", put("cfg", lambda p: p.mkdir()), (*RUN, "--config", "{w}/cfg"), "cfg"),
    ("--config", "missing", put("x", ""), (*RUN, "--config", "{w}/missing.toml"), "missing.toml"),
    ("--config", "not TOML", put("c.toml", "steps = [1,"), (*RUN, "--config", "{w}/c.toml"), "c.toml"),
    ("--config", "binary", put("c.toml", RANDOM), (*RUN, "--config", "{w}/c.toml"), "c.toml"),
    ("--config", "an unknown key", put("c.toml", "stepz = 3\n"), (*RUN, "--config", "{w}/c.toml"), "stepz"),
    ("--config", "a string where a number goes", put("c.toml", 'steps = "many"\n'), (*RUN, "--config", "{w}/c.toml"),
     "steps"),
    # what `almost report` reads: it writes the page without them and names them
    ("report: history", "binary", put(H, RANDOM), REPORT, "history.jsonl"),
    ("report: history", "garbage lines in the middle", put(H, '{"step": 1, "loss": 1}\nnot json\n{"step": 2}\n'),
     REPORT, "history.jsonl"),
    ("report: history", "non-UTF-8", put(H, b'{"step": 1, "loss": 1}\n' + NON_UTF8 + b"\n"), REPORT, "history.jsonl"),
    ("report: history", "records without a step", put(H, '{"loss": 1}\n{"loss": 2}\n'), REPORT, "history.jsonl"),
    ("report: manifest", "artifact is a number", edit_json(M, setv("stages.train.artifacts.weights", 7)), REPORT,
     "manifest.json"),
    ("report: manifest", "random bytes", put(M, RANDOM), REPORT, "manifest.json"),
    ("report: manifest", "numeric status", edit_json(M, setv("stages.train.status", 2)), REPORT, "manifest.json"),
    ("report: metrics", "random bytes", put(MT, RANDOM), REPORT, "metrics.json"),
    ("report: config.toml", "random bytes", put(CF, RANDOM), REPORT, "config.toml"),
    ("report: picture", "truncated GIF", put("run/train/samples.gif", truncate(60)), REPORT, "samples.gif"),
    ("report: picture", "PNG of random bytes", put("run/train/x.png", b"\x89PNG\r\n\x1a\n" + RANDOM), REPORT, "x.png"),
    ("report: run directory", "a file", put("runfile", "x"), ("report", "{w}/runfile"), "runfile"),
    # ddpo ratings store (ratings.jsonl), read by `almost ddpo import` (and the page, reward, score)
    ("ratings", "non-UTF-8 middle line", put(RT, RATING.encode() + NON_UTF8 + b"\n" + RATING.encode()), IMPORT,
     "ratings.jsonl"),
    ("ratings", "non-UTF-8 last line", put(RT, RATING.encode() + NON_UTF8 + b"\n"), IMPORT, "ratings.jsonl"),
    ("ratings", "a rating without image", put(RT, '{"kind": "score", "score": 1}\n'), IMPORT, "ratings.jsonl"),
    ("ratings", 'score "abc"', put(RT, '{"kind": "score", "image": "k", "score": "abc"}\n'), IMPORT, "ratings.jsonl"),
    ("ratings", "score out of range", put(RT, '{"kind": "score", "image": "k", "score": 12}\n'), IMPORT,
     "ratings.jsonl"),
    ("ratings", "a pair with only left", put(RT, '{"kind": "pair", "left": "k"}\n'), IMPORT, "ratings.jsonl"),
    ("ratings", "a pair with an unknown winner",
     put(RT, '{"kind": "pair", "left": "a", "right": "b", "winner": "both"}\n'), IMPORT, "ratings.jsonl"),
    ("ratings", "unknown kind", put(RT, '{"kind": "vote", "image": "k"}\n'), IMPORT, "ratings.jsonl"),
    ("ratings", "a line that is a list", put(RT, "[1, 2]\n" + RATING), IMPORT, "ratings.jsonl"),
    ("ratings", "a line that is not JSON", put(RT, "nope\n" + RATING), IMPORT, "ratings.jsonl"),
    ("ratings", "NaN score", put(RT, '{"kind": "score", "image": "k", "score": NaN}\n' + RATING), IMPORT,
     "ratings.jsonl"),
    ("ratings", "a file path that is a number", put(RT, '{"kind": "score", "image": "k", "score": 1, "file": 7}\n'),
     IMPORT, "ratings.jsonl"),
    ("ratings", "a folder instead of the file", put(RT, lambda p: p.mkdir()), IMPORT, "ratings.jsonl"),
    # the seed's scores.json, read by `almost ddpo import`
    ("scores", "NaN", put(SC, '{"100120.png": NaN}'), IMPORT, "scores.json"),
    ("scores", "1e400", put(SC, '{"100120.png": 1e400}'), IMPORT, "scores.json"),
    ("scores", "Infinity", put(SC, '{"100120.png": -Infinity}'), IMPORT, "scores.json"),
    ("scores", "a list", put(SC, "[3, 4]"), IMPORT, "scores.json"),
    ("scores", "random bytes", put(SC, RANDOM), IMPORT, "scores.json"),
    ("scores", "non-UTF-8", put(SC, NON_UTF8), IMPORT, "scores.json"),
    ("scores", "truncated", put(SC, '{"100120.png": 3, "1001'), IMPORT, "scores.json"),
    ("scores", "a folder instead of the file", put(SC, a_folder), IMPORT, "scores.json"),
    ("scores", "only bad entries", put(SC, '{"100120.png": "abc", "100121.png": 2.5}'), IMPORT, "scores.json"),
    # gamengen latent store index (train, decoder, rollout, play read it first)
    ("latent index", "missing latent_shape", edit_json(IX, drop("latent_shape")), LATENTS, "index.json"),
    ("latent index", "latent_shape of text", edit_json(IX, setv("latent_shape", "4x4")), LATENTS, "index.json"),
    ("latent index", "negative latent_shape", edit_json(IX, setv("latent_shape", [4, -4, 4])), LATENTS,
     "index.json"),
    ("latent index", "missing shards", edit_json(IX, drop("shards")), LATENTS, "index.json"),
    ("latent index", "a shard without frames", edit_json(IX, lambda d: d["shards"][0].pop("frames")), LATENTS,
     "index.json"),
    ("latent index", "a shard path outside the store", edit_json(IX, setv("shards.0.file", "../../etc/passwd")),
     LATENTS, "index.json"),
    ("latent index", "an episode past its shard", edit_json(IX, setv("episodes.0.length", 60)), LATENTS,
     "index.json"),
    ("latent index", "noop_action out of range", edit_json(IX, setv("noop_action", 9)), LATENTS, "index.json"),
    ("latent index", "scaling_factor NaN", edit_json(IX, lambda d: json.dumps(d).replace("0.18", "NaN")), LATENTS,
     "index.json"),
    ("latent index", "random bytes", put(IX, RANDOM), LATENTS, "index.json"),
    ("latent index", "a list", put(IX, "[]"), LATENTS, "index.json"),
    ("latent shard", "truncated", put("latents/shard-00000.safetensors", truncate(30)), LATENTS, "shard-00000"),
    # gamengen episode manifest (encode, the agent's data, collect read it)
    ("episode manifest", "a list", put(EM, "[]"), EPISODES, "manifest.json"),
    ("episode manifest", "random bytes", put(EM, RANDOM), EPISODES, "manifest.json"),
    ("episode manifest", "missing action_names", edit_json(EM, drop("action_names")), EPISODES, "manifest.json"),
    ("episode manifest", "a shard without frames", edit_json(EM, lambda d: d["shards"][0].pop("frames") and None),
     EPISODES, "manifest.json"),
    ("episode manifest", "episode ids of text", edit_json(EM, setv("shards.0.episodes", ["a"])), EPISODES,
     "manifest.json"),
    # gamengen world model (rollout, play, the world-model env load it)
    ("world_model.json", "missing num_actions", edit_json(WJ, drop("num_actions")), WORLD_MODEL, "world_model.json"),
    ("world_model.json", "missing context", edit_json(WJ, drop("context")), WORLD_MODEL, "world_model.json"),
    ("world_model.json", "context of text", edit_json(WJ, setv("context", "two")), WORLD_MODEL, "world_model.json"),
    ("world_model.json", "a list", put(WJ, "[]"), WORLD_MODEL, "world_model.json"),
    ("world_model.json", "random bytes", put(WJ, RANDOM), WORLD_MODEL, "world_model.json"),
    ("world model weights", "truncated UNet weights", put(UNET, half), WORLD_MODEL, "unet"),
    ("world model weights", "UNet config not JSON", put("wm/unet/config.json", "{"), WORLD_MODEL, "unet"),
    ("world model weights", "truncated action weights", put("wm/world_model.safetensors", truncate(20)), WORLD_MODEL,
     "world_model.safetensors"),
]


@pytest.fixture
def world(bases, tmp_path):
    root, app = bases
    for name in ("run", "ddpo", "wm", "latents", "episodes"):
        shutil.copytree(root / name, tmp_path / name)
    return tmp_path, app


def _cli(args, app, monkeypatch) -> tuple[int, str, str]:
    from almost import plugins
    from almost.testing import run_cli

    if args[0] != "ddpo":  # the trainy pipeline is this test's plugin; ddpo is installed
        def get_app():
            return app

        get_app.cache_clear = lambda: None
        monkeypatch.setattr(plugins, "get_app", get_app)
    return run_cli(args)


def _as_cli(fn, w: Path) -> tuple[int, str, str]:
    """What ``almost.cli.main`` does with a command's error: a UserError is one line and exit 2;
    anything else propagates (and fails the case, traceback shown)."""
    from almost.errors import UserError

    try:
        fn(w)
    except UserError as e:
        return e.exit_code, "", f"error: {e}\n"
    return 0, "", ""


@pytest.mark.parametrize("kind, corruption, damage, command, names",
                         CASES, ids=[f"{k}: {c}" for k, c, *_ in CASES])
def test_corrupt_input_is_one_sentence_and_exit_2(world, monkeypatch, kind, corruption, damage, command, names):
    w, app = world
    if "ratings" in kind:
        (w / RT).parent.mkdir(parents=True, exist_ok=True)
    damage(w)
    os.environ.setdefault("ALMOST_NO_PROGRESS", "1")
    if callable(command):
        code, out, err = _as_cli(command, w)
    else:
        paths = {"run": w / "run", "ddpo": w / "ddpo" / "run", "seed": w / "ddpo" / "seed", "w": w}
        code, out, err = _cli([a.format(**paths) for a in command], app, monkeypatch)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in out + err, (out + err)[-3000:]
    assert code == 2, (code, out[-1500:], err[-1500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert names in lines[0], lines[0]


def test_the_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({(k, c) for k, c, *_ in CASES}) == len(CASES)  # each (kind, corruption) once
