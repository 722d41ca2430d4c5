"""irgen's behaviour check on its hand-written corpus: false accepts, false rejects, speed.

    uv run python benchmarks/bench_irgen_behaviour.py [--old]

The corpus is `packages/irgen/tests/behaviour_corpus` (see its README): specs covering every op,
trigger and condition, each with correct programs in everyday Unity idioms (`ok`) and subtly
wrong ones that compile (`bad`), none produced by `rules.py`. Programs marked `ambiguous`
follow the other reading of a spec with two and are listed, not counted.

Rows: `new` is `almost_irgen.unitysim` as it is; `old` (--old) is the checker before issue 25,
read from git (`unitysim.py` and the simulated `UnityEngine` of commit f2d4076) and run on the
same corpus. Columns: false-accept rate (a bad program passes; goal <= 3%), false-reject rate
(an ok program fails; goal <= 3%), programs/s (compile + run, one worker). A second table:
how many of `rules.py`'s programs for a timer spec behave at each interval from 0.05 s to 5 s in
0.05 s steps (100 programs; all should).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "packages" / "irgen" / "tests" / "behaviour_corpus"
OLD_COMMIT = "f2d4076"


def score(programs, results) -> dict:
    ok = [r for p, r in zip(programs, results) if p.label == "ok"]
    bad = [r for p, r in zip(programs, results) if p.label == "bad"]
    return {"ok": len(ok), "bad": len(bad),
            "false_rejects": [p for p, r in zip(programs, results) if p.label == "ok" and not r.ok],
            "false_accepts": [p for p, r in zip(programs, results) if p.label == "bad" and r.ok],
            "ambiguous": [(p, r.ok) for p, r in zip(programs, results) if p.label == "ambiguous"]}


def old_checker(tmp: Path):
    """The checker of commit OLD_COMMIT: its unitysim module over a compiler built from its stub."""
    from almost_irgen import csharp

    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{OLD_COMMIT}:packages/irgen/src/almost_irgen/{path}"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    (tmp / "old_unitysim.py").write_text(show("unitysim.py"))
    old_data = {n: show(f"data/{n}") for n in ("UnityEngineStub.cs", "CompileServer.cs", "SimRunner.cs")}
    spec = importlib.util.spec_from_file_location("almost_irgen._old_unitysim", tmp / "old_unitysim.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    keep = csharp.data_source
    csharp.data_source = old_data.__getitem__  # build the old UnityEngine.dll and SimRunner.exe (cached apart)
    try:
        compiler = csharp.MonoCompiler()
    finally:
        csharp.data_source = keep
    return mod.BehaviourChecker(compiler)


def measure(checker, programs) -> dict:
    t = time.perf_counter()
    results = checker.check([p.ir for p in programs], [p.code for p in programs])
    dt = time.perf_counter() - t
    return {"rate": len(programs) / dt, "seconds": dt, "results": results, **score(programs, results)}


def interval_irs() -> list[dict]:
    """A timer spec (add to a field, play a sound, log) at every interval 0.05 .. 5 s in 0.05 s steps."""
    return [{"ir_version": "1.0", "class_name": "Ticker", "components": ["AudioSource"],
             "fields": [{"name": "ticks", "type": "int", "default": 0}, {"name": "beep", "type": "AudioClip"}],
             "behaviours": [{"trigger": {"event": "timer", "interval_s": round(0.05 * i, 2)},
                             "actions": [{"op": "set_field", "field": "ticks", "value": 1, "mode": "add"},
                                         {"op": "play_sound", "clip_field": "beep"},
                                         {"op": "log", "message": "tick"}]}]} for i in range(1, 101)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", action="store_true", help="also measure the checker before issue 25")
    ap.add_argument("--verbose", action="store_true", help="name every misjudged program and why")
    args = ap.parse_args()
    from almost_irgen.rules import generate
    from almost_irgen.unitysim import BehaviourChecker, read_corpus

    programs = read_corpus(CORPUS)
    timers = interval_irs()
    rows, timer_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        checkers = ([("old", old_checker(Path(tmp)))] if args.old else []) + [("new", BehaviourChecker())]
        for name, checker in checkers:
            rows.append((name, measure(checker, programs)))
            res = checker.check(timers, [generate(ir) for ir in timers])
            timer_rows.append((name, [ir["behaviours"][0]["trigger"]["interval_s"] for ir, r in zip(timers, res) if not r.ok]))
    n_specs = len({p.spec for p in programs})
    print(f"{n_specs} specs; {rows[0][1]['ok']} ok, {rows[0][1]['bad']} bad programs; "
          f"{len(rows[0][1]['ambiguous'])} ambiguous (not counted)")
    print("| checker | false accepts | false rejects | programs/s |")
    print("|---|---|---|---|")
    for name, m in rows:
        fa, fr = len(m["false_accepts"]), len(m["false_rejects"])
        print(f"| {name} | {fa}/{m['bad']} ({fa / m['bad']:.1%}) | {fr}/{m['ok']} ({fr / m['ok']:.1%}) | {m['rate']:.1f} |")
    print("\n| checker | rules.py timer programs that fail (of 100, 0.05-5 s) | the intervals |")
    print("|---|---|---|")
    for name, bad in timer_rows:
        print(f"| {name} | {len(bad)} | {', '.join(str(x) for x in bad[:12])}{' ...' if len(bad) > 12 else ''} |")
    for name, m in rows:
        if args.verbose:
            for p in m["false_accepts"]:
                print(f"{name} accepts {p.spec}: bad: {p.what}")
            for p in m["false_rejects"]:
                r = m["results"][programs.index(p)]
                print(f"{name} rejects {p.spec}: ok: {p.what}\n    {r.failed[:3]}")
        for p, passed in m["ambiguous"]:
            print(f"{name}: ambiguous {p.spec}: {p.what}: {'accepted' if passed else 'rejected'}")


if __name__ == "__main__":
    main()
