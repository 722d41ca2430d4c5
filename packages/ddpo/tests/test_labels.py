"""`almost ddpo import` and `almost ddpo score`: the seed's scores.json imported into a run's
ratings by image content, merge semantics, stale downstream stages, scoring any folder, and the
per-round logs of older runs folded into the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almost.testing import run_cli
from almost_ddpo.scores import RatingView, image_key, run_log


def _png(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def run(tmp_path) -> Path:
    """A ddpo run whose round 1 generated 6 images and finished reward/policy/export."""
    run = tmp_path / "run"
    images = run / "round-001" / "generate" / "images"
    images.mkdir(parents=True)
    for i in range(6):
        _png(images / f"{i:05d}.png", i)
    stages = {s: {"status": "done"} for s in ("pretrain", "generate", "score", "reward", "policy", "export")}
    (run / "manifest.json").write_text(json.dumps({"pipeline": "ddpo", "round": 1, "stages": stages}))
    (run / "config.toml").write_text('[almost]\npipeline = "ddpo"\nprofile = "tiny"\n')  # what `almost run` writes first
    for s in ("reward", "policy", "export"):
        (run / "round-001" / s).mkdir()
        (run / "round-001" / s / "old.txt").write_text("trained on old labels")
    (run / "metrics.json").write_text(json.dumps({"generate": {"images": 6}, "reward": {"heldout_corr": 0.5},
                                                  "policy": {"reward_after": 1.0}}))
    return run


@pytest.fixture
def seed_folder(tmp_path, run) -> Path:
    """The seed app's folder: 4 of the run's images under the seed's own names, one stranger."""
    d = tmp_path / "seed"
    d.mkdir()
    for i, name in enumerate(["100123.png", "100124.png", "100125.png", "100126.png"]):
        shutil.copyfile(run / "round-001" / "generate" / "images" / f"{i:05d}.png", d / name)
    _png(d / "999999.png", 99)  # an image this run never made
    return d


def test_import_seed_scores_json_by_content_lists_every_bad_entry(run, seed_folder):
    scores = {"100123.png": 3, "100124.png": -5, "100125.png": 0, "100126.png": 5,  # four good ones
              "999999.png": 2, "100127.png": 1, "../100123.png": 1, "/etc/100123.png": 1,
              "x.png": 7, "half.png": 2.5, "text.png": "3"}
    scores_file = seed_folder / "scores.json"
    scores_file.write_text(json.dumps(scores))
    code, out, err = run_cli(["ddpo", "import", str(scores_file), "--images", str(seed_folder), "--run", str(run)])
    text = out + err
    assert code == 0, text
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert lines[-1] == "added 4, updated 0, skipped 7", lines
    bad = "\n".join(lines)
    assert "999999.png: unknown image" in bad
    assert "100127.png: no such file" in bad
    assert "../100123.png: is a path" in bad and "/etc/100123.png: is a path" in bad
    assert "x.png: score 7 is out of range" in bad
    assert "half.png: score 2.5 is not an integer" in bad and "text.png: score '3' is not an integer" in bad
    assert sum(ln.split(": ")[0] in scores for ln in lines) == 7  # one line per bad entry
    assert "Traceback" not in text
    # the run's store now holds the four, keyed by content, pointing at the run's own files
    view = RatingView(run_log(run), run / "round-001" / "generate" / "images", run)
    assert view.scores() == {"00000.png": 3, "00001.png": -5, "00002.png": 0, "00003.png": 5}
    rec = run_log(run).records()[0]
    assert rec["image"] == image_key(seed_folder / "100123.png") and rec["file"].startswith("round-001/generate/")
    # labels changed: reward, policy, export are stale, their output and figures set aside
    manifest = json.loads((run / "manifest.json").read_text())
    assert {s: manifest["stages"][s]["status"] for s in ("score", "reward", "policy", "export")} == {
        "score": "done", "reward": "stale", "policy": "stale", "export": "stale"}
    assert not (run / "round-001" / "reward").exists() and list((run / "round-001").glob("reward.stale-*"))
    stamp = next((run / "round-001").glob("reward.stale-*")).name.split(".stale-")[1]
    assert (f"4 rating(s) imported: reward, policy, export of round 1 are stale and will re-run "
            f"(old output kept as *.stale-{stamp})") in " ".join(text.split())
    assert set(json.loads((run / "metrics.json").read_text())) == {"generate"}


