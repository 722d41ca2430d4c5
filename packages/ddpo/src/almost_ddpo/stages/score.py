"""Stage ``score``: feedback on this round's images.

* ``score.mode=web`` (``full``): serves the scoring page on ``score.host`` (127.0.0.1) and waits
  until you press "done" (or Ctrl-C, which keeps every rating made). Ratings go to
  ``ratings.jsonl`` the moment they are made.
* ``score.mode=auto`` (``tiny``): a scripted rater follows the ``score.rater`` reward component
  and gives every unrated image a score on the seed's −5..+5 scale (by rank within the round).
* ``score.mode=import``: reads a seed-format ``scores.json`` (``score.import_file``).

In every mode the stage ends by writing ``scores.json`` (image file name → integer score).
"""

from __future__ import annotations

import threading

from almost.console import console
from almost.errors import UserError

from ..scores import RatingLog, import_scores, read_scores_json, write_scores_json


def run(ctx) -> None:
    cfg = ctx.config.score
    images_dir = ctx.find_stage_dir("generate") / "images"
    out = ctx.stage_dir()
    log = RatingLog(out / "ratings.jsonl")
    names = {p.name for p in images_dir.glob("*.png")}
    if not names:
        raise UserError(f"no images in {images_dir}; run the generate stage first")

    if cfg.import_file:
        scores = read_scores_json(cfg.import_file, names)
        console.print(f"imported {import_scores(log, scores, cfg.annotator)} scores from {cfg.import_file}")
    if cfg.mode == "auto":
        auto_rate(ctx, images_dir, log, sorted(names - log.rated()))
    elif cfg.mode == "web":
        serve(ctx, images_dir, log)
    elif cfg.mode == "import" and not cfg.import_file:
        raise UserError("score.mode=import needs score.import_file=/path/to/scores.json")

    scores = {k: v for k, v in log.scores().items() if k in names}
    write_scores_json(out / "scores.json", scores)
    ctx.add_artifact(out / "scores.json", "scores")
    ctx.log_metrics(images=len(names), scored=len(scores), pairs=len(log.pairs()))


def auto_rate(ctx, images_dir, log: RatingLog, todo: list[str]) -> None:
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
                    "annotator": f"auto:{rater.name}"})
    console.print(f"scripted rater ({rater.name}) scored {len(todo)} images")


def _prompt(images_dir, name: str) -> str:
    from almost.io import read_json

    side = (images_dir / name).with_suffix(".json")
    return read_json(side, "sidecar record").get("prompt", "") if side.is_file() else ""


def serve(ctx, images_dir, log: RatingLog) -> None:
    from ..webapp import Server, make_app

    cfg = ctx.config.score
    done = threading.Event()
    server = Server(make_app(images_dir, log, cfg.annotator, done), cfg.host, cfg.port)
    url = server.start()
    console.print(f"[bold]Score the images at {url}[/] — press 'done' on the page (or Ctrl-C) when finished")
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        console.print("stopped; every rating made so far is kept")
    finally:
        server.stop()
