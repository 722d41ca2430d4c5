"""The play server: one page, one WebSocket, frames streamed as the person plays.

Routes: ``GET /`` (the page, from this package) and ``/ws`` (the WebSocket). Nothing else is
served. Binds 127.0.0.1 by default.

Protocol (JSON text messages):

client → server
    ``{"type": "action", "name": "MOVE_FORWARD"}``   the action to repeat from now on
    ``{"type": "reset"}``                            restart from real frames
    ``{"type": "mode", "mode": "model" | "game"}``   switch world model / real game
    ``{"type": "options", "steps": 4, "noise_level": 0.1}``
    ``{"type": "record", "on": true | false}``       start / stop recording a GIF
server → client
    ``{"type": "hello", "actions", "modes", "mode", "options", "keys"}``
    ``{"type": "frame", "image": "data:image/png;base64,…", "step", "fps", "action", "mode"}``
    ``{"type": "error", "message"}``     (bad input never closes the connection)
    ``{"type": "recorded", "path", "frames"}``

A frame is generated, sent, and the next one started as soon as the client has it, capped at
``max_fps``; the reported ``fps`` is frames generated per second over the last second.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
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


PAGE = Path(__file__).with_name("page.html")
MAX_RECORD_FRAMES = 3000


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


class Player:
    """The state of one connection: mode, held action, recording."""

    def __init__(self, sessions: dict[str, Any], record_dir: Path) -> None:
        self.sessions = sessions
        self.mode = next(iter(sessions))
        self.action = self.session.noop_action
        self.recording: list[np.ndarray] | None = None
        self.record_dir = record_dir
        self.step = 0
        self.times: deque[float] = deque(maxlen=64)
        self.need_reset = True

    @property
    def session(self):
        return self.sessions[self.mode]

    def fps(self) -> float:
        now = time.perf_counter()
        recent = [t for t in self.times if now - t <= 1.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def hello(self) -> dict:
        return {"type": "hello", "actions": self.session.action_names, "modes": list(self.sessions),
                "mode": self.mode, "options": self.session.options(),
                "keys": key_bindings(self.session.action_names)}

    def handle(self, text: str) -> dict | None:
        """Apply one client message; returns a reply (or None). Never raises on bad input."""
        try:
            msg = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            return {"type": "error", "message": "message is not JSON"}
        if not isinstance(msg, dict):
            return {"type": "error", "message": "message must be a JSON object"}
        kind = msg.get("type")
        if kind == "action":
            name = msg.get("name")
            names = self.session.action_names
            if name not in names:
                return {"type": "error", "message": f"unknown action {name!r}; actions: {', '.join(names)}"}
            self.action = names.index(name)
            return None
        if kind == "reset":
            self.need_reset = True
            return None
        if kind == "mode":
            mode = msg.get("mode")
            if mode not in self.sessions:
                return {"type": "error", "message": f"unknown mode {mode!r}; modes: {', '.join(self.sessions)}"}
            self.mode = mode
            self.action = self.session.noop_action
            self.need_reset = True
            return self.hello()
        if kind == "options":
            opts = {k: msg[k] for k in ("steps", "noise_level") if k in msg}
            try:
                opts = self.session.set_options(**opts)
            except (TypeError, ValueError) as e:
                return {"type": "error", "message": f"bad options: {e}"}
            return {"type": "options", "options": opts}
        if kind == "record":
            if msg.get("on"):
                self.recording = []
                return {"type": "recording", "on": True}
            frames, self.recording = self.recording, None
            if not frames:
                return {"type": "error", "message": "nothing recorded"}
            path = self.record_dir / f"play-{time.strftime('%Y%m%d-%H%M%S')}-{id(self) % 10000}.gif"
            save_gif(frames, path, fps=max(self.fps(), 5.0))
            return {"type": "recorded", "path": str(path), "frames": len(frames)}
        return {"type": "error", "message": f"unknown message type {kind!r}"}

    def next_frame(self) -> np.ndarray:
        if self.need_reset:
            self.need_reset = False
            self.step = 0
            frame = self.session.reset()
        else:
            frame = self.session.step(self.action)
            self.step += 1
        self.times.append(time.perf_counter())
        if self.recording is not None and len(self.recording) < MAX_RECORD_FRAMES:
            self.recording.append(np.asarray(frame))
        return frame


def make_app(sessions: dict[str, Any], record_dir: str | Path, max_fps: float = 20.0):
    """The Starlette app. ``sessions`` maps a mode name to a session (see session.py)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    record_dir = Path(record_dir)
    lock = asyncio.Lock()  # sessions are shared: one frame is generated at a time

    async def index(request):
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def ws_endpoint(ws: WebSocket):
        await ws.accept()
        player = Player(sessions, record_dir)
        await ws.send_json(player.hello())
        inbox: asyncio.Queue[str | None] = asyncio.Queue()

        async def receive():
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        break
                    await inbox.put(msg.get("text") or "")
            except (WebSocketDisconnect, RuntimeError):
                pass
            await inbox.put(None)

        receiver = asyncio.create_task(receive())
        try:
            while True:
                t0 = time.perf_counter()
                while not inbox.empty():
                    text = inbox.get_nowait()
                    if text is None:
                        return
                    reply = await run_in_threadpool(player.handle, text)
                    if reply is not None:
                        await ws.send_json(reply)
                async with lock:
                    frame = await run_in_threadpool(player.next_frame)
                await ws.send_json({"type": "frame", "image": png_data_url(frame), "step": player.step,
                                    "fps": round(player.fps(), 2), "mode": player.mode,
                                    "action": player.session.action_names[player.action]})
                wait = 1.0 / max_fps - (time.perf_counter() - t0)
                try:
                    text = await asyncio.wait_for(inbox.get(), timeout=max(wait, 0.001))
                except TimeoutError:
                    continue
                if text is None:
                    return
                reply = await run_in_threadpool(player.handle, text)
                if reply is not None:
                    await ws.send_json(reply)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            return  # the client went away: nothing to clean but our task
        finally:
            receiver.cancel()

    return Starlette(routes=[Route("/", index), WebSocketRoute("/ws", ws_endpoint)])


def serve(sessions: dict[str, Any], record_dir: str | Path, host: str = "127.0.0.1", port: int = 8765,
          max_fps: float = 20.0) -> None:
    """Serve until Ctrl-C."""
    import uvicorn

    from almost.console import console

    app = make_app(sessions, record_dir, max_fps=max_fps)
    console.print(f"[bold]Play at http://{host}:{port}/[/]  (Ctrl-C to stop; GIFs go to {record_dir})")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        for s in sessions.values():
            s.close()


class ServerThread:
    """Run the app with uvicorn in a background thread (tests, notebooks).

    ``with ServerThread(app) as url: ...`` binds 127.0.0.1 on a free port.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = None
        self.url = ""

    def __enter__(self) -> str:
        import threading

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("play server did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