def test_import_into_what_is_not_a_ddpo_run_is_one_sentence(run, seed_folder, tmp_path):
    f = seed_folder / "scores.json"
    f.write_text(json.dumps({"100123.png": 3}))
    code, out, err = run_cli(["ddpo", "import", str(f), "--images", str(seed_folder), "--run", str(seed_folder)])
    assert code == 2 and "is not a ddpo run directory (no config.toml)" in err and "Traceback" not in out + err
    (run / "manifest.json").unlink()  # generated images, no stage finished yet: the import goes in
    shutil.rmtree(run / "round-001" / "reward")
    code, out, err = run_cli(["ddpo", "import", str(f), "--images", str(seed_folder), "--run", str(run)])
    assert code == 0 and out.strip().splitlines()[-1] == "added 1, updated 0, skipped 0", out + err


def test_merge_adds_updates_skips_and_never_rewrites(run, seed_folder):
    f = seed_folder / "scores.json"
    f.write_text(json.dumps({"100123.png": 3, "100124.png": -5}))
    args = ["ddpo", "import", str(f), "--images", str(seed_folder), "--run", str(run)]
    assert run_cli(args)[0] == 0
    first = (run / "ratings.jsonl").read_bytes()
    f.write_text(json.dumps({"100123.png": 3, "100124.png": 1, "100125.png": -2}))
    code, out, _ = run_cli(args)
    assert code == 0 and out.strip().splitlines()[-1] == "added 1, updated 1, skipped 1"
    assert (run / "ratings.jsonl").read_bytes().startswith(first)  # appended, earlier lines untouched
    view = RatingView(run_log(run), run / "round-001" / "generate" / "images", run)
    assert view.scores() == {"00000.png": 3, "00001.png": 1, "00002.png": -2}
    # the same file again: a no-op, not an error (exit 0, says nothing is new, the log unchanged)
    before = (run / "ratings.jsonl").read_bytes()
    code, out, err = run_cli(args)
    assert code == 0 and "added 0, updated 0, skipped 3" in out and "nothing new in" in out and not err
    assert (run / "ratings.jsonl").read_bytes() == before
    # a file of only bad entries → exit 2, every entry listed
    f.write_text(json.dumps({"999999.png": 1, "100123.png": 9}))
    code, out, err = run_cli(args)
    assert code == 2 and "999999.png: unknown image" in out and "100123.png: score 9 is out of range" in out


def test_import_refuses_a_run_directory_in_use(run, seed_folder):
    """`almost ddpo import` takes the run directory's lock: while an `almost run` holds it, the
    import changes nothing and says who holds the directory."""
    from almost.runs import RunDirLock

    f = seed_folder / "scores.json"
    f.write_text(json.dumps({"100123.png": 3}))
    args = ["ddpo", "import", str(f), "--images", str(seed_folder), "--run", str(run)]
    manifest_before = (run / "manifest.json").read_bytes()
    with RunDirLock(run):
        code, out, err = run_cli(args)
    assert code == 2 and "is in use by another run" in err and "Traceback" not in out + err
    assert not (run / "ratings.jsonl").exists() and (run / "manifest.json").read_bytes() == manifest_before
    assert run_cli(args)[0] == 0 and (run / "ratings.jsonl").exists()  # the lock released: it goes in




def test_score_any_folder(tmp_path, monkeypatch):
    from almost_ddpo.stages import score

    d = tmp_path / "pics"
    d.mkdir()
    for i in range(3):
        _png(d / f"photo_{i}.png", i)

    def fake_serve(images_dir, log, host="127.0.0.1", port=0, annotator="me"):
        log.append({"kind": "score", "image": "photo_1.png", "score": -3, "annotator": annotator})

    monkeypatch.setattr(score, "serve", fake_serve)
    code, out, err = run_cli(["ddpo", "score", str(d), "--port", "0"])
    assert code == 0, out + err
    assert json.loads((d / "scores.json").read_text()) == {"photo_1.png": -3}
    assert "1 of 3 images scored" in out
    code, out, err = run_cli(["ddpo", "score", str(tmp_path / "nothing")])
    assert code == 2 and "holds no .png images" in err


def test_per_round_logs_of_older_runs_move_into_the_store(run):
    from almost_ddpo.scores import migrate_round_logs

    old = run / "round-001" / "score" / "ratings.jsonl"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text('{"kind": "score", "image": "00001.png", "score": 2, "time": 5}\n'
                   '{"kind": "pair", "left": "00000.png", "right": "00002.png", "winner": "left", "time": 6}\n')
    assert migrate_round_logs(run) == 2 and migrate_round_logs(run) == 0
    view = RatingView(run_log(run), run / "round-001" / "generate" / "images", run)
    assert view.scores() == {"00001.png": 2} and view.pairs() == [("00000.png", "00002.png", "left")]
    assert run_log(run).records()[0]["time"] == 5 and old.with_name("ratings.jsonl.migrated").is_file()
