"""The scoring page in a real headless Chromium: keyboard scoring survives a reload, and the
saved ratings round-trip to the seed's scores.json."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almost_ddpo.scores import RatingLog, read_scores_json
from almost_ddpo.webapp import Server, make_app

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def images(tmp_path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(d / f"{i:05d}.png")
        (d / f"{i:05d}.json").write_text(json.dumps({"prompt": f"prompt {i}", "seed": i}))
    return d


@pytest.fixture
def server(images, tmp_path):
    log = RatingLog(tmp_path / "ratings.jsonl")
    srv = Server(make_app(images, log, annotator="tester"), "127.0.0.1", 0)
    url = srv.start()
    try:
        yield url, log
    finally:
        srv.stop()


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_api_rejects_bad_ratings_and_binds_localhost(server):
    url, log = server
    assert url.startswith("http://127.0.0.1:")
    assert _post(url + "api/score", {"image": "00000.png", "score": 9})[0] == 400
    assert _post(url + "api/score", {"image": "nope.png", "score": 1})[0] == 400
    code, body = _post(url + "api/import", {"00001.png": 2, "ghost.png": 1})
    assert code == 400 and "ghost.png" in body["error"]
    assert log.records() == []
    assert _post(url + "api/pair", {"left": "00000.png", "right": "00001.png", "winner": "tie"})[0] == 200
    assert log.pairs() == [("00000.png", "00001.png", "tie")]


@pytest.mark.browser
@pytest.mark.slow
def test_keyboard_scores_survive_reload_and_export(server, tmp_path):
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, log = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector(".card")
            assert page.inner_text("#counts") == "4 loaded / 0 scored"
            page.keyboard.press("Digit3")                 # image 0 → +3
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowDown")              # image 1 → -1
            page.keyboard.press("ArrowDown")              # image 1 → -2
            page.keyboard.press("ArrowRight")
            page.keyboard.press("Shift+Digit5")           # image 2 → -5
            page.keyboard.press("ArrowRight")
            page.keyboard.press("s")                      # image 3 skipped
            page.wait_for_function("document.querySelector('#counts').textContent === '4 loaded / 3 scored'")
            page.wait_for_function("document.querySelector('#saved').textContent === 'all saved'")
            page.reload()
            page.wait_for_selector(".card")
            assert page.inner_text("#counts") == "4 loaded / 3 scored"
            shown = page.eval_on_selector_all(".card .score", "els => els.map(e => e.textContent)")
            assert shown == ["+3", "-2", "-5", "·"]
            page.check("#unscored")                       # only-unscored filter hides rated images
            assert page.eval_on_selector_all(".card", "els => els.length") == 0
            page.uncheck("#unscored")
            page.keyboard.press("Enter")                  # lightbox
            assert page.is_visible("#lightbox img")
            page.keyboard.press("Escape")
            page.click("#mode")                           # pairwise mode: left / right / tie
            page.wait_for_function("document.querySelector('#left').src.includes('/img/')")
            page.keyboard.press("ArrowLeft")
            page.wait_for_function("document.querySelector('#left').src !== ''")
            exported = json.loads(page.evaluate("fetch('/scores.json').then(r => r.text())"))
        finally:
            browser.close()
    assert exported == {"00000.png": 3, "00001.png": -2, "00002.png": -5}
    p = tmp_path / "scores.json"
    p.write_text(json.dumps(exported))
    assert read_scores_json(p, {f"{i:05d}.png" for i in range(4)}) == exported
    assert len(log.pairs()) >= 1 and all(r["annotator"] == "tester" for r in log.records())


def test_score_stage_serves_until_done_and_writes_scores_json(images, tmp_path):
    import socket
    import threading
    import time

    import attrs

    from almost.pipeline import Pipeline, RunContext
    from almost.registry import Registry
    from almost_ddpo.config import tiny
    from almost_ddpo.stages import score

    run_dir = tmp_path / "run"
    gen = run_dir / "round-001" / "generate"
    gen.mkdir(parents=True)
    shutil.copytree(images, gen / "images")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tiny()
    cfg = attrs.evolve(cfg, score=attrs.evolve(cfg.score, mode="web", port=port, annotator="web-tester"))
    ctx = RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg,
                     run_dir=run_dir, profile="tiny", registry=Registry(), stage_name="score")
    t = threading.Thread(target=score.run, args=(ctx,))
    t.start()
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "api/images")
            break
        except OSError:
            time.sleep(0.05)
    assert _post(url + "api/score", {"image": "00002.png", "score": -4})[0] == 200
    assert _post(url + "api/done", {})[0] == 200
    t.join(timeout=30)
    assert not t.is_alive()
    out = run_dir / "round-001" / "score"
    assert json.loads((out / "scores.json").read_text()) == {"00002.png": -4}
    assert RatingLog(out / "ratings.jsonl").records()[0]["annotator"] == "web-tester"
