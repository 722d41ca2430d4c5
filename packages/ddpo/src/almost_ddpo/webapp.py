"""The scoring page: a small Starlette app served by uvicorn on 127.0.0.1.

Routes: ``/`` (the page), ``/api/images`` (names, prompts, current scores, counts),
``/img/NAME`` (an image), ``POST /api/score|skip|pair`` (one rating, appended to the log at
once), ``GET /api/pair`` (two images to compare), ``GET /scores.json`` (the seed's format),
``POST /api/import`` (a seed ``scores.json`` body), ``POST /api/done`` (stop serving).
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

from almost.errors import UserError
from almost.io import read_json

from .scores import RatingLog, import_scores, validate_score

PAGE = Path(__file__).with_name("static") / "score.html"


def load_items(images_dir: Path) -> list[dict]:
    items = []
    for png in sorted(images_dir.glob("*.png")):
        side = png.with_suffix(".json")
        meta = read_json(side, "sidecar record") if side.is_file() else {}
        items.append({"name": png.name, "prompt": meta.get("prompt", ""), "seed": meta.get("seed")})
    return items


def make_app(images_dir: str | Path, log: RatingLog, annotator: str = "me", done: threading.Event | None = None):
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    images_dir = Path(images_dir)
    items = load_items(images_dir)
    names = {it["name"] for it in items}
    done = done or threading.Event()
    rng = random.Random(0)

    def bad(msg: str, code: int = 400):
        return JSONResponse({"error": msg}, status_code=code)

    async def page(request):
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def list_images(request):
        scores = log.scores()
        rated = log.rated()
        out = [{**it, "score": scores.get(it["name"]), "rated": it["name"] in rated} for it in items]
        return JSONResponse({"images": out, "loaded": len(items), "scored": sum(n in names for n in scores), "annotator": annotator})

    async def image(request):
        name = request.path_params["name"]
        if name not in names:
            return bad(f"no image {name!r}", 404)
        return FileResponse(images_dir / name, media_type="image/png")

    async def _body(request):
        try:
            body = await request.json()
        except ValueError:
            raise UserError("request body is not JSON") from None
        if not isinstance(body, dict):
            raise UserError("request body must be a JSON object")
        return body

    async def score(request):
        try:
            body = await _body(request)
            name = body.get("image")
            if name not in names:
                raise UserError(f"no image {name!r} in this round")
            value = validate_score(name, body.get("score"))
        except UserError as e:
            return bad(str(e))
        rec = log.append({"kind": "score", "image": name, "score": value, "annotator": annotator})
        return JSONResponse(rec)

    async def skip(request):
        try:
            body = await _body(request)
        except UserError as e:
            return bad(str(e))
        if body.get("image") not in names:
            return bad(f"no image {body.get('image')!r} in this round")
        return JSONResponse(log.append({"kind": "skip", "image": body["image"], "annotator": annotator}))

    async def next_pair(request):
        if len(items) < 2:
            return bad("need at least two images for pairwise mode")
        done_pairs = {(a, b) for a, b, _ in log.pairs()}
        for _ in range(50):
            a, b = rng.sample(items, 2)
            if (a["name"], b["name"]) not in done_pairs:
                break
        return JSONResponse({"left": a, "right": b})

    async def pair(request):
        try:
            body = await _body(request)
        except UserError as e:
            return bad(str(e))
        left, right, winner = body.get("left"), body.get("right"), body.get("winner")
        if left not in names or right not in names or winner not in ("left", "right", "tie"):
            return bad("pair needs known left/right images and winner left, right or tie")
        return JSONResponse(log.append({"kind": "pair", "left": left, "right": right, "winner": winner,
                                        "annotator": annotator}))

    async def export(request):
        return JSONResponse({k: v for k, v in sorted(log.scores().items())})

    async def do_import(request):
        try:
            body = await _body(request)
            checked = {k: validate_score(k, v) for k, v in body.items()}
            unknown = sorted(set(checked) - names)
            if unknown:
                raise UserError(f"{len(unknown)} image(s) are not in this round: {', '.join(unknown[:5])}")
        except UserError as e:
            return bad(str(e))
        return JSONResponse({"imported": import_scores(log, checked, annotator)})

    async def finish(request):
        done.set()
        return JSONResponse({"done": True})

    app = Starlette(routes=[
        Route("/", page), Route("/api/images", list_images), Route("/img/{name}", image),
        Route("/api/score", score, methods=["POST"]), Route("/api/skip", skip, methods=["POST"]),
        Route("/api/pair", next_pair), Route("/api/pair", pair, methods=["POST"]),
        Route("/scores.json", export), Route("/api/import", do_import, methods=["POST"]),
        Route("/api/done", finish, methods=["POST"]),
    ])
    app.state.done = done
    return app


class Server:
    """uvicorn in a background thread; ``url`` once started, ``stop()`` to end it."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.host = host

    def start(self) -> str:
        import time

        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise UserError(f"the scoring page could not start on {self.host} (is the port in use?); "
                                "set score.port to a free port")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}/"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
