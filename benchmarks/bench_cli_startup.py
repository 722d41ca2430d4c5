"""How long `almost --help` and `almost plugins` take, with and without plugins installed.

    uv run python benchmarks/bench_cli_startup.py [--runs 5]

Each command runs in a fresh process (the installed `almost` script), several times; the
table shows the median and its ratio to the no-plugin case. Rows:

* no plugins            ALMOST_PLUGINS="" (the core alone)
* built-in plugins      gamengen, ddpo, irgen and the example plugin, as installed
* + eager torch plugin  plus a third-party plugin written the old README way: `import torch`
                        at the top of the module its entry point names
* + lazy torch plugin   the same plugin written the README's way today: its entry-point module
                        registers `"almost_benchlazy.reward:Sharpness"`; torch loads only
                        when a run builds the reward

The third-party plugins are installed for the benchmark only, as a folder on PYTHONPATH with
a `.dist-info` (how an installer lays out a wheel). Target (issue 12): under 1.5 s with all
built-in plugins plus a torch-importing component installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REWARD = '''
import torch


class Sharpness:
    name = "sharpness"

    def __call__(self, images, prompts):
        return (images[..., 1:] - images[..., :-1]).abs().mean(dim=(1, 2, 3))
'''


def install(site: Path, name: str, lazy: bool) -> None:
    pkg = site / f"almost_{name}"
    pkg.mkdir(parents=True)
    (pkg / "reward.py").write_text(REWARD)
    if lazy:
        init = f'''
            import almost

            @almost.hookimpl
            def almost_register(registry):
                registry.add("reward", "{name}", "almost_{name}.reward:Sharpness", help="sharp images")
        '''
    else:
        init = f'''
            import torch  # the old README example: heavy imports at module top
            import almost
            from .reward import Sharpness

            @almost.hookimpl
            def almost_register(registry):
                registry.add("reward", "{name}", Sharpness, help="sharp images")
        '''
    (pkg / "__init__.py").write_text(textwrap.dedent(init))
    info = site / f"almost_{name}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: almost-{name}\nVersion: 0.1.0\n"
                                   "Requires-Dist: almost-core>=0.1,<1\n")
    (info / "entry_points.txt").write_text(f"[almost]\n{name} = almost_{name}\n")


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per cell (median shown)")
    args = ap.parse_args()
    almost = str(Path(sys.executable).with_name("almost"))
    base = {k: v for k, v in os.environ.items() if k not in ("ALMOST_PLUGINS", "ALMOST_DISABLE_PLUGINS")}
    base["COLUMNS"] = "200"
    with tempfile.TemporaryDirectory() as tmp:
        eager, lazy = Path(tmp) / "eager", Path(tmp) / "lazy"
        install(eager, "benchtorch", lazy=False)
        install(lazy, "benchlazy", lazy=True)
        pp = base.get("PYTHONPATH", "")
        cases = {
            "no plugins": {**base, "ALMOST_PLUGINS": ""},
            "built-in plugins": base,
            "+ eager torch plugin": {**base, "PYTHONPATH": os.pathsep.join(filter(None, [str(eager), pp]))},
            "+ lazy torch plugin": {**base, "PYTHONPATH": os.pathsep.join(filter(None, [str(lazy), pp]))},
        }
        rows = []
        for label, env in cases.items():
            rows.append((label, timed([almost, "--help"], env, args.runs), timed([almost, "plugins"], env, args.runs)))
    ref_help, ref_plugins = rows[0][1], rows[0][2]
    print(f"almost CLI start-up, median of {args.runs} fresh processes ({os.cpu_count()} CPUs)")
    print(f"{'installed':<24}{'--help':>10}{'ratio':>8}{'plugins':>10}{'ratio':>8}")
    for label, h, p in rows:
        print(f"{label:<24}{h:>9.2f}s{h / ref_help:>7.1f}×{p:>9.2f}s{p / ref_plugins:>7.1f}×")
    worst = max(rows[1][1], rows[3][1], rows[1][2], rows[3][2])
    print(f"target: built-ins + a lazy torch plugin under 1.5 s: {'met' if worst < 1.5 else 'NOT met'} "
          f"({worst:.2f} s)")


if __name__ == "__main__":
    main()
