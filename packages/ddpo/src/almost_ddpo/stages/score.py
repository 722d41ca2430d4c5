"""Stage ``score``: feedback on this round's images, added to the run's ratings store.

Ratings live in one append-only file per run, ``<run>/ratings.jsonl``, that every round adds to
(:mod:`almost_ddpo.scores`); this stage never moves or rewrites it, so re-running it (even with
``--force``) shows every earlier rating again.

* ``score.mode=web`` (``full``): serves the scoring page on ``score.host`` (127.0.0.1) with this
  round's images and their earlier ratings. The stage is done only when you press "done" on the
  page (or run with ``--set score.finish=true``); Ctrl-C stops the page, keeps every rating and
  leaves the stage unfinished, so the pipeline does not move on.
* ``score.mode=auto`` (``tiny``): a scripted rater follows the ``score.rater`` reward component
  and gives every unrated image a score on the seed's −5..+5 scale (by rank within the round).
* ``score.mode=import``: merges a seed-format ``scores.json`` (``score.import_file``) by image
  content; ``almost ddpo import`` does the same for any folder of the seed's images.

In every mode the stage ends by writing this round's ``scores.json`` (file name → score).
"""

from __future__ import annotations

import threading

from almost.errors import UserError
from almost.observe.console import console

from ..scores import RatingView, merge_seed_scores, migrate_round_logs, run_log, write_scores_json


def run(ctx) -> None:
    cfg = ctx.config.score
    images_dir = ctx.find_stage_dir("generate") / "images"
    out = ctx.stage_dir()
    if not any(images_dir.glob("*.png")):
        raise UserError(f"no images in {images_dir}; run the generate stage first")
    migrate_round_logs(ctx.run_dir)  # runs made before the run-wide store
    view = RatingView(run_log(ctx.run_dir), images_dir, ctx.run_dir)
    names = set(view.key_of)
    before = len(view.scores())
    if before:
        console.print(f"{before} of {len(names)} images of this round already scored (kept in {view.path})")

    if cfg.import_file:
        known = {k: view.file_of(n) for n, k in view.key_of.items()}
        report = merge_seed_scores(view.log, cfg.import_file, images_dir, known, cfg.annotator)
        for line in report.bad:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"{cfg.import_file}: {report.summary()}", markup=False, highlight=False, soft_wrap=True)
        if not report.merged and report.bad:
            raise UserError(f"nothing in {cfg.import_file} could be merged ({len(report.bad)} bad entries, listed above); "
                            "fix the file, or use `almost ddpo import FILE --images DIR --run RUN` for another folder")
    if cfg.mode == "auto":
        auto_rate(ctx, images_dir, view, sorted(names - view.rated()))
    elif cfg.mode == "web" and not cfg.finish:
        try:
            serve(images_dir, view, host=cfg.host, port=cfg.port, annotator=cfg.annotator)
        except KeyboardInterrupt:
            console.print(f"stopped: {len(view.scores())} of {len(names)} images scored, every rating kept in "
                          f"{view.path}; the score stage is not finished — re-run to continue, then press "
                          "'done' on the page (or pass --set score.finish=true)")
            raise
    elif cfg.mode == "import" and not cfg.import_file:
        raise UserError("score.mode=import needs score.import_file=/path/to/scores.json")

    scores = view.scores()
    write_scores_json(out / "scores.json", scores)
    ctx.add_artifact(out / "scores.json", "scores")
    ctx.add_artifact(view.path, "ratings (all rounds)")
    ctx.log_metrics(images=len(names), scored=len(scores), pairs=len(view.pairs()),
                    run_scored=len(view.log.scores()))


def auto_rate(ctx, images_dir, log, todo: list[str]) -> None:
    import numpy as np
    from PIL import Image

    from ..rewards import as_tensor

    if not todo:
        return
    rater = ctx.component(f"reward/{ctx.config.score.rater}", "reward")
    prompts = [_prompt(images_dir, n) for n in todo]
    images = as_tensor([np.asarray(Image.open(images_dir / n).convert("RGB")) for n in todo])
    rewards = np.asarray(rater(images, prompts), dtype=np.float64)
    ranks = rewards.argsort().argsort()
    scores = np.rint(ranks / max(1, len(todo) - 1) * 10 - 5).astype(int)
    for name, s, r in zip(todo, scores, rewards):
        log.append({"kind": "score", "image": name, "score": int(s), "reward": float(r),
                    "annotator": f"auto:{rater.name}", "source": "auto"})
    console.print(f"scripted rater ({rater.name}) scored {len(todo)} images")


def _prompt(images_dir, name: str) -> str:
    from almost.io import read_json

    side = (images_dir / name).with_suffix(".json")
    return read_json(side, "sidecar record", expect=dict).get("prompt", "") if side.is_file() else ""


def serve(images_dir, log, host: str = "127.0.0.1", port: int = 0, annotator: str = "me") -> None:
    """Serve the scoring page over ``images_dir`` until 'done' is pressed (Ctrl-C raises KeyboardInterrupt)."""
    from .. import webapp

    done = threading.Event()
    server = webapp.Server(webapp.make_app(images_dir, log, annotator, done), host, port)
    url = server.start()
    console.print(f"[bold]Score the images at {url}[/] — press 'done' on the page when finished "
                  "(Ctrl-C stops the page and keeps every rating, without finishing)")
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
