"""irgen: the generate path on held-out specs — base → SFT → SFT+RL → with repair, side by side.

Runs (or reads) an irgen run and prints one table from its ``metrics.json``: compile@1 and
behaviour@1 of the untrained base model, of the SFT adapter (``refine.*_sft``), of the
RL-refined adapter (``refine.compile_at_1`` / ``evaluate.*_finetuned``, which scores the
refined adapter when refine ran) and after repair rounds (``evaluate.*_with_repair``), plus
IR@1 from sentences and each stage's seconds. Targets (issue 15, ``tiny``): refined
compile@1 ≥ 0.90, behaviour@1 ≥ 0.80, IR@1 ≥ 0.8, repair raising each further.

    uv run python benchmarks/bench_irgen_generate.py                 # runs the tiny profile in runs/irgen/bench
    uv run python benchmarks/bench_irgen_generate.py --run DIR       # only reads DIR's metrics
    uv run python benchmarks/bench_irgen_generate.py --run DIR --test 64   # + 64 fresh specs

The run's own held-out set is 16 specs (one spec = 0.06), too few to tell two settings apart.
``--test N`` also scores the SFT and the refined adapters on N fresh specs: drawn with a fixed
seed (777) from the run's synth sizes, none equal to a spec the run trained or evaluated on,
greedy as in ``refine``/``evaluate`` (C# with ``refine.max_new_tokens``, IR under the schema with
``evaluate.ir_max_new_tokens``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def row(name: str, comp, beh, note: str = "") -> str:
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return f"| {name} | {f(comp)} | {f(beh)} | {note} |"


def fresh_test(run: Path, n: int, seed: int = 777) -> None:
    """compile@1, behaviour@1 and IR@1 from sentences of the run's SFT and refined adapters on
    ``n`` fresh specs (see the module doc)."""
    import random
    import tomllib

    from almost_irgen.csharp import find_compiler
    from almost_irgen.generator import Checking, LocalModel, text_and_repair_metrics
    from almost_irgen.ir import dumps, loads
    from almost_irgen.model import load_model, load_tokenizer
    from almost_irgen.sharegpt import read_jsonl, turn
    from almost_irgen.stages.refine import greedy_scores
    from almost_irgen.synthgen import Size, describe, random_ir
    from almost_irgen.unitysim import BehaviourChecker

    cfg = tomllib.loads((run / "config.toml").read_text())
    sy = cfg["synth"]
    seen = {dumps(loads(turn(r, "human"), "a prepared IR")) for f in ("train", "eval")
            for r in read_jsonl(run / "prepare" / f"{f}.jsonl", f) if r.get("task", "ir2code") == "ir2code"}
    rng, irs = random.Random(seed), []
    while len(irs) < n:
        ir = random_ir(rng, Size(sy["max_fields"], sy["max_behaviours"], sy["max_actions"]))
        if dumps(ir) not in seen:
            irs.append(ir)
    folder = run / "base-model"
    tok = load_tokenizer(folder)
    checker = find_compiler("auto")
    behave = BehaviourChecker(checker)
    print(f"\n{n} fresh specs (seed {seed}, none seen in training or the held-out set)")
    print("| adapter | compile@1 | behaviour@1 | IR@1 from text (valid) |")
    print("|---|---|---|---|")
    for name, adapter in (("SFT", run / "train" / "adapter"), ("SFT+RL", run / "refine" / "adapter")):
        if not adapter.is_dir():
            continue
        lm = LocalModel(load_model(folder, cfg["model"]["dtype"], adapter=adapter), tok,
                        batch_size=cfg["evaluate"]["batch_size"])
        codes: list[str] = []  # the same calls as refine's and evaluate's scores
        comp, beh = greedy_scores(lm, irs, cfg["refine"]["max_new_tokens"], checker, behave, codes)
        how = Checking(checker, behave, 0, cfg["refine"]["max_new_tokens"], cfg["evaluate"]["ir_max_new_tokens"])
        text = text_and_repair_metrics(lm, [describe(ir) for ir in irs], irs, codes, how)
        print(f"| {name} | {comp:.2f} | {beh:.2f} | {text['ir_at_1_from_text']:.2f} ({text['ir_valid_from_text']:.2f}) |")
    checker.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=None, help="an irgen run folder to read (default: run the tiny profile)")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="config overrides for the run")
    ap.add_argument("--test", type=int, default=0, help="also score the adapters on N fresh specs (e.g. 64)")
    args = ap.parse_args()
    run = Path(args.run or "runs/irgen/bench")
    if args.run is None:
        cmd = ["almost", "run", "--plugin", "irgen", "synth", "prepare", "train", "refine", "evaluate",
               "--out", str(run), *[x for s in args.sets for x in ("--set", s)]]
        subprocess.run(cmd, check=True)
    m = json.loads((run / "metrics.json").read_text())
    ev, rf = m.get("evaluate", {}), m.get("refine", {})
    seconds = {s: m.get(s, {}).get(k) for s, k in (("train", "train_s"), ("refine", "refine_s"))}
    print(f"irgen generate path · {run} · {int(ev.get('eval_specs', 0))} held-out specs")
    print("| model | compile@1 | behaviour@1 | note |")
    print("|---|---|---|---|")
    print(row("rules (reference)", ev.get("compile_at_1_rules"), ev.get("behaviour_at_1_rules")))
    print(row("base", ev.get("compile_at_1_base"), ev.get("behaviour_at_1_base")))
    print(row("SFT", rf.get("compile_at_1_sft"), rf.get("behaviour_at_1_sft"),
              f"first {int(rf.get('eval_specs', 0))} specs; train {seconds['train'] or 0:.0f} s"))
    print(row("SFT+RL", ev.get("compile_at_1_finetuned"), ev.get("behaviour_at_1_finetuned"),
              f"refine {seconds['refine'] or 0:.0f} s, {int(rf.get('steps', 0))} steps, reward "
              f"{rf.get('reward_first', 0):.2f} → {rf.get('reward_last', 0):.2f}"))
    print(row(f"SFT+RL + {int(ev.get('repair_rounds', 0))} repair rounds", ev.get("compile_at_1_with_repair"),
              ev.get("behaviour_at_1_with_repair")))
    if "repair_failing_first" in ev:  # the target: >= 30% of failing first attempts fixed by one round
        print(f"repair: {int(ev['repair_fixed_by_one_round'])} of {int(ev['repair_failing_first'])} failing first "
              f"attempts fixed by one round (repair_fix_rate {ev.get('repair_fix_rate', 0):.2f})")
    if "ir_at_1_from_text" in ev:
        print(f"IR@1 from sentences: {ev['ir_at_1_from_text']:.2f} (valid IR: {ev.get('ir_valid_from_text', 0):.2f})")
    errors = run / "evaluate" / "error_codes.json"  # e.g. CS0117: an event name used as a KeyCode
    if errors.is_file():
        ft = json.loads(errors.read_text()).get("finetuned", {})
        print("fine-tuned compile errors: " + (", ".join(f"{c}×{n}" for c, n in sorted(ft.items(), key=lambda x: -x[1]))
                                              or "none"))
    manifest = run / "manifest.json"  # each stage's wall time (model loading and checks included)
    if manifest.is_file():
        stages = json.loads(manifest.read_text()).get("stages", {})
        walls = {n: s["seconds"] for n, s in stages.items() if "seconds" in s}
        print("wall seconds: " + ", ".join(f"{n} {v:.0f}" for n, v in walls.items())
              + f" · total {sum(walls.values()):.0f} (target: whole tiny pipeline <= 900 on 2 cores)")
    targets = {"compile@1 ≥ 0.90": ev.get("compile_at_1_finetuned", 0) >= 0.9,
               "behaviour@1 ≥ 0.80": (ev.get("behaviour_at_1_finetuned") or 0) >= 0.8,
               "IR@1 ≥ 0.8": ev.get("ir_at_1_from_text", 0) >= 0.8}
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items()))
    if args.test:
        fresh_test(run, args.test)


if __name__ == "__main__":
    sys.exit(main())
