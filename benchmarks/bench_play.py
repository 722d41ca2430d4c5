"""Play FPS of a trained gamengen run on the CPU, beside the bare UNet + decoder rate.

    uv run python benchmarks/bench_play.py --run runs/gamengen/tiny [--seconds 10 --threads 2]

What `almost gamengen play RUN` serves per key press is one ``WorldModelEnv.step`` of the
play session (its default DDIM steps: ``rollout.play_steps``), so this times exactly that,
with random actions, next to the calls it cannot avoid on the same model and tensors
(``steps`` UNet forwards + one VAE decode), alternating so load hits both alike. Threads as
play sizes them (``--threads`` overrides). Also prints the rollout's sampler (1 step) rate.

``--screenshot docs/play.png`` then serves the run's play page (model and real game) and
takes a screenshot in headless Chromium after a few key presses (the README's picture).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="0: as `play` sizes them")
    ap.add_argument("--screenshot", default="", help="also save a screenshot of the play page here")
    args = ap.parse_args()
    from almost_gamengen.play.session import size_threads
    from almost_gamengen.plugin import play_sessions

    n = size_threads("cpu") if not args.threads else args.threads
    torch.set_num_threads(n)
    session = play_sessions(args.run, game=False)["model"]
    env = session.env
    steps = env.get_options()["steps"]
    session.reset()
    rng = np.random.default_rng(0)
    m, vae = env.model, env.vae
    x = env.ctx[-1][None].clone()
    env.scheduler.set_timesteps(steps)
    t_ids = [int(t) for t in env.scheduler.timesteps]

    @torch.no_grad()
    def bare_frame(k: int):
        for t in t_ids[:k]:
            m(x, torch.tensor([t]), env.ctx[None], env.acts[None], env.mask[None], torch.zeros(1, dtype=torch.long))
        vae.decode(x / vae.config.scaling_factor)

    def rate(fn) -> float:
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            fn()
            k += 1
        return k / (time.perf_counter() - t0)

    play, bare, bare1 = [], [], []
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        play.append(rate(lambda: session.step(int(rng.integers(len(session.action_names))))))
        bare.append(rate(lambda: bare_frame(steps)))
        bare1.append(rate(lambda: bare_frame(1)))
    load1 = os.getloadavg()[0]
    print(f"run {args.run}: torch threads {torch.get_num_threads()}, play DDIM steps {steps}, "
          f"load average {load0:.2f} → {load1:.2f}")
    print(f"  play (WorldModelEnv.step)           {np.median(play):7.2f} FPS")
    print(f"  bare {steps} UNet call(s) + decode       {np.median(bare):7.2f} frames/s "
          f"(play's overhead {100 * (np.median(bare) / np.median(play) - 1):+.1f}%)")
    print(f"  bare 1 UNet call + decode (rollout) {np.median(bare1):7.2f} frames/s")
    if args.screenshot:
        screenshot(args.run, args.screenshot)


def screenshot(run: str, path: str, keys: str = "wwwwddddwwww") -> None:
    import tempfile

    from playwright.sync_api import sync_playwright

    from almost.io import atomic_path
    from almost.testing import launch_chromium
    from almost_gamengen.play.server import PlayServer, make_app
    from almost_gamengen.plugin import play_sessions

    with tempfile.TemporaryDirectory() as rec, PlayServer(make_app(play_sessions(run), rec, max_fps=20)) as url:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 640})
                page.goto(url if "?" in url else url + "/")
                page.wait_for_function("document.getElementById('screen').src.startsWith('data:image/png')")
                page.click("#screen")
                for k in keys:
                    page.keyboard.down(k)
                    page.wait_for_timeout(180)
                    page.keyboard.up(k)
                page.wait_for_function("Number(document.getElementById('fps').textContent) > 0")
                with atomic_path(path, suffix=".png.tmp") as tmp:
                    page.screenshot(path=str(tmp), type="png")
            finally:
                browser.close()
    print(f"screenshot: {path}")


if __name__ == "__main__":
    main()
