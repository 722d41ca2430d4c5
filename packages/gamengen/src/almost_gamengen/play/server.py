"""The play server: one page, one WebSocket, frames streamed as the person plays.

Routes: ``GET /`` (the page, from this package) and ``/ws`` (the WebSocket). Nothing else is
served. It binds 127.0.0.1 by default and sits behind :class:`almost.web.localserver.Guard`: the
page and the socket handshake need the launch's token (``/?token=…``, printed by
``almost gamengen play``), a loopback Host, and the page's own Origin, so another web page
the user visits cannot open the socket.

Protocol (JSON text messages, parsed strictly: NaN and Infinity are refused):

client → server
    ``{"type": "held", "actions": ["MOVE_FORWARD", "ATTACK"]}``  the actions whose keys are
                                                     held, oldest first; the server plays the
                                                     combined action (``MOVE_FORWARD+ATTACK``)
                                                     where the game has it (see :func:`combine`)
    ``{"type": "action", "name": "MOVE_FORWARD"}``   one action to repeat from now on
    ``{"type": "reset"}``                            restart from real frames
    ``{"type": "mode", "mode": "model" | "game"}``   switch world model / real game
    ``{"type": "options", "steps": 4, "noise_level": 0.1}``   this connection's options, within
                                                     the bounds the hello message lists
    ``{"type": "record", "on": true | false}``       start / stop recording a GIF
server → client
    ``{"type": "hello", "actions", "modes", "mode", "options", "bounds", "keys"}``
    ``{"type": "frame", "image": "data:image/png;base64,…", "step", "fps", "action", "mode"}``
    ``{"type": "options", "options"}``
    ``{"type": "error", "message"}``     (bad input never closes the connection)
    ``{"type": "recorded", "path", "frames"}``   (``path`` relative to the run directory)

Each connection has its own held action, mode and options; the games themselves (one world
model, one real game) are shared, one frame generated at a time. A frame is generated, sent,
and the next one started as soon as the client has it, capped at ``max_fps``; ``fps`` is
frames per second over the last few seconds (values below 1 are shown as they are).
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

KEYS = {
    "w": ("MOVE_FORWARD", "UP"), "ArrowUp": ("MOVE_FORWARD", "UP"),
    "s": ("MOVE_BACKWARD", "DOWN"), "ArrowDown": ("MOVE_BACKWARD", "DOWN"),
    "a": ("TURN_LEFT", "LEFT"), "ArrowLeft": ("TURN_LEFT", "LEFT"),
    "d": ("TURN_RIGHT", "RIGHT"), "ArrowRight": ("TURN_RIGHT", "RIGHT"),
    "q": ("MOVE_LEFT",), "e": ("MOVE_RIGHT",),
    " ": ("ATTACK", "FIRE"),
}
"""Key → the actions it means, first match wins (ViZDoom names, then generic ones)."""

PAGE = Path(__file__).with_name("page.html")
MAX_RECORD_FRAMES = 3000
MAX_MESSAGE = 16 * 1024
"""Longest client message handled (characters); longer ones get an error reply."""
FPS_WINDOW_S = 10.0
TYPES = ("held", "action", "reset", "mode", "options", "record")


def key_bindings(action_names) -> dict[str, str]:
    """The keys that mean something in a game with these actions (names match in any case)."""
    by_upper = {str(n).upper(): n for n in action_names}
    out = {}
    for key, wanted in KEYS.items():
        for name in wanted:
            if name in by_upper:
                out[key] = by_upper[name]
                break
    return out


def combine(held: list[str], action_names: list[str]) -> str | None:
    """The action that the held keys mean: the one made of the most held actions.

    ``held`` lists the actions whose keys are down, oldest first. An action name made of
    ``+``-joined parts (``MOVE_FORWARD+ATTACK``) matches when all its parts are held; among
    the largest matches the one with the most recently pressed keys wins. None when nothing
    known is held.
    """
    rank = {str(h).upper(): i for i, h in enumerate(held)}
    best, best_key = None, None
    for name in action_names:
        parts = [p.strip().upper() for p in str(name).split("+")]
        if not all(p in rank for p in parts):
            continue
        key = (len(parts), sorted((rank[p] for p in parts), reverse=True))
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best


def png_data_url(frame: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def save_gif(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    from PIL import Image

    from almost.io import atomic_path

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    with atomic_path(path, suffix=".gif.tmp") as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, int(1000 / max(fps, 1))), loop=0)
    return path


class BadMessage(ValueError):
    """A client message that cannot be applied; its text goes back as an error message."""


def check_options(msg: dict, bounds: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """The options of an ``options`` message, checked against ``bounds`` (BadMessage if not)."""
    given = {k: v for k, v in msg.items() if k != "type"}
    if not bounds:
        raise BadMessage("this source has no options")
    unknown = sorted(str(k) for k in given if k not in bounds)
    if unknown:
        raise BadMessage(f"unknown option {unknown[0][:40]!r}; options: {', '.join(bounds)}")
    out: dict[str, Any] = {}
    for name, value in given.items():
        lo, hi = bounds[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadMessage(f"{name} must be a number from {lo} to {hi}")
        if name == "steps":
            if value != int(value):
                raise BadMessage(f"steps must be a whole number from {lo} to {hi}, not {value}")
            value = int(value)
        if not lo <= value <= hi:
            raise BadMessage(f"{name} must be from {lo} to {hi}, not {value}")
        out[name] = value
    return out


class Player:
    """The state of one connection: mode, held action, options, recording."""

    def __init__(self, sessions: dict[str, Any], record_dir: Path,
                 defaults: dict[str, dict] | None = None) -> None:
        self.sessions = sessions
        self.mode = next(iter(sessions))
        defaults = defaults or {m: s.options() for m, s in sessions.items()}
        self.options = {m: dict(defaults.get(m, {})) for m in sessions}  # this connection's own
        self.action = self.session.noop_action
        self.recording: list[np.ndarray] | None = None
        self.record_dir = Path(record_dir)
        self.step = 0
        self.times: deque[float] = deque(maxlen=64)
        self.need_reset = True

    @property
    def session(self):
        return self.sessions[self.mode]

    def fps(self) -> float:
        """Frames per second over the last few seconds (real values below 1 too)."""
        now = time.perf_counter()
        recent = [t for t in self.times if now - t <= FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def hello(self) -> dict:
        return {"type": "hello", "actions": self.session.action_names, "modes": list(self.sessions),
                "mode": self.mode, "options": self.options[self.mode], "bounds": self.session.option_bounds(),
                "keys": key_bindings(self.session.action_names)}

    def handle(self, text: Any) -> dict | None:
        """Apply one client message; returns a reply (or None). Never raises on bad input."""
        from almost.web.localserver import BadRequest, loads_strict

        if isinstance(text, str | bytes) and len(text) > MAX_MESSAGE:
            return {"type": "error", "message": f"message longer than {MAX_MESSAGE} characters"}
        try:
            msg = loads_strict(text)
        except BadRequest as e:
            return {"type": "error", "message": str(e).replace("the body", "message")}
        if not isinstance(msg, dict):
            return {"type": "error", "message": "message must be a JSON object"}
        try:
            return self._apply(msg)
        except BadMessage as e:
            return {"type": "error", "message": str(e)}

    def _apply(self, msg: dict) -> dict | None:
        kind = msg.get("type")
        if not isinstance(kind, str) or kind not in TYPES:
            shown = repr(kind)[:40] if kind is not None else "none"
            raise BadMessage(f"unknown message type {shown}; types: {', '.join(TYPES)}")
        names = self.session.action_names
        if kind == "held":
            held = msg.get("actions")
            if not isinstance(held, list) or len(held) > 32 or not all(isinstance(h, str) for h in held):
                raise BadMessage("held needs actions: a list of action names (at most 32)")
            chosen = combine(held, names)
            self.action = names.index(chosen) if chosen is not None else self.session.noop_action
            return None
        if kind == "action":
            name = msg.get("name")
            if not isinstance(name, str) or name not in names:
                raise BadMessage(f"unknown action {repr(name)[:60]}; actions: {', '.join(names)}")
            self.action = names.index(name)
            return None
        if kind == "reset":
            self.need_reset = True
            return None
        if kind == "mode":
            mode = msg.get("mode")
            if not isinstance(mode, str) or mode not in self.sessions:
                raise BadMessage(f"unknown mode {repr(mode)[:60]}; modes: {', '.join(self.sessions)}")
            self.mode = mode
            self.action = self.session.noop_action
            self.need_reset = True
            return self.hello()
        if kind == "options":
            self.options[self.mode] = {**self.options[self.mode],
                                       **check_options(msg, self.session.option_bounds())}
            return {"type": "options", "options": self.options[self.mode]}
        # record
        on = msg.get("on")
        if not isinstance(on, bool):
            raise BadMessage("record needs on: true or false")
        if on:
            self.recording = []
            return {"type": "recording", "on": True}
        frames, self.recording = self.recording, None
        if not frames:
            raise BadMessage("nothing recorded")
        name = f"play-{time.strftime('%Y%m%d-%H%M%S')}-{id(self) % 10000}.gif"
        save_gif(frames, self.record_dir / name, fps=max(self.fps(), 5.0))
        return {"type": "recorded", "path": f"{self.record_dir.name}/{name}", "frames": len(frames)}

    def next_frame(self) -> np.ndarray:
        """Generate this connection's next frame (call with the sessions' lock held)."""
        session = self.session
        if self.options[self.mode] and self.options[self.mode] != session.options():
            session.set_options(**self.options[self.mode])
        if self.need_reset:
            self.need_reset = False
            self.step = 0
            frame = session.reset()
        else:
            frame = session.step(self.action)
            self.step += 1
        self.times.append(time.perf_counter())
        if self.recording is not None and len(self.recording) < MAX_RECORD_FRAMES:
            self.recording.append(np.asarray(frame))
        return frame

    def frame_message(self, frame: np.ndarray) -> dict:
        return {"type": "frame", "image": png_data_url(frame), "step": self.step,
                "fps": float(f"{self.fps():.3g}"), "mode": self.mode,
                "action": self.session.action_names[self.action]}


def make_app(sessions: dict[str, Any], record_dir: str | Path, max_fps: float = 20.0):
    """The Starlette app (unguarded: serve it with :class:`PlayServer`, which adds the guard).

    ``sessions`` maps a mode name to a session (see session.py).
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    record_dir = Path(record_dir)
    lock = asyncio.Lock()  # sessions are shared: one frame is generated at a time
    defaults = {m: s.options() for m, s in sessions.items()}  # each connection starts from these

    async def index(request):
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def ws_endpoint(ws: WebSocket):
        await ws.accept()
        player = Player(sessions, record_dir, defaults)
        await ws.send_json(player.hello())
        inbox: asyncio.Queue[str | None] = asyncio.Queue()

        async def receive():
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        break
                    await inbox.put(msg["text"] if msg.get("text") is not None else msg.get("bytes") or b"")
            except (WebSocketDisconnect, RuntimeError):
                pass
            await inbox.put(None)

        async def reply_to(text) -> None:
            reply = await run_in_threadpool(player.handle, text)
            if reply is not None:
                await ws.send_json(reply)

        receiver = asyncio.create_task(receive())
        try:
            while True:
                t0 = time.perf_counter()
                while not inbox.empty():
                    text = inbox.get_nowait()
                    if text is None:
                        return
                    await reply_to(text)
                async with lock:
                    frame = await run_in_threadpool(player.next_frame)
                await ws.send_json(await run_in_threadpool(player.frame_message, frame))
                wait = 1.0 / max_fps - (time.perf_counter() - t0)
                try:
                    text = await asyncio.wait_for(inbox.get(), timeout=max(wait, 0.001))
                except TimeoutError:
                    continue
                if text is None:
                    return
                await reply_to(text)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            return  # the client went away: nothing to clean but our task
        finally:
            receiver.cancel()

    return Starlette(routes=[Route("/", index), WebSocketRoute("/ws", ws_endpoint)])


