"""The scoring page in a real headless Chromium: keyboard scoring survives a reload, and the
saved ratings round-trip to the seed's scores.json. Only its user can drive it: another origin,
another Host, a missing token or malformed bodies change nothing (and never crash it)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almost.testing import (
    attacker_site,
    chromium_executable,
    free_port,
    launch_chromium,
    raw_request,
)
from almost_ddpo.scores import RatingLog, read_scores_json
from almost_ddpo.webapp import Server, make_app

CHROMIUM = chromium_executable()


@pytest.fixture
def images(tmp_path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(d / f"{i:05d}.png")
        (d / f"{i:05d}.json").write_text(json.dumps({"prompt": f"prompt {i}", "seed": i}))
    return d


TOKEN = "test-token-0123456789"


@pytest.fixture
def done() -> threading.Event:
    """Set when the page's "done" was accepted."""
    return threading.Event()


@pytest.fixture
def server(images, tmp_path, done):
    log = RatingLog(tmp_path / "ratings.jsonl")
    srv = Server(make_app(images, log, annotator="tester", done=done), "127.0.0.1", 0, token=TOKEN)
    url = srv.start()
    try:
        yield url, log
    finally:
        srv.stop()


def _api(url: str, path: str) -> str:
    """``http://127.0.0.1:PORT/?token=…`` + ``api/score`` → the endpoint's address (no token)."""
    return url.split("?", 1)[0] + path


def _post(url, body, token=TOKEN, raw: bytes | None = None, headers=None):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                         "X-Almost-Token": token, **(headers or {})})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _get(url, token=TOKEN):
    req = urllib.request.Request(url, headers={"X-Almost-Token": token})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_api_rejects_bad_ratings_and_binds_localhost(server):
    page, log = server
    assert page.startswith("http://127.0.0.1:") and page.endswith(f"/?token={TOKEN}")
    url = _api(page, "")
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
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, log = server
    with sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            page.goto(url)  # the link the terminal prints, token included
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


def test_score_stage_serves_until_done_and_writes_scores_json(images, tmp_path, monkeypatch):
    import time

    import attrs

    from almost.registry import Registry
    from almost.runs import Pipeline, RunContext
    from almost_ddpo.config import tiny
    from almost_ddpo.stages import score

    run_dir = tmp_path / "run"
    gen = run_dir / "round-001" / "generate"
    gen.mkdir(parents=True)
    shutil.copytree(images, gen / "images")
    port = free_port()
    cfg = tiny()
    cfg = attrs.evolve(cfg, score=attrs.evolve(cfg.score, mode="web", port=port, annotator="web-tester"))
    ctx = RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg,
                     run_dir=run_dir, profile="tiny", registry=Registry(), stage_name="score")
    monkeypatch.setattr("almost.web.localserver.new_token", lambda: TOKEN)
    t = threading.Thread(target=score.run, args=(ctx,))
    t.start()
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(urllib.request.Request(url + "api/images", headers={"X-Almost-Token": TOKEN}))
            break
        except OSError:
            time.sleep(0.05)
    assert _post(url + "api/done", {}, token="guess")[0] == 403
    assert _post(url + "api/score", {"image": "00002.png", "score": -4})[0] == 200
    assert _post(url + "api/done", {})[0] == 200
    t.join(timeout=30)
    assert not t.is_alive()
    out = run_dir / "round-001" / "score"
    assert json.loads((out / "scores.json").read_text()) == {"00002.png": -4}
    from almost_ddpo import scores as scores_mod

    store = scores_mod.run_log(run_dir) if hasattr(scores_mod, "run_log") else RatingLog(out / "ratings.jsonl")
    assert [r["annotator"] for r in store.records()] == ["web-tester"]  # the refused "done" left nothing


def test_foreign_host_and_missing_token_get_nothing(server, done):
    url, log = server
    tok = {"X-Almost-Token": TOKEN}
    for path in ("/api/images", "/scores.json", "/img/00000.png", "/", "/api/pair"):
        assert raw_request(url, "GET", path, headers=tok, host="attacker.example")[0] == 400, path
        assert raw_request(url, "GET", path, headers=tok, host=f"attacker.example:{url.split(':')[2][:5]}")[0] == 400
        assert raw_request(url, "GET", path)[0] == 403, path                       # no token
        assert raw_request(url, "GET", path, headers={"X-Almost-Token": "x"})[0] == 403
        assert raw_request(url, "GET", path, headers=tok)[0] == 200, path
    body = json.dumps({"image": "00000.png", "score": 5}).encode()
    assert raw_request(url, "POST", "/api/score", body, tok, host="attacker.example")[0] == 400
    assert raw_request(url, "POST", "/api/score", body)[0] == 403
    assert raw_request(url, "POST", "/api/score", body, {**tok, "Origin": "http://127.0.0.2:9911",
                                                          "Content-Type": "text/plain"})[0] == 403
    assert raw_request(url, "POST", "/api/done", b"{}", {**tok, "Origin": "http://evil.example"})[0] == 403
    assert log.records() == [] and not done.is_set()
    # the image link works with the token in the query, as the page's <img> tags send it
    assert raw_request(url, "GET", f"/img/00000.png?token={TOKEN}")[0] == 200


