"""The scoring page: a small Starlette app served by uvicorn on 127.0.0.1, for its user only.

Every request needs the launch's token (``?token=`` or the ``X-Almost-Token`` header), the
right Host and, where it names one, the page's own Origin: see :mod:`almost.web.localserver`.

Routes: ``/`` (the page), ``/api/images`` (names, prompts, current scores, counts),
``/img/NAME`` (an image), ``POST /api/score|skip|pair`` (one rating, appended to the log at
once), ``GET /api/pair`` (two images of the same prompt to compare, with the vote count),
``POST /api/undo`` (takes back the latest of this session's last :data:`UNDO_DEPTH` ratings by
appending an ``undo`` record, see :func:`almost_ddpo.scores.drop_undone`), ``GET /scores.json``
(the seed's format), ``POST /api/import`` (a seed ``scores.json`` body), ``POST /api/done``
(stop serving).

The page (``static/score.html``) builds every card once and touches only the cards a key press
changes, so a key costs the same with 500 images as with 5 (``benchmarks/bench_ddpo_page.py``).
"""

from __future__ import annotations

import collections
import random
import threading
from pathlib import Path

from almost.errors import UserError
from almost.io import read_json
from almost.web.localserver import BadRequest, LocalServer, json_object

from .scores import RatingLog, import_scores, validate_score

PAGE = Path(__file__).with_name("static") / "score.html"
UNDO_DEPTH = 100  # ratings of this session that "undo" can take back, newest first


def load_items(images_dir: Path) -> list[dict]:
    items = []
    for png in sorted(images_dir.glob("*.png")):
        side = png.with_suffix(".json")
        meta = read_json(side, "sidecar record", expect=dict) if side.is_file() else {}
        items.append({"name": png.name, "prompt": meta.get("prompt", ""), "seed": meta.get("seed")})
    return items


