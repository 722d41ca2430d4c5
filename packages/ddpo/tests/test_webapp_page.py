"""The scoring page with hundreds of images, in a real headless Chromium (500 generated 64 px PNGs):
a key press touches one card, the selection stays on screen, the lightbox follows the scores,
undo takes ratings back in the page and in the ratings log, 👍/👎 and the scale score by mouse or
touch, and pairwise mode compares two images of one prompt with a vote count."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almost.testing import chromium_executable, launch_chromium
from almost_ddpo.scores import RatingLog, RatingView
from almost_ddpo.webapp import UNDO_DEPTH, Server, make_app

CHROMIUM = chromium_executable()
N_IMAGES, N_PROMPTS = 500, 50
TOKEN = "page-test-token-0123456789"


def prompt_of(i: int) -> str:
    return f"prompt {i % N_PROMPTS}"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("page") / "images"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(d / f"{i:05d}.png")
        (d / f"{i:05d}.json").write_text(json.dumps({"prompt": prompt_of(i), "seed": i}))
    return d


@pytest.fixture
def served(images, tmp_path):
    """(page url, the ratings view the page writes through, the "done" event)."""
    import threading

    view = RatingView(RatingLog(tmp_path / "ratings.jsonl"), images, tmp_path)
    done = threading.Event()
    srv = Server(make_app(images, view, annotator="tester", done=done), "127.0.0.1", 0, token=TOKEN)
    url = srv.start()
    try:
        yield url, view, done
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = launch_chromium(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, served):
    url, view, done = served
    pg = browser.new_page(viewport={"width": 1200, "height": 800}, has_touch=True)
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    pg.goto(url)
    pg.wait_for_function(f"document.querySelectorAll('.card').length === {N_IMAGES}")
    try:
        yield pg
    finally:
        pg.close()
    assert errors == [], errors


def saved(pg) -> None:
    pg.wait_for_function("document.querySelector('#saved').textContent === 'all saved'")


def votes(pg, n: int) -> None:
    """Wait until the pairwise vote counter reads n."""
    text = f"{n} vote" + ("" if n == 1 else "s")
    pg.wait_for_function(f"document.querySelector('#votes').textContent === '{text}'")


def card_score(pg, i: int) -> str:
    return pg.eval_on_selector(f'.card[data-i="{i}"] .score', "e => e.textContent")


def selected(pg) -> int:
    return int(pg.eval_on_selector(".card.sel", "e => e.dataset.i"))


WATCH = """() => {
  window.touched = new Set();
  window.watcher = new MutationObserver(ms => ms.forEach(m => {
    const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    const card = el && el.closest('.card');
    window.touched.add(card ? card.dataset.i : 'grid');
  }));
  window.watcher.observe(document.querySelector('#grid'),
                         {subtree: true, childList: true, attributes: true, characterData: true});
}"""
TOUCHED = "() => new Promise(r => setTimeout(() => r([...window.touched].sort()), 50))"


def name(i: int) -> str:
    return f"{i:05d}.png"


@pytest.mark.browser
@pytest.mark.slow
def test_a_key_press_changes_one_card_and_thumbnails_are_smooth(page, served):
    _, view, _ = served
    assert page.inner_text("#counts") == f"{N_IMAGES} loaded / 0 scored"
    page.evaluate(WATCH)
    page.keyboard.press("Digit3")
    saved(page)
    assert page.evaluate(TOUCHED) == ["0"]                 # the scored card, nothing else in the grid
    assert card_score(page, 0) == "+3" and page.inner_text("#counts") == f"{N_IMAGES} loaded / 1 scored"
    page.evaluate("window.touched.clear()")
    page.keyboard.press("ArrowRight")                      # selection moves: the old and the new card
    assert page.evaluate(TOUCHED) == ["0", "1"]
    page.evaluate("window.touched.clear()")
    page.keyboard.press("ArrowUp")
    saved(page)
    assert page.evaluate(TOUCHED) == ["1"] and card_score(page, 1) == "+1"
    assert view.scores() == {name(0): 3, name(1): 1}
    assert len(page.evaluate("window.almostKeyTimes")) == 3
    assert page.eval_on_selector(".card img", "e => getComputedStyle(e).imageRendering") == "auto"  # not pixelated


@pytest.mark.browser
@pytest.mark.slow
def test_the_selection_stays_in_view_after_moving_100_cards(page):
    for _ in range(100):
        page.keyboard.press("ArrowRight")
    assert selected(page) == 100
    box = page.evaluate("""() => {
      const r = document.querySelector('.card.sel').getBoundingClientRect();
      return {top: r.top, bottom: r.bottom, head: document.querySelector('header').getBoundingClientRect().bottom,
              bar: document.querySelector('#bar').getBoundingClientRect().top, y: scrollY};
    }""")
    assert box["y"] > 0, box                               # the page scrolled
    assert box["top"] >= box["head"] and box["bottom"] <= box["bar"], box  # not under the header or the bar
    page.keyboard.press("Home")
    assert selected(page) == 0 and page.evaluate("scrollY") < box["y"]


@pytest.mark.browser
@pytest.mark.slow
def test_the_lightbox_caption_follows_scoring_and_moving(page):
    page.keyboard.press("Enter")
    assert page.is_visible("#lightbox img")
    cap = page.inner_text("#bigcap")
    assert prompt_of(0) in cap and "unscored" in cap and "1/500" in cap
    page.keyboard.press("Digit4")
    assert "+4" in page.inner_text("#bigcap")
    page.keyboard.press("ArrowRight")
    cap = page.inner_text("#bigcap")
    assert prompt_of(1) in cap and "unscored" in cap and "2/500" in cap
    assert page.get_attribute("#big", "src").startswith("/img/00001.png")
    page.keyboard.press("ArrowDown")
    assert "-1" in page.inner_text("#bigcap")
    page.click("#bar [data-v='5']")                       # the scale stays above the lightbox
    assert "+5" in page.inner_text("#bigcap") and card_score(page, 1) == "+5"
    page.keyboard.press("Escape")
    assert not page.is_visible("#lightbox")


@pytest.mark.browser
@pytest.mark.slow
def test_undo_restores_the_previous_score_in_the_page_and_the_log(page, served):
    _, view, _ = served
    page.keyboard.press("Digit2")
    page.keyboard.press("Digit5")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("s")                               # skip image 1
    saved(page)
    assert view.scores() == {name(0): 5} and name(1) in view.rated()
    page.keyboard.press("z")                               # takes back the skip
    saved(page)
    assert name(1) not in view.rated() and selected(page) == 1
    page.keyboard.press("Control+z")                       # takes back the 5: the 2 is back
    saved(page)
    assert card_score(page, 0) == "+2" and view.scores() == {name(0): 2} and selected(page) == 0
    page.click("#undo")                                    # takes back the 2: unscored again
    saved(page)
    assert card_score(page, 0) == "·" and view.scores() == {}
    assert page.inner_text("#counts") == f"{N_IMAGES} loaded / 0 scored"
    raw = [json.loads(line) for line in view.path.read_text().splitlines()]
    assert [r["kind"] for r in raw] == ["score", "score", "skip", "undo", "undo", "undo"]  # every step is kept
    assert [r["undoes"] for r in raw[3:]] == ["skip", "score", "score"]
    assert raw[4]["undoes_time"] == raw[1]["time"] and raw[4]["image"] == raw[1]["image"]
    assert view.records() == []                            # as read back: nothing stands


@pytest.mark.browser
@pytest.mark.slow
def test_thumbs_and_the_scale_score_by_mouse_and_done_finishes(page, served):
    _, view, done = served
    page.click('.card[data-i="7"] button[data-d="1"]')
    page.click('.card[data-i="7"] button[data-d="1"]')
    assert card_score(page, 7) == "+2" and selected(page) == 7
    page.click('.card[data-i="8"] button[data-d="-1"]')
    assert card_score(page, 8) == "-1" and selected(page) == 8
    page.click("#bar [data-v='-4']")                       # the scale acts on the selected card
    assert card_score(page, 8) == "-4"
    page.tap('.card[data-i="9"] button[data-d="-1"]')     # a touch screen
    assert card_score(page, 9) == "-1" and selected(page) == 9
    saved(page)
    assert view.scores() == {name(7): 2, name(8): -4, name(9): -1}
    page.click('.card[data-i="8"] .prompt')                # a click on the card selects it
    assert "sel" in page.get_attribute('.card[data-i="8"]', "class")
    page.click('.card[data-i="8"] img')                    # a click on a picture zooms it
    assert page.is_visible("#lightbox") and "-4" in page.inner_text("#bigcap")
    page.click("#close")
    page.click("#done")
    page.wait_for_function("document.body.textContent.includes('scores saved')")
    assert done.is_set()


@pytest.mark.browser
@pytest.mark.slow
def test_pairwise_pairs_one_prompt_and_counts_votes(page, served):
    _, view, _ = served
    page.click("#mode")
    page.wait_for_function("document.querySelector('#left').src.includes('/img/')")

    def shown():
        left, right = page.inner_text("#lp"), page.inner_text("#rp")
        i, j = int(left[:5]), int(right[:5])
        assert i != j and prompt_of(i) == prompt_of(j) == page.inner_text("#pprompt"), (left, right)
        return left, right

    assert page.inner_text("#votes") == "0 votes" and page.inner_text("#pnote") == ""
    first = shown()
    page.keyboard.press("ArrowLeft")
    votes(page, 1)
    second = shown()
    page.click("#right")                                   # a click (or tap) on a picture votes for it
    votes(page, 2)
    shown()
    third = shown()
    page.click(".pairbtns [data-win='tie']")
    votes(page, 3)
    assert view.pairs() == [(*first, "left"), (*second, "right"), (*third, "tie")]
    page.keyboard.press("z")                               # undo the tie: that pair is shown again
    votes(page, 2)
    saved(page)
    assert shown() == third and view.pairs() == [(*first, "left"), (*second, "right")]
    page.keyboard.press("ArrowRight")
    votes(page, 3)
    saved(page)
    assert view.pairs()[-1] == (*third, "right")


def _post(url: str, path: str, body, **headers) -> tuple[int, dict]:
    req = urllib.request.Request(url.split("?", 1)[0] + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "X-Almost-Token": TOKEN, **headers})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_undo_api_takes_back_the_last_ratings_only_and_says_when_there_is_nothing(served):
    url, view, _ = served
    code, body = _post(url, "api/undo", {})
    assert code == 400 and "nothing to undo" in body["error"]
    assert _post(url, "api/undo", {"image": name(0)})[0] == 400      # takes no fields
    for raw in (b"", b"[1]", b"null", b"not json", b'{"undoes": "score"}', b"{" * 50_000):
        req = urllib.request.Request(url.split("?", 1)[0] + "api/undo", data=raw, headers={
            "Content-Type": "application/json", "X-Almost-Token": TOKEN})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 400 and "Traceback" not in e.value.read().decode()
    assert not view.path.exists() or view.path.read_text() == ""
    assert _post(url, "api/score", {"image": name(3), "score": 1})[0] == 200
    assert _post(url, "api/score", {"image": name(3), "score": -2})[0] == 200
    assert _post(url, "api/pair", {"left": name(0), "right": name(50), "winner": "left"})[1]["votes"] == 1
    assert _post(url, "api/undo", {}, Origin="http://evil.example")[0] == 403      # the guard covers undo
    assert _post(url, "api/undo", {}, **{"X-Almost-Token": "guess"})[0] == 403
    assert len(view.pairs()) == 1
    code, body = _post(url, "api/undo", {})
    assert code == 200 and body["undone"]["kind"] == "pair" and body["votes"] == 0
    code, body = _post(url, "api/undo", {})
    assert body["image"] == name(3) and body["score"] == 1 and body["rated"] is True
    assert view.scores() == {name(3): 1} and view.pairs() == []
    # the run's store (what `reward` reads) sees the same: content keys, undone records gone
    assert [r["score"] for r in view.log.records()] == [1]
    for _ in range(UNDO_DEPTH + 3):
        assert _post(url, "api/skip", {"image": name(4)})[0] == 200
    undone = 0
    while _post(url, "api/undo", {})[0] == 200:
        undone += 1
    assert undone == UNDO_DEPTH                            # only the last N actions
