"""What changing labels does to a run, and the ``almost ddpo import`` / ``almost ddpo score`` verbs.

New or changed ratings make the stages that learned from the old ones stale: the current
round's ``reward``, ``policy`` and ``export`` records are marked ``stale`` in the manifest,
their folders are moved aside (``reward.stale-YYYYmmdd-HHMMSS``) and their figures leave
``metrics.json``, so the next ``almost run`` retrains them on every label and the summary
never mixes old and new. (The core's ``--force`` rule does the same for forced stages; this
is the label-side trigger, kept here until the core offers one.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from almost.console import console
from almost.errors import UserError
from almost.io import atomic_write_json, read_json

LABEL_CONSUMERS = ("reward", "policy", "export")


def mark_labels_changed(run_dir: str | Path, why: str = "the ratings changed") -> list[str]:
    """Mark the current round's label consumers stale; returns the stages that were affected."""
    from almost.pipeline import records_lock

    run_dir = Path(run_dir)
    mpath = run_dir / "manifest.json"
    if not mpath.is_file():
        return []
    with records_lock(run_dir):
        hit, stamp, rnd = _mark(run_dir, mpath, why)
    if hit:
        console.print(f"[yellow]{why}: {', '.join(hit)} of round {rnd} are stale and will re-run "
                      f"(old output kept as *.stale-{stamp})[/]", soft_wrap=True)
    return hit


def _mark(run_dir: Path, mpath: Path, why: str):
    manifest = read_json(mpath, "run manifest")
    stages = manifest.get("stages", {}) if isinstance(manifest, dict) else {}
    rnd = int(manifest.get("round", 1))
    round_dir = run_dir / f"round-{rnd:03d}"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    hit = []
    for name in LABEL_CONSUMERS:
        rec = stages.get(name)
        if not rec or rec.get("status") == "stale":
            continue
        d = round_dir / name
        if d.exists():
            os.replace(d, d.with_name(f"{name}.stale-{stamp}"))
        stages[name] = {"status": "stale", "stale_because": why, "marked": time.time()}
        hit.append(name)
    if not hit:
        return hit, stamp, rnd
    atomic_write_json(mpath, manifest)
    for mfile in (run_dir / "metrics.json", round_dir / "metrics.json"):
        if mfile.is_file():
            data = read_json(mfile, "metrics file")
            if isinstance(data, dict) and set(hit) & set(data):
                atomic_write_json(mfile, {k: v for k, v in data.items() if k not in hit})
    return hit, stamp, rnd


def import_into_run(scores_json: str, images: str, run_dir: str, annotator: str = "import") -> int:
    """``almost ddpo import``: merge, print one line per bad entry and the summary; a UserError
    (exit status 2) when nothing could be merged."""
    from .scores import merge_seed_scores, run_images, run_log

    run = Path(run_dir)
    if not (run / "manifest.json").is_file() and not list(run.glob("round-*/generate/images")):
        raise UserError(f"{run} is not a ddpo run directory (no manifest.json); give the folder that "
                        "`almost run --plugin ddpo` wrote, e.g. runs/ddpo/tiny")
    known = run_images(run)
    if not known:
        raise UserError(f"{run} has no generated images yet; run `almost run --plugin ddpo generate --out {run}` first")
    report = merge_seed_scores(run_log(run), scores_json, images, known, annotator)
    if report.merged:
        mark_labels_changed(run, f"{report.merged} rating(s) imported")
    for line in report.bad:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    if not report.merged:
        raise UserError(f"nothing in {scores_json} was merged into {run} ({report.summary()}); "
                        "fix the entries listed above, or check --images is the folder the file was scored in")
    return 0


def score_folder(images: str, host: str, port: int, annotator: str) -> Path:
    """``almost ddpo score DIR``: the scoring page over any folder; ratings in DIR/ratings.jsonl."""
    from .scores import RatingLog, RatingView, write_scores_json
    from .stages.score import serve

    d = Path(images)
    if not d.is_dir() or not any(d.glob("*.png")):
        raise UserError(f"{d} holds no .png images; give a folder of PNG images to score")
    view = RatingView(RatingLog(d / "ratings.jsonl"), d)
    try:
        serve(d, view, host=host, port=port, annotator=annotator)
    except KeyboardInterrupt:
        console.print("stopped; every rating made so far is kept")
    finally:
        out = write_scores_json(d / "scores.json", view.scores())
        console.print(f"{len(view.scores())} of {len(view.key_of)} images scored; seed-format scores in {out}")
    return out
