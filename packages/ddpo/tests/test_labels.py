"""Ratings as a store that accumulates: the seed's scores.json imported by image content, merge
semantics, stale downstream stages, the log's last line, and `score` re-runs that keep and show
every earlier rating (Ctrl-C does not finish the stage)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almost.testing import run_cli
from almost_ddpo.scores import RatingLog, RatingView, image_key, run_log


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
    from almost.pipeline import RunDirLock

    f = seed_folder / "scores.json"
    f.write_text(json.dumps({"100123.png": 3}))
    args = ["ddpo", "import", str(f), "--images", str(seed_folder), "--run", str(run)]
    manifest_before = (run / "manifest.json").read_bytes()
    with RunDirLock(run):
        code, out, err = run_cli(args)
    assert code == 2 and "is in use by another run" in err and "Traceback" not in out + err
    assert not (run / "ratings.jsonl").exists() and (run / "manifest.json").read_bytes() == manifest_before
    assert run_cli(args)[0] == 0 and (run / "ratings.jsonl").exists()  # the lock released: it goes in


def test_log_keeps_a_valid_last_line_without_newline_and_reports_a_torn_one(tmp_path, capsys):
    p = tmp_path / "ratings.jsonl"
    p.write_text('{"kind": "score", "image": "a", "score": 3}\n{"kind": "score", "image": "b", "score": -2}')
    log = RatingLog(p)
    assert log.scores() == {"a": 3, "b": -2}  # the valid last line is kept
    log.append({"kind": "score", "image": "c", "score": 1})
    assert RatingLog(p).scores() == {"a": 3, "b": -2, "c": 1}  # and appending did not glue lines together

    with open(p, "a") as f:
        f.write('{"kind": "score", "image": "d", "sc')  # a crash mid-append
    capsys.readouterr()
    raw = RatingLog.__new__(RatingLog)  # read without opening for appends
    raw.path = p
    assert raw.records()[-1]["image"] == "c"
    assert "cut off" in capsys.readouterr().out  # reading reports it
    again = RatingLog(p)  # opening sets it aside, with a note
    note = capsys.readouterr().out
    assert "line 4 was cut off" in note and "ratings.jsonl.torn" in note
    assert again.torn_path.read_text() == '{"kind": "score", "image": "d", "sc\n'
    again.append({"kind": "skip", "image": "e"})
    assert again.scores() == {"a": 3, "b": -2, "c": 1} and "e" in again.rated()


# -- the score stage through the CLI, with the page replaced by a scripted user -------------------
SETS = ["generate.prompts=a red circle,a blue square", "generate.images_per_prompt=2", "generate.steps=2",
        "score.mode=web"]


def _args(run, model_dir, *stages):
    args = ["run", "--plugin", "ddpo", *stages, "--out", str(run), "--set", f"model.path={model_dir}"]
    for s in SETS:
        args += ["--set", s]
    return args


def test_ctrl_c_does_not_finish_score_and_a_rerun_shows_every_rating(tmp_path, tiny_model_dir, monkeypatch):
    from almost_ddpo.stages import score

    run = tmp_path / "run"
    assert run_cli(_args(run, tiny_model_dir, "pretrain", "generate"))[0] == 0
    seen = []

    def user(rate: dict, then):
        def fake_serve(images_dir, log, host="127.0.0.1", port=0, annotator="me"):
            seen.append(dict(log.scores()))  # what /api/images would show
            for name, s in rate.items():
                log.append({"kind": "score", "image": name, "score": s, "annotator": annotator})
            if then == "ctrl-c":
                raise KeyboardInterrupt
        return fake_serve

    monkeypatch.setattr(score, "serve", user({"00000.png": 4, "00001.png": -1}, "ctrl-c"))
    code, out, err = run_cli(_args(run, tiny_model_dir, "score"))
    assert code == 130, out + err
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["score"]["status"] != "done"

    monkeypatch.setattr(score, "serve", user({"00002.png": 2}, "done"))
    code, out, err = run_cli(_args(run, tiny_model_dir, "score"))  # no --force
    assert code == 0, out + err
    assert seen[-1] == {"00000.png": 4, "00001.png": -1}  # the page opens with the earlier ratings
    assert json.loads((run / "round-001" / "score" / "scores.json").read_text()) == {
        "00000.png": 4, "00001.png": -1, "00002.png": 2}

    monkeypatch.setattr(score, "serve", user({}, "done"))
    code, out, err = run_cli([*_args(run, tiny_model_dir, "score"), "--force"])
    assert code == 0, out + err
    assert seen[-1] == {"00000.png": 4, "00001.png": -1, "00002.png": 2}  # nothing lost or hidden
    assert len(run_log(run).records()) == 3


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