def make_app(images_dir: str | Path, log: RatingLog, annotator: str = "me", done: threading.Event | None = None):
    """The page's routes (unguarded: serve it through :class:`Server`, which adds the guard)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    images_dir = Path(images_dir)
    items = load_items(images_dir)
    names = {it["name"] for it in items}
    done = done or threading.Event()
    rng = random.Random(0)
    by_prompt: dict[str, list[dict]] = collections.defaultdict(list)
    for it in items:
        by_prompt[it["prompt"]].append(it)
    groups = [g for g in by_prompt.values() if len(g) >= 2]  # pairwise compares images of one prompt
    actions: collections.deque = collections.deque(maxlen=UNDO_DEPTH)  # (record as sent, its time)
    lock = threading.Lock()

    def rate(record: dict) -> dict:
        with lock:
            stored = log.append(record)
            actions.append((record, stored["time"]))
        return stored

    def votes() -> int:
        return len(log.pairs())

    def bad(msg: str, code: int = 400):
        return JSONResponse({"error": msg}, status_code=code)

    def known(value, what: str = "image") -> str:
        """A file name of this round, or BadRequest (wrong types and unknown names alike)."""
        if not isinstance(value, str):
            raise BadRequest(f"{what} must be an image file name (a string), not {type(value).__name__}")
        if value not in names:
            raise BadRequest(f"no image {value[:100]!r} in this round")
        return value

    def only(body: dict, *fields: str) -> dict:
        """The body, if it has exactly these fields (a stray one is a client bug: say so)."""
        extra = sorted(k for k in body if k not in fields)
        if extra:
            raise BadRequest(f"unknown field {extra[0][:40]!r}; this request takes {', '.join(fields)}")
        return body

    def checked(handler):
        """Malformed input becomes a 400 with one sentence, never a 500."""
        async def endpoint(request):
            try:
                return await handler(request)
            except (BadRequest, UserError) as e:
                return bad(str(e))
        return endpoint

    async def page(request):
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def list_images(request):
        scores = log.scores()
        rated = log.rated()
        out = [{**it, "score": scores.get(it["name"]), "rated": it["name"] in rated} for it in items]
        return JSONResponse({"images": out, "loaded": len(items), "scored": sum(n in names for n in scores),
                             "votes": votes(), "undo": len(actions), "annotator": annotator})

    async def image(request):
        name = request.path_params["name"]
        if name not in names:
            return bad(f"no image {name[:100]!r}", 404)
        return FileResponse(images_dir / name, media_type="image/png")

    async def score(request):
        body = only(await json_object(request), "image", "score")
        name = known(body.get("image"))
        value = validate_score(name, body.get("score"))
        return JSONResponse(rate({"kind": "score", "image": name, "score": value, "annotator": annotator}))

    async def skip(request):
        body = only(await json_object(request), "image")
        name = known(body.get("image"))
        return JSONResponse(rate({"kind": "skip", "image": name, "annotator": annotator}))

    async def next_pair(request):
        if len(items) < 2:
            return bad("need at least two images for pairwise mode")
        # two images of one prompt (a vote between prompts says little about either picture);
        # only when no prompt has two images does the page pair across prompts, and says so
        pool = groups or [items]
        voted = log.pairs()
        done_pairs = {frozenset((a, b)) for a, b, _ in voted}
        for _ in range(200):
            a, b = rng.sample(rng.choice(pool), 2)
            if frozenset((a["name"], b["name"])) not in done_pairs:
                break
        return JSONResponse({"left": a, "right": b, "prompt": a["prompt"], "same_prompt": bool(groups),
                             "votes": len(voted)})

    async def pair(request):
        body = only(await json_object(request), "left", "right", "winner")
        left, right, winner = known(body.get("left"), "left"), known(body.get("right"), "right"), body.get("winner")
        if not isinstance(winner, str) or winner not in ("left", "right", "tie"):
            raise BadRequest("winner must be left, right or tie")
        stored = rate({"kind": "pair", "left": left, "right": right, "winner": winner, "annotator": annotator})
        return JSONResponse({**stored, "votes": votes()})

    async def undo(request):
        only(await json_object(request))
        with lock:
            if not actions:
                raise BadRequest(f"nothing to undo (the page keeps this session's last {UNDO_DEPTH} ratings)")
            record, when = actions.pop()
            target = {k: record[k] for k in ("image", "left", "right") if k in record}
            log.append({"kind": "undo", "undoes": record["kind"], "undoes_time": when, **target,
                        "annotator": annotator})
        out = {"undone": {**record, "time": when}, "votes": votes(), "undo": len(actions)}
        if "image" in record:
            name = record["image"]
            out.update(image=name, score=log.scores().get(name), rated=name in log.rated())
        return JSONResponse(out)

    async def export(request):
        return JSONResponse({k: v for k, v in sorted(log.scores().items())})

    async def do_import(request):
        body = await json_object(request)
        values = {k: validate_score(k, v) for k, v in body.items()}
        unknown = sorted(set(values) - names)
        if unknown:
            shown = ", ".join(n[:100] for n in unknown[:5])
            raise BadRequest(f"{len(unknown)} image(s) are not in this round: {shown}")
        return JSONResponse({"imported": import_scores(log, values, annotator)})

    async def finish(request):
        done.set()
        return JSONResponse({"done": True})

    app = Starlette(routes=[
        Route("/", page), Route("/api/images", list_images), Route("/img/{name}", image),
        Route("/api/score", checked(score), methods=["POST"]), Route("/api/skip", checked(skip), methods=["POST"]),
        Route("/api/pair", next_pair), Route("/api/pair", checked(pair), methods=["POST"]),
        Route("/scores.json", export), Route("/api/import", checked(do_import), methods=["POST"]),
        Route("/api/undo", checked(undo), methods=["POST"]), Route("/api/done", finish, methods=["POST"]),
    ])
    app.state.done = done
    return app


class Server(LocalServer):
    """The scoring page behind the local-page guard (Host, token, Origin, body size), in a thread.

    ``start()`` returns the page's URL with its token (``http://127.0.0.1:8765/?token=…``);
    ``stop()`` ends it.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        super().__init__(app, host, port, token=token, what="the scoring page")
