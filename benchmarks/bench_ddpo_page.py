"""The ddpo scoring page's cost per key press with 500 images of 512 px, before and after issue 17.

    uv run python benchmarks/bench_ddpo_page.py [--images 500] [--presses 200] [--screenshot docs/score.png]

Writes ``--images`` 512×512 PNGs (a shape on a gradient, 50 prompts), serves them with the real
scoring page (``almost_ddpo.webapp``) and drives it in headless Chromium (``/usr/bin/chromium``).
Each press is a ``keydown`` dispatched on the document, alternately → (move the selection) and
↑ (change the score), timed with ``performance.now()``:

* **handler** — the key handler alone (what the page runs for the key);
* **+layout** — the handler plus the style and layout work it leaves behind (forced at once by
  reading ``offsetHeight``), i.e. what the next frame must still do before it can paint.

Medians over ``--presses`` presses, with one animation frame between presses. "before" is the
page as it was before issue 17 (read from git history: it rebuilt every card on every key);
"after" is today's page. The goal is < 16 ms per key (one frame at 60 Hz). The page's own
in-page timings of real (trusted) key presses are printed as a cross-check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE_FILE = "packages/ddpo/src/almost_ddpo/static/score.html"
BEFORE_COMMIT = "087dc36~1"  # the last commit with the page that rebuilt every card per key
CHROMIUM = "/usr/bin/chromium"
COLORS = ["red", "green", "blue", "yellow", "purple"]
SHAPES = ["circle", "square", "triangle", "ring", "bar"]
BACKS = ["light", "dark"]

PRESS = """async ([keys]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (const key of keys) {
    await frame();
    const ev = new KeyboardEvent('keydown', {key, code: key, bubbles: true, cancelable: true});
    const t0 = performance.now();
    document.dispatchEvent(ev);
    const t1 = performance.now();
    void document.body.offsetHeight;
    const t2 = performance.now();
    out.push([key, t1 - t0, t2 - t0]);
  }
  await frame();
  return out;
}"""


def make_images(folder: Path, n: int, size: int = 512) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    rgb = {"red": (220, 40, 40), "green": (40, 170, 70), "blue": (40, 90, 220), "yellow": (235, 200, 30),
           "purple": (140, 60, 190)}
    for i in range(n):
        p = i % (len(COLORS) * len(SHAPES) * len(BACKS))
        color, shape, back = COLORS[p % 5], SHAPES[p // 5 % 5], BACKS[p // 25]
        base = np.array([235, 232, 225] if back == "light" else [40, 44, 60], np.float32)
        tint = rng.uniform(-30, 30, 3).astype(np.float32)
        g = base + tint * ramp[:, None, None] + 20 * ramp[None, :, None]
        im = Image.fromarray(np.clip(g, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        r = int(rng.uniform(0.15, 0.32) * size)
        cx, cy = (int(v) for v in rng.uniform(r, size - r, 2))
        c = rgb[color]
        if shape == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
        elif shape == "square":
            d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=c)
        elif shape == "triangle":
            d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=c)
        elif shape == "ring":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=c, width=max(4, r // 4))
        else:
            d.rectangle([cx - r, cy - r // 4, cx + r, cy + r // 4], fill=c)
        im.save(folder / f"{i:05d}.png")
        prompt = f"a {color} {shape} on a {back} background"
        (folder / f"{i:05d}.json").write_text(json.dumps({"prompt": prompt, "seed": i}))


def before_page() -> str | None:
    try:
        return subprocess.run(["git", "show", f"{BEFORE_COMMIT}:{PAGE_FILE}"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def serve(images: Path, log_dir: Path, page_html: Path):
    import almost_ddpo.webapp as webapp
    from almost_ddpo.scores import RatingLog

    webapp.PAGE = page_html
    log = RatingLog(log_dir / "ratings.jsonl")
    return webapp.Server(webapp.make_app(images, log, done=threading.Event()), "127.0.0.1", 0), log


def open_page(browser, url: str, n: int):
    pg = browser.new_page(viewport={"width": 1280, "height": 800})
    pg.goto(url)
    pg.wait_for_function(f"document.querySelectorAll('.card').length === {n}", timeout=120_000)
    return pg


def measure(browser, images: Path, log_dir: Path, page_html: Path, n: int, presses: int):
    srv, log = serve(images, log_dir, page_html)
    url = srv.start()
    try:
        pg = open_page(browser, url, n)
        pg.wait_for_timeout(500)
        keys = ["ArrowRight", "ArrowUp"] * (presses // 2)
        rows = pg.evaluate(PRESS, [keys])
        pg.wait_for_function("document.querySelector('#saved').textContent === 'all saved'", timeout=120_000)
        in_page = None
        if pg.evaluate("Array.isArray(window.almostKeyTimes)"):
            pg.evaluate("window.almostKeyTimes.length = 0")
            for k in ["ArrowRight", "ArrowDown"] * (presses // 4):
                pg.keyboard.press(k)
            in_page = statistics.median(pg.evaluate("window.almostKeyTimes"))
        pg.close()
    finally:
        srv.stop()
    med = {kind: (statistics.median(r[1] for r in rows if r[0] == key),
                  statistics.median(r[2] for r in rows if r[0] == key)) for kind, key in
           (("move", "ArrowRight"), ("score", "ArrowUp"))}
    allh = sorted(r[2] for r in rows)
    return {"handler": statistics.median(r[1] for r in rows), "layout": statistics.median(allh),
            "p95": allh[int(0.95 * (len(allh) - 1))], "by": med, "in_page": in_page, "scored": len(log.scores())}


def take_screenshots(browser, images: Path, log_dir: Path, n: int, shot: Path) -> None:
    """The page as a user sees it mid-session (some cards scored, one skipped, one selected) in
    ``shot``, and pairwise mode after a few votes in ``<shot>-pairwise.png``."""
    srv, _ = serve(images, log_dir, ROOT / PAGE_FILE)
    url = srv.start()
    try:
        pg = open_page(browser, url, n)
        _screenshots(pg, shot)
        pg.close()
    finally:
        srv.stop()


def _screenshots(pg, shot: Path) -> None:
    for key in ["Digit4", "ArrowRight", "Shift+Digit2", "ArrowRight", "Digit5", "ArrowRight", "s", "Digit1",
                "ArrowRight", "Shift+Digit5", "ArrowRight", "Digit3", "ArrowRight", "ArrowRight", "Digit2",
                "ArrowRight"]:
        pg.keyboard.press(key)
    pg.wait_for_function("document.querySelector('#saved').textContent === 'all saved'")
    pg.evaluate("scrollTo(0, 0)")
    pg.wait_for_function("[...document.querySelectorAll('.card img')].slice(0, 12).every(i => i.complete)")
    shot.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(shot))
    pg.click("#mode")
    for key in ["ArrowLeft", "ArrowRight", "t"]:
        pg.keyboard.press(key)
        pg.wait_for_timeout(150)
    pg.wait_for_function("document.querySelector('#votes').textContent === '3 votes'")
    pg.wait_for_function("document.querySelector('#left').complete && document.querySelector('#right').complete")
    pg.screenshot(path=str(shot.with_name(shot.stem + "-pairwise.png")))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--screenshot", type=Path, default=None, help="save a screenshot of today's page here (and PATH-pairwise.png)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = tmp / "images"
        images.mkdir()
        make_images(images, args.images)
        pages = {"after": ROOT / PAGE_FILE}
        old = before_page()
        if old is not None:
            (tmp / "before.html").write_text(old, encoding="utf-8")
            pages = {"before": tmp / "before.html", **pages}
        else:
            print(f"(no git history here: 'before' ({BEFORE_COMMIT}) is left out)")
        results = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                for name, html in pages.items():
                    (tmp / name).mkdir()
                    results[name] = measure(browser, images, tmp / name, html, args.images, args.presses)
                if args.screenshot:
                    (tmp / "shot").mkdir()
                    take_screenshots(browser, images, tmp / "shot", args.images, args.screenshot)
            finally:
                browser.close()

    print(f"scoring page, {args.images} images of 512 px, {args.presses} presses (→ and ↑ alternating), median ms per key")
    print(f"{'page':8} {'handler':>8} {'+layout':>8} {'p95':>7} {'move':>13} {'score':>13} {'in-page':>8}")
    for name, r in results.items():
        inp = f"{r['in_page']:.2f}" if r["in_page"] is not None else "-"
        mv, sc = r["by"]["move"], r["by"]["score"]
        print(f"{name:8} {r['handler']:8.2f} {r['layout']:8.2f} {r['p95']:7.2f} {mv[0]:6.2f}/{mv[1]:6.2f} "
              f"{sc[0]:6.2f}/{sc[1]:6.2f} {inp:>8}")
    print("(move and score columns: handler / +layout)")
    after = results["after"]
    if "before" in results:
        b = results["before"]
        print(f"before / after: handler {b['handler'] / after['handler']:.1f}x, +layout {b['layout'] / after['layout']:.1f}x")
    ok = after["layout"] < 16
    print(f"after: {after['layout']:.2f} ms per key with layout — {'meets' if ok else 'misses'} the < 16 ms goal")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
