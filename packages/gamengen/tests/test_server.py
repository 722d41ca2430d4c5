"""The play server (:mod:`almost_gamengen.play.server`): only its user can drive it, bad input never
closes the socket, options are per connection and bounded, held keys combine, and it plays in
real Chromium."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

from almost.testing import attacker_site, chromium_executable, launch_chromium, raw_request
from almost_gamengen.play.server import (
    MAX_MESSAGE,
    Player,
    PlayServer,
    ServerThread,
    combine,
    make_app,
)
from almost_gamengen.play.session import EnvSession

CHROMIUM = chromium_executable()


TOKEN = "play-test-token-42"


def _gridchase_sessions():
    from almost.testing import load_app

    env = load_app().registry.create("env/gridchase", cell=6)
    return {"game": EnvSession("game", env)}


class OptionsEnv(gym.Env):
    """A world-model-like game: options (steps, noise_level), combined actions, a log of steps.

    Each frame's red channel is the step count, green the action index, blue the ``steps``
    option it was made with, so a test can read back what produced it.
    """

    action_names = ["NOOP", "MOVE_FORWARD", "TURN_LEFT", "TURN_RIGHT", "ATTACK",
                    "MOVE_FORWARD+ATTACK", "MOVE_FORWARD+TURN_LEFT", "TURN_LEFT+ATTACK"]
    noop_action = 0

    def __init__(self):
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        self.observation_space = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
        self.model = SimpleNamespace(noise_max=0.7)
        self._opts = {"steps": 4, "noise_level": 0.0}
        self.log: list[tuple[int, int]] = []  # (action, steps) of every step
        self.t = 0

    def get_options(self):
        return dict(self._opts)

    def set_options(self, steps=None, noise_level=None):
        if steps is not None:
            self._opts["steps"] = int(steps)
        if noise_level is not None:
            self._opts["noise_level"] = float(noise_level)

    def _frame(self, action=0):
        f = np.zeros((8, 8, 3), np.uint8)
        f[..., 0], f[..., 1], f[..., 2] = self.t % 256, 30 * action, self._opts["steps"]
        return f

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        self.log.append((int(action), self._opts["steps"]))
        return self._frame(int(action)), 0.0, False, False, {}


async def _until(ws, kind: str, n: int = 1, timeout: float = 10) -> list[dict]:
    got = []
    while len(got) < n:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            got.append(msg)
    return got


def test_server_survives_bad_input_and_serves_only_its_page(tmp_path: Path):
    import websockets

    srv = PlayServer(make_app(_gridchase_sessions(), tmp_path / "play", max_fps=50), token=TOKEN)
    with srv as url:
        assert url == f"{srv.base_url}/?token={TOKEN}"
        assert raw_request(url, "GET", f"/?token={TOKEN}")[0] == 200
        assert raw_request(url, "GET", "/")[0] == 403
        for path in ("/../../etc/passwd", "/page.html", "/server.py", "/static/x"):
            assert raw_request(url, "GET", f"{path}?token={TOKEN}")[0] == 404

        async def session():
            async with websockets.connect(srv.ws_url()) as ws:
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello" and "NOOP" in hello["actions"]
                for bad in ("garbage{", "[1, 2]", json.dumps({"type": "action", "name": "FLY"}),
                            json.dumps({"type": "warp"}), json.dumps({"type": "mode", "mode": "dream"})):
                    await ws.send(bad)
                errors, frames = [], []
                while len(errors) < 5 or len(frames) < 3:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    (errors if msg["type"] == "error" else frames if msg["type"] == "frame" else []).append(msg)
                assert any("unknown action 'FLY'" in e["message"] for e in errors)
                assert any("not JSON" in e["message"] for e in errors)
                await ws.send(json.dumps({"type": "record", "on": True}))
                await _until(ws, "frame", 6)
                await ws.send(json.dumps({"type": "record", "on": False}))
                return (await _until(ws, "recorded"))[0]

        recorded = asyncio.run(session())
        assert recorded["path"].startswith("play/") and not Path(recorded["path"]).is_absolute()
        gif = tmp_path / recorded["path"]
        assert gif.stat().st_size > 0 and recorded["frames"] >= 3
        # the abrupt close above did not kill the server: a new client still gets frames
        asyncio.run(_one_frame(srv.ws_url()))


async def _one_frame(ws_url: str) -> None:
    import websockets

    async with websockets.connect(ws_url) as ws:
        await _until(ws, "frame")


def test_foreign_host_origin_or_token_cannot_open_the_socket(tmp_path: Path):
    import websockets

    srv = PlayServer(make_app(_gridchase_sessions(), tmp_path, max_fps=50), token=TOKEN)
    handshake = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    with srv as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        ws_path = f"/ws?token={TOKEN}"
        assert raw_request(url, "GET", ws_path, headers=handshake, host="attacker.example")[0] == 400
        assert raw_request(url, "GET", ws_path, headers=handshake, host=f"attacker.example:{port}")[0] == 400
        assert raw_request(url, "GET", ws_path, headers={**handshake, "Origin": "http://evil.example"})[0] == 403
        assert raw_request(url, "GET", ws_path, headers={**handshake, "Origin": "http://127.0.0.2:9911"})[0] == 403
        assert raw_request(url, "GET", "/ws", headers=handshake)[0] == 403
        assert raw_request(url, "GET", "/ws?token=guess", headers=handshake)[0] == 403
        assert raw_request(url, "GET", f"/?token={TOKEN}", host="attacker.example")[0] == 400

        async def denied(**kw) -> int:
            with pytest.raises(websockets.exceptions.InvalidStatus) as e:
                async with websockets.connect(srv.ws_url(), **kw):
                    pass
            return e.value.response.status_code

        assert asyncio.run(denied(origin="http://evil.example")) == 403
        # its own origin works
        asyncio.run(_one_frame_with_origin(srv.ws_url(), f"http://127.0.0.1:{port}"))


async def _one_frame_with_origin(ws_url: str, origin: str) -> None:
    import websockets

    async with websockets.connect(ws_url, origin=origin) as ws:
        await _until(ws, "frame")


# every message type, malformed in every way we could think of
FUZZ = [
    "", "garbage{", "[]", "null", "3", '"text"', "{}", '{"type": null}', '{"type": []}', '{"type": {"a": 1}}',
    '{"type": 5}', '{"type": "warp"}', '{"type": NaN}', '{"type": "action"}', '{"type": "action", "name": []}',
    '{"type": "action", "name": {"a": 1}}', '{"type": "action", "name": 3}', '{"type": "action", "name": NaN}',
    '{"type": "held"}', '{"type": "held", "actions": "MOVE_FORWARD"}', '{"type": "held", "actions": [[1]]}',
    '{"type": "held", "actions": [{"a": 1}]}', '{"type": "held", "actions": [NaN]}',
    '{"type": "held", "actions": ' + json.dumps(["ATTACK"] * 40) + "}",
    '{"type": "mode"}', '{"type": "mode", "mode": []}', '{"type": "mode", "mode": {"x": 1}}',
    '{"type": "mode", "mode": 1}', '{"type": "mode", "mode": "dream"}',
    '{"type": "options", "steps": Infinity}', '{"type": "options", "steps": -Infinity}',
    '{"type": "options", "steps": NaN}', '{"type": "options", "steps": 1e400}', '{"type": "options", "steps": 1000}',
    '{"type": "options", "steps": 0}', '{"type": "options", "steps": 51}', '{"type": "options", "steps": 2.5}',
    '{"type": "options", "steps": "4"}', '{"type": "options", "steps": [4]}', '{"type": "options", "steps": true}',
    '{"type": "options", "noise_level": -0.1}', '{"type": "options", "noise_level": 0.71}',
    '{"type": "options", "noise_level": {"a": 1}}', '{"type": "options", "warp": 9}',
    '{"type": "options", "steps": 1' + "0" * 5000 + "}",
    '{"type": "record"}', '{"type": "record", "on": "yes"}', '{"type": "record", "on": []}',
    '{"type": "record", "on": false}', '{"type": "reset", "x": ' + "[" * 20_000 + "]" * 20_000 + "}",
    '{"type": "action", "name": "' + "x" * (MAX_MESSAGE + 10) + '"}',
]


def test_every_message_type_fuzzed_gets_an_error_and_the_socket_lives(tmp_path: Path):
    import websockets

    env = OptionsEnv()
    srv = PlayServer(make_app({"model": EnvSession("model", env)}, tmp_path, max_fps=100), token=TOKEN)
    with srv:
        async def session():
            async with websockets.connect(srv.ws_url()) as ws:
                await _until(ws, "hello")
                for text in FUZZ:
                    await ws.send(text)
                    err = (await _until(ws, "error"))[0]["message"]
                    assert err and "Traceback" not in err and str(tmp_path) not in err, (text[:60], err)
                await ws.send(b"\x00\xff binary")
                assert (await _until(ws, "error"))[0]["message"]
                # still playing, and the options were never changed by the bad messages
                await ws.send(json.dumps({"type": "options", "steps": 7}))
                assert (await _until(ws, "options"))[0]["options"] == {"steps": 7, "noise_level": 0.0}
                frames = await _until(ws, "frame", 3)
                assert all(f["type"] == "frame" for f in frames)
                # a message too big even to read closes the socket (1009), not the server
                await ws.send("x" * (2 << 20))
                with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                    for _ in range(200):
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is None or closed.value.rcvd.code == 1009

        asyncio.run(session())
        asyncio.run(_one_frame(srv.ws_url()))
    assert all(steps in (4, 7) for _, steps in env.log), "a malformed option reached the game"


def test_options_are_per_connection_and_bounded(tmp_path: Path):
    """One client's options do not touch another's, and nothing lingers after it leaves."""
    import websockets

    env = OptionsEnv()
    srv = PlayServer(make_app({"model": EnvSession("model", env)}, tmp_path, max_fps=200), token=TOKEN)
    with srv:
        async def two_clients():
            async with websockets.connect(srv.ws_url()) as a, websockets.connect(srv.ws_url()) as b:
                hello_a, hello_b = (await _until(a, "hello"))[0], (await _until(b, "hello"))[0]
                assert hello_a["bounds"] == {"steps": [1, 50], "noise_level": [0.0, 0.7]}
                assert hello_b["options"] == {"steps": 4, "noise_level": 0.0}
                await a.send(json.dumps({"type": "options", "steps": 50, "noise_level": 0.7}))
                assert (await _until(a, "options"))[0]["options"] == {"steps": 50, "noise_level": 0.7}
                return await _until(a, "frame", 6), await _until(b, "frame", 6)

        fa, fb = asyncio.run(two_clients())

        def steps_of(frame_msg) -> int:
            import base64
            import io

            from PIL import Image

            png = base64.b64decode(frame_msg["image"].split(",", 1)[1])
            return int(np.asarray(Image.open(io.BytesIO(png)))[0, 0, 2])

        assert steps_of(fa[-1]) == 50 and steps_of(fb[-1]) == 4  # each frame made with its own options
        n = len(env.log)

        async def later_client():
            async with websockets.connect(srv.ws_url()) as c:
                hello = (await _until(c, "hello"))[0]
                await _until(c, "frame", 4)
                return hello

        assert asyncio.run(later_client())["options"] == {"steps": 4, "noise_level": 0.0}
        assert {s for _, s in env.log[n + 1:]} == {4}, "the first client's options outlived it"


def test_combine_picks_the_combined_action_of_held_keys():
    names = OptionsEnv.action_names
    assert combine([], names) is None
    assert combine(["MOVE_FORWARD"], names) == "MOVE_FORWARD"
    assert combine(["MOVE_FORWARD", "ATTACK"], names) == "MOVE_FORWARD+ATTACK"
    assert combine(["ATTACK", "MOVE_FORWARD"], names) == "MOVE_FORWARD+ATTACK"  # order of parts is free
    assert combine(["TURN_RIGHT", "ATTACK"], names) == "ATTACK"  # no such combination: the latest key
    # three held, two combinations fit: the one with the most recently pressed keys
    assert combine(["MOVE_FORWARD", "TURN_LEFT", "ATTACK"], names) == "TURN_LEFT+ATTACK"
    assert combine(["move_forward", "attack"], names) == "MOVE_FORWARD+ATTACK"
    assert combine(["UP", "FIRE"], ["NOOP", "UP", "FIRE"]) == "FIRE"


def test_player_held_message_plays_the_combination_and_fps_below_one(tmp_path: Path):
    player = Player({"model": EnvSession("model", OptionsEnv())}, tmp_path)
    assert player.handle(json.dumps({"type": "held", "actions": ["MOVE_FORWARD", "ATTACK"]})) is None
    player.next_frame()
    player.next_frame()
    assert player.frame_message(np.zeros((8, 8, 3), np.uint8))["action"] == "MOVE_FORWARD+ATTACK"
    player.handle(json.dumps({"type": "held", "actions": []}))
    assert player.action == 0
    now = time.perf_counter()
    player.times.clear()
    player.times.extend([now - 6.0, now - 4.0, now - 2.0, now])  # a frame every 2 s
    assert player.fps() == pytest.approx(0.5, rel=0.01)
    assert player.frame_message(np.zeros((8, 8, 3), np.uint8))["fps"] == pytest.approx(0.5, rel=0.01)


# -- in Chromium -------------------------------------------------------------------------------
def play_in_browser(url: str, tmp_path: Path, keys=("d", "d", "s", "s"), chords=()) -> dict:
    """Open the page in headless Chromium, press keys, return what the page showed.

    ``url`` is the page's address with its token; ``chords`` are key pairs held together,
    and the action the page showed while each was held is returned.
    """
    from playwright.sync_api import sync_playwright

    page_url = url if "?" in url else url + "/"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 640})
            page.goto(page_url)
            page.wait_for_function("document.getElementById('screen').src.startsWith('data:image/png')")
            first = page.eval_on_selector("#screen", "e => e.src")
            page.click("#screen")
            seen = {first}
            for k in keys:
                page.keyboard.down(k)
                page.wait_for_timeout(250)
                page.keyboard.up(k)
                seen.add(page.eval_on_selector("#screen", "e => e.src"))
            chord_actions = []
            for a, b in chords:
                page.keyboard.down(a)
                page.keyboard.down(b)
                want = "document.getElementById('action').textContent.includes('+')"
                try:
                    page.wait_for_function(want, timeout=5000)
                except Exception:  # noqa: BLE001 - report what was shown instead
                    pass
                chord_actions.append(page.text_content("#action"))
                page.keyboard.up(b)
                page.keyboard.up(a)
                # wait for a frame made after the release, so the next chord is not read stale
                page.wait_for_function("!document.getElementById('action').textContent.includes('+')",
                                       timeout=5000)
            page.wait_for_function("Number(document.getElementById('fps').textContent) > 0")
            fps = float(page.text_content("#fps"))
            shot = tmp_path / "play.png"
            page.screenshot(path=str(shot))
            keys_help = page.text_content("#keys")
        finally:
            browser.close()
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    return {"distinct_frames": len(seen), "fps": fps, "screenshot_std": float(img.std()), "keys_help": keys_help,
            "screenshot": shot, "chord_actions": chord_actions}


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_page_plays_the_game_with_the_keyboard(tmp_path: Path):
    with ServerThread(make_app(_gridchase_sessions(), tmp_path, max_fps=30)) as url:
        seen = play_in_browser(url, tmp_path)
    assert seen["distinct_frames"] >= 3, "frames did not change while keys were pressed"
    assert seen["fps"] > 0
    assert seen["screenshot_std"] > 5, "screenshot is blank"
    assert "MOVE_FORWARD" not in seen["keys_help"]  # gridchase has no such action: not offered


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_held_keys_play_the_combined_action_in_the_page(tmp_path: Path):
    sessions = {"model": EnvSession("model", OptionsEnv())}
    with PlayServer(make_app(sessions, tmp_path, max_fps=30)) as url:
        seen = play_in_browser(url, tmp_path, keys=("w",), chords=[("w", " "), ("a", " ")])
    assert seen["chord_actions"] == ["MOVE_FORWARD+ATTACK", "TURN_LEFT+ATTACK"]
    assert "MOVE_FORWARD+ATTACK" in seen["keys_help"]


OPEN_SOCKET = """
(url) => new Promise((done) => {
  const ws = new WebSocket(url);
  ws.onmessage = (e) => { ws.close(); done("message: " + JSON.parse(e.data).type); };
  ws.onerror = () => done("refused");
  setTimeout(() => done("timeout"), 8000);
})
"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_a_page_on_another_origin_cannot_open_the_play_socket(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    srv = PlayServer(make_app(_gridchase_sessions(), tmp_path, max_fps=30), token=TOKEN)
    with attacker_site() as site, srv as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            foreign = browser.new_page()
            foreign.goto(site)
            bare = srv.ws_url().split("?")[0]
            # without the token, and even with it (a leaked link): refused at the handshake
            assert foreign.evaluate(OPEN_SOCKET, bare) == "refused"
            assert foreign.evaluate(OPEN_SOCKET, srv.ws_url()) == "refused"
            # the control: the page itself opens the same socket
            own = browser.new_page()
            own.goto(url)
            assert own.evaluate(OPEN_SOCKET, srv.ws_url()) == "message: hello"
        finally:
            browser.close()
