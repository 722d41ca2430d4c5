"""The play server: robust to bad clients, serves only its page, and plays in real Chromium."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from almost_gamengen.play.server import ServerThread, make_app
from almost_gamengen.play.session import EnvSession

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _gridchase_sessions():
    from almost.testing import load_app

    env = load_app().registry.create("env/gridchase", cell=6)
    return {"game": EnvSession("game", env)}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_server_survives_bad_input_and_serves_only_its_page(tmp_path: Path):
    import websockets

    app = make_app(_gridchase_sessions(), tmp_path, max_fps=50)
    with ServerThread(app) as url:
        status, body = _get(url + "/")
        assert status == 200 and "Almost · play" in body
        for path in ("/../../etc/passwd", "/page.html", "/server.py", "/static/x"):
            assert _get(url + path)[0] == 404

        async def session():
            ws_url = url.replace("http", "ws") + "/ws"
            async with websockets.connect(ws_url) as ws:
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
                for _ in range(6):
                    await ws.recv()
                await ws.send(json.dumps({"type": "record", "on": False}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if msg["type"] == "recorded":
                        return msg

        recorded = asyncio.run(session())
        gif = Path(recorded["path"])
        assert gif.parent == tmp_path and gif.stat().st_size > 0 and recorded["frames"] >= 3
        # the abrupt close above did not kill the server: a new client still gets frames
        asyncio.run(_one_frame(url))


async def _one_frame(url: str) -> None:
    import websockets

    async with websockets.connect(url.replace("http", "ws") + "/ws") as ws:
        for _ in range(5):
            if json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "frame":
                return
    raise AssertionError("no frame after reconnect")


def play_in_browser(url: str, tmp_path: Path, keys=("d", "d", "s", "s")) -> dict:
    """Open the page in headless Chromium, press keys, return what the page showed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 640})
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('screen').src.startsWith('data:image/png')")
            first = page.eval_on_selector("#screen", "e => e.src")
            page.click("#screen")
            seen = {first}
            for k in keys:
                page.keyboard.down(k)
                page.wait_for_timeout(250)
                page.keyboard.up(k)
                seen.add(page.eval_on_selector("#screen", "e => e.src"))
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
            "screenshot": shot}


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_page_plays_the_game_with_the_keyboard(tmp_path: Path):
    app = make_app(_gridchase_sessions(), tmp_path, max_fps=30)
    with ServerThread(app) as url:
        seen = play_in_browser(url, tmp_path)
    assert seen["distinct_frames"] >= 3, "frames did not change while keys were pressed"
    assert seen["fps"] > 0
    assert seen["screenshot_std"] > 5, "screenshot is blank"
    assert "MOVE_FORWARD" not in seen["keys_help"]  # gridchase has no such action: not offered