FUZZ_BODIES = [
    b"", b"not json", b"[1, 2]", b'"a string"', b"null", b"3", b"\xff\xfe", b"{" * 50_000, b"[" * 200_000,
    b'{"image": []}', b'{"image": {"a": 1}}', b'{"image": null, "score": 1}', b'{"image": 5, "score": 1}',
    b'{"image": "00000.png", "score": NaN}', b'{"image": "00000.png", "score": Infinity}',
    b'{"image": "00000.png", "score": -Infinity}', b'{"image": "00000.png", "score": 1e400}',
    b'{"image": "00000.png", "score": [3]}', b'{"image": "00000.png", "score": {"3": 3}}',
    b'{"image": "00000.png", "score": "3"}', b'{"image": "00000.png", "score": true}',
    b'{"image": "00000.png", "score": 2.5}', b'{"image": "00000.png", "score": 1' + b"0" * 5000 + b"}",
    b'{"image": "../../etc/passwd", "score": 1}', b'{"left": [], "right": {}, "winner": []}',
    b'{"left": "00000.png", "right": "00001.png", "winner": ["left"]}',
    b'{"left": "00000.png", "right": "00001.png", "winner": NaN}',
    b'{"00000.png": NaN}', b'{"00000.png": Infinity}', b'{"00000.png": [1]}', b'{"00000.png": {"a": 1}}',
    b'{"00000.png": 1e400}', b'{"00000.png": 99}', b'{"/abs/path.png": 1}',
    b'{"image": "' + b"x" * 200_000 + b'", "score": 1}',
]


@pytest.mark.parametrize("endpoint", ["/api/score", "/api/skip", "/api/pair", "/api/import"])
def test_fuzzed_bodies_get_4xx_and_change_nothing(server, endpoint, tmp_path):
    url, log = server
    tok = {"X-Almost-Token": TOKEN, "Content-Type": "application/json"}
    for body in FUZZ_BODIES:
        code, reply, _ = raw_request(url, "POST", endpoint, body, tok)
        assert 400 <= code < 500, (endpoint, body[:60], code, reply[:200])
        err = json.loads(reply)["error"]
        assert err and "Traceback" not in err and str(tmp_path) not in err, (endpoint, body[:60], err[:200])
    huge = b'{"image": "' + b"x" * (3 << 20) + b'"}'
    assert raw_request(url, "POST", endpoint, huge, tok)[0] == 413
    assert log.records() == [], "a malformed body was logged as a rating"
    # the server is alive and still takes a good rating
    assert _post(_api(url, "api/score"), {"image": "00001.png", "score": -3})[0] == 200
    assert log.scores() == {"00001.png": -3}


def test_reads_with_wrong_methods_and_odd_names_are_4xx(server):
    url, _ = server
    tok = {"X-Almost-Token": TOKEN}
    for method, path in [("GET", "/api/score"), ("PUT", "/api/import"), ("DELETE", "/api/done"),
                         ("GET", "/img/..%2F..%2Fetc%2Fpasswd"), ("GET", "/img/%00"), ("GET", "/api/nothing"),
                         ("POST", "/scores.json"), ("GET", "/img/" + "a" * 5000)]:
        code, body, _ = raw_request(url, method, path, b"{}" if method != "GET" else None, tok)
        assert 400 <= code < 500, (method, path, code)
    assert raw_request(url, "GET", "/api/images", headers=tok)[0] == 200


ATTACK = """
async (args) => {
  const [target, token] = args;
  const out = [];
  const hit = async (path, body) => {
    const url = target + path + (token ? "?token=" + token : "");
    try {
      await fetch(url, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
      out.push(path + " sent");
    } catch (e) { out.push(path + " failed"); }
  };
  await hit("api/score", JSON.stringify({image: "00000.png", score: 5}));
  await hit("api/import", JSON.stringify({"00000.png": 5, "00001.png": 5, "00002.png": 5, "00003.png": 5}));
  await hit("api/skip", JSON.stringify({image: "00003.png"}));
  await hit("api/pair", JSON.stringify({left: "00000.png", right: "00001.png", winner: "left"}));
  await hit("api/done", "{}");
  let read = "blocked";
  try { read = await (await fetch(target + "scores.json" + (token ? "?token=" + token : ""))).text(); } catch (e) {}
  out.push("read: " + read);
  return out;
}
"""


@pytest.mark.browser
def test_a_page_on_another_origin_cannot_rate_import_or_finish(server, done):
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, log = server
    target = _api(url, "")
    with attacker_site() as foreign, sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            page.goto(foreign)
            # without the token, and even with it (a leaked link): the Origin check refuses both
            for token in ("", TOKEN):
                sent = page.evaluate(ATTACK, [target, token])
                assert "api/score sent" in sent and "read: blocked" in sent, sent
            assert log.records() == [], "a foreign page changed the ratings"
            assert not done.is_set(), "a foreign page finished the scoring"
            # the same script from the page itself (the control): it does rate, import and finish
            own = browser.new_page()
            own.goto(url)
            own.wait_for_selector(".card")
            own.evaluate(ATTACK, [target, TOKEN])
        finally:
            browser.close()
    assert log.scores() == {f"{i:05d}.png": 5 for i in range(4)} and done.is_set()


def test_done_and_reads_refuse_huge_bodies_and_keep_serving(server, done):
    url, log = server
    tok = {"X-Almost-Token": TOKEN, "Content-Type": "application/json"}
    huge = b"[" + b"0," * (2 << 20) + b"0]"
    for method, path in [("POST", "/api/done"), ("GET", "/api/images"), ("GET", "/scores.json")]:
        assert raw_request(url, method, path, huge, tok)[0] == 413, path
    assert not done.is_set()
    assert raw_request(url, "GET", "/api/images", headers=tok)[0] == 200
