"""irgen's compile check on the labelled corpus: how right (false accepts / rejects) and how fast.

    uv run python benchmarks/bench_irgen_check.py [--before] [--behaviour 40]

Rows, all on `packages/irgen/tests/corpus` (single-file scripts labelled "compiles in Unity
2021+" / "does not, with CS code" / "newer C#"), each sample compiled on its own:

* server ×1 / ×2   mcs.exe loaded once into a long-lived mono process (one or two workers)
                   and called per sample: the way `almost irgen check` and `evaluate` run
* process          one `mcs` process per sample (the slow, obviously isolated reference)
* before           (--before) the seed's stub and its batch compilation, read from git
                   commit 62d23c1: one mcs call for many samples, failing files alone

Columns: samples/s and its ratio to `process`, false-accept rate (Unity rejects, the check
passes; goal ≤ 3%), false-reject rate (Unity compiles, the check fails; goal ≤ 5%), how often
a rejection names the labelled code, and the share of newer-C# files called so.
With --behaviour N it also times the behaviour check (compile + simulated run) on N
rule-generated programs and prints behaviour@1 (1.00 expected).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "packages" / "irgen" / "tests" / "corpus"


def measure(name, check, samples, base=None):
    from almost_irgen import corpus

    check([s.source for s in samples[:2]])  # warm up (builds, JIT)
    t = time.perf_counter()
    results = check([s.source for s in samples])
    dt = time.perf_counter() - t
    sc = corpus.score(samples, results)
    return {"name": name, "rate": len(samples) / dt, **sc}


def before_checker(tmp: Path):
    """The seed's MonoCompiler and stub (git 62d23c1), or None when git history is missing."""
    try:
        src = subprocess.run(["git", "show", "62d23c1:packages/irgen/src/almost_irgen/csharp.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        stub = subprocess.run(["git", "show", "62d23c1:packages/irgen/src/almost_irgen/data/UnityEngineStub.cs"],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    (tmp / "old_csharp.py").write_text(src)
    spec = importlib.util.spec_from_file_location("old_csharp", tmp / "old_csharp.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.stub_source = lambda: stub
    mod.cache_dir = lambda: tmp / "cache"
    old = mod.MonoCompiler()

    def check(sources):
        return [SimpleNamespace(ok=r.ok, codes=r.codes, verdict="compiles" if r.ok else "error")
                for r in old.check(sources)]

    return check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", action="store_true", help="also measure the seed's stub and batch compile")
    ap.add_argument("--behaviour", type=int, default=0, help="also time the behaviour check on N rule programs")
    args = ap.parse_args()

    from almost_irgen import corpus
    from almost_irgen.csharp import MonoCompiler

    samples = corpus.load(CORPUS)
    print(f"corpus: {len(samples)} files ({sum(s.label == 'compiles' for s in samples)} compile, "
          f"{sum(s.label not in ('compiles', 'newer') for s in samples)} do not, "
          f"{sum(s.label == 'newer' for s in samples)} newer C#)")
    rows = []
    with MonoCompiler(mode="process") as c:
        rows.append(measure("process (1 mcs per sample)", c.check, samples))
    for workers in (1, 2):
        with MonoCompiler(mode="server", workers=workers) as c:
            rows.append(measure(f"server ×{workers}", c.check, samples))
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            check = before_checker(Path(tmp))
            if check is None:
                print("--before: git history with commit 62d23c1 is not available; skipped")
            else:
                rows.append(measure("before (seed stub, batch)", check, samples))
    base = rows[0]["rate"]
    print(f"\n{'method':<28} {'samples/s':>9} {'× process':>9} {'false acc':>9} {'false rej':>9} "
          f"{'code ok':>8} {'newer ok':>8}")
    for r in rows:
        print(f"{r['name']:<28} {r['rate']:9.2f} {r['rate'] / base:9.2f} {r['false_accept_rate']:9.1%} "
              f"{r['false_reject_rate']:9.1%} {r['code_agreement']:8.1%} {r['newer_recognised']:8.1%}")
    print("goal: false accepts <= 3%, false rejects <= 5%")
    for r in rows:
        if r["false_accepts"] or r["false_rejects"]:
            print(f"{r['name']}: false accepts {r['false_accepts'][:8]}, false rejects {r['false_rejects'][:8]}")

    if args.behaviour:
        from almost_irgen.rules import generate
        from almost_irgen.synthgen import Size, random_ir
        from almost_irgen.unitysim import BehaviourChecker

        rng = random.Random(0)
        irs = [random_ir(rng, Size(3, 2, 2)) for _ in range(args.behaviour)]
        with MonoCompiler() as c:
            bc = BehaviourChecker(c)
            t = time.perf_counter()
            res = bc.check(irs, [generate(ir) for ir in irs])
            dt = time.perf_counter() - t
        print(f"\nbehaviour check: {len(irs)} rule programs in {dt:.1f} s ({len(irs) / dt:.2f} programs/s, "
              f"compile included); behaviour@1 = {sum(r.ok for r in res) / len(res):.2f}")


if __name__ == "__main__":
    sys.exit(main())