class PlayServer:
    """The play page behind the local-page guard, in a background thread (tests, notebooks).

    ``with PlayServer(app) as url: ...`` binds 127.0.0.1 on a free port; ``url`` is the page's
    address with its token (``http://127.0.0.1:PORT/?token=…``); ``.server`` has ``token``,
    ``base_url`` and ``page_url(path)``.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        from almost.web.localserver import LocalServer

        self.server = LocalServer(app, host, port, token=token, what="the play page")

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def ws_url(self) -> str:
        return self.server.page_url("/ws").replace("http://", "ws://", 1)

    def __enter__(self) -> str:
        return self.server.start()

    def __exit__(self, *exc) -> None:
        self.server.stop()


ServerThread = PlayServer
"""The former name of :class:`PlayServer`."""


def serve(sessions: dict[str, Any], record_dir: str | Path, host: str = "127.0.0.1", port: int = 8765,
          max_fps: float = 20.0) -> None:
    """Serve until Ctrl-C, printing the page's address with its token."""
    from almost.observe.console import console
    from almost.web.localserver import LocalServer

    server = LocalServer(make_app(sessions, record_dir, max_fps=max_fps), host, port, what="the play page")
    try:
        server.serve(on_start=lambda url: console.print(
            f"[bold]Play at {url}[/]  (Ctrl-C to stop; GIFs go to {record_dir})"))
    finally:
        for s in sessions.values():
            s.close()
