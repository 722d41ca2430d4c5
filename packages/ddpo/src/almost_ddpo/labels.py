"""What changing labels does to a run, and the ``almost ddpo import`` / ``almost ddpo score`` verbs.

New or changed ratings make the stages that learned from the old ones stale: the current
round's ``reward``, ``policy`` and ``export`` records are marked ``stale`` in the manifest,
their folders are moved aside (``reward.stale-YYYYmmdd-HHMMSS``) and their figures leave
``metrics.json``, so the next ``almost run`` retrains them on every label and the summary
never mixes old and new. The marking is the core's :func:`almost.runs.mark_stale`, the
rule ``--force`` applies to the stages after a forced one; this module is the label-side trigger.
"""

from __future__ import annotations

from pathlib import Path

from almost import open_run
from almost.errors import UserError
from almost.observe.console import console

LABEL_CONSUMERS = ("reward", "policy", "export")


def mark_labels_changed(run_dir: str | Path, why: str = "the ratings changed") -> list[str]:
    """Mark the current round's label consumers stale; returns the stages that were affected."""
    from almost.runs import mark_stale

    run_dir = Path(run_dir)
    moved = mark_stale(run_dir, LABEL_CONSUMERS, why, rounds=True)
    if moved:
        rnd = open_run(run_dir, "ddpo").round
        kept = [p.name.split(".stale-", 1)[1] for p in moved.values() if p is not None]
        where = f" (old output kept as *.stale-{kept[0]})" if kept else ""
        console.print(f"[yellow]{why}: {', '.join(moved)} of round {rnd} are stale and will re-run{where}[/]",
                      soft_wrap=True)
    return list(moved)


def import_into_run(scores_json: str, images: str, run_dir: str, annotator: str = "import") -> int:
    """``almost ddpo import``: merge, print one line per bad entry and the summary; a UserError
    (exit status 2) when nothing could be merged because of bad entries (the same file imported
    again merges nothing and is no error: exit 0, "nothing new")."""
    from almost.runs import RunDirLock

    from .scores import merge_seed_scores, run_images, run_log

    run = open_run(run_dir, "ddpo").path  # a folder an `almost run` wrote, or one sentence
    known = run_images(run)
    if not known:
        raise UserError(f"{run} has no generated images yet; run `almost run --plugin ddpo generate --out {run}` first")
    # the run's own lock: an `almost run` training on these labels (or another import) would
    # otherwise see them change under it; a busy run gives one sentence naming its holder
    with RunDirLock(run):
        report = merge_seed_scores(run_log(run), scores_json, images, known, annotator)
        if report.merged:
            mark_labels_changed(run, f"{report.merged} rating(s) imported")
    for line in report.bad:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    if not report.merged and not report.bad:  # the same file imported again: nothing to do
        console.print(f"nothing new in {scores_json}: every image already has that score in {run}",
                      markup=False, highlight=False, soft_wrap=True)
        return 0
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
