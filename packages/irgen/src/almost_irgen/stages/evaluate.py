"""Stage ``evaluate``: compile@1, compile@k and IR conformance on the held-out specs.

For the first ``evaluate.max_examples`` specs of ``prepare/eval.jsonl`` it writes C# three
ways, the rule generator, the untrained base model and the fine-tuned model (greedy), and
checks every program with mono ``mcs`` against the UnityEngine stub (or, with no compiler,
a tree-sitter syntax check, and the report says compilation was skipped). Conformance
(:mod:`almost_irgen.conformance`) is the fast static first pass (the class, fields, methods
and API calls the IR implies); behaviour@1 (:mod:`almost_irgen.unitysim`) runs each program
in a simulated Unity and checks every op's observable effect (axis and speed of a rotation,
the field set, destroyed only when the condition holds ...). compile@k adds k-1 sampled
programs per spec for the fine-tuned model. The refined adapter's greedy programs are
taken from ``refine/eval_programs.json`` when refine wrote them for the same specs and budget
(``finetuned_programs_reused``). Writes ``evaluate/report.md``,
``evaluate/samples.jsonl`` and metrics ``compile_at_1_{rules,base,finetuned}``,
``behaviour_at_1_{rules,base,finetuned}`` (with mcs and mono; ``behaviour_checked`` says
whether it ran), the semantic sentence → IR matches ``ir_match_from_text``,
``ir_match_heldout_phrasing``, ``ir_match_handwritten`` and ``behaviour_at_1_handwritten`` end to
end (:mod:`almost_irgen.sentence_eval`; each sentence in ``evaluate/sentences.jsonl``),
``repair_fix_rate`` (the failing first programs one repair round fixed,
:func:`almost_irgen.generator.repair_fixes`), ``needs_newer_csharp_*`` (the share of programs mcs cannot judge: C# 8+
features Unity accepts; they count as not compiled), ``conformance_{rules,base,finetuned}``, ``compiler_used``. With ``evaluate.interactive``
it then reads specs from the terminal (see also ``almost irgen try``). Under ``accelerate launch``
each process writes and checks its share of the programs (whole generation batches,
:mod:`almost.ranks`); the main process runs the text → IR and repair passes and writes.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter

import attrs

from almost import RunContext, ranks
from almost.io import atomic_write
from almost.observe.console import console

from ..conformance import check as conformance
from ..csharp import error_codes, find_compiler
from ..generator import LocalModel
from ..ir import loads
from ..model import base_folder, load_model, load_tokenizer
from ..rules import generate
from ..sharegpt import read_jsonl, turn


def score(checker, irs, codes, behaviour=None) -> dict:
    # under `accelerate launch` each process checks its share of the programs (almost.ranks)
    mine = ranks.share(range(len(irs)))
    results, behave, conf = [], [], []
    if mine:
        ir_m, code_m = [irs[i] for i in mine], [codes[i] for i in mine]
        # with the behaviour check, each program is compiled once for compile@1 and behaviour@1
        results, behave = behaviour.compile_and_check(ir_m, code_m) if behaviour is not None \
            else (checker.check(code_m), [])
        conf = [conformance(ir, c)[0] for ir, c in zip(ir_m, code_m)]
    merged = ranks.gather_shares(list(zip(results, behave or [None] * len(results), conf)), len(irs))
    results, behave, conf = ([m[k] for m in merged] for k in range(3))
    behave = [] if behaviour is None else behave
    return {"compile": sum(r.ok for r in results) / len(codes), "conformance": sum(conf) / len(codes),
            "behaviour": sum(b.ok for b in behave) / len(codes) if behave else None, "behave": behave,
            "newer": sum(r.verdict == "newer_csharp" for r in results) / len(codes),
            "errors": error_codes(results), "results": results, "conf": conf}


def make_sampler(ctx: RunContext, model, tok, temperature: float = 0.0, desc: str = "generate"):
    """``sampler/{evaluate.sampler}`` over ``model`` (IR specs → C#), greedy at ``temperature`` 0."""
    cfg = ctx.config.evaluate
    return ctx.component(f"sampler/{cfg.sampler}", model=model, tokenizer=tok, batch_size=cfg.batch_size,
                         max_new_tokens=cfg.max_new_tokens, temperature=temperature, desc=desc)


def shared_codes(sampler, irs, cfg, sampled: bool = False, seed: int = 0) -> list[str]:
    """``sampler``'s programs for ``irs``; under ``accelerate launch`` each process writes whole
    batches of its share (the same batches as one process: the same greedy programs). A sampled
    batch draws from its own seed (``seed`` and its first spec), whichever process writes it."""
    import torch

    bs = cfg.batch_size
    mine = ranks.share(range(len(irs)), bs)
    if not sampled:
        out = sampler.sample([irs[i] for i in mine]) if mine else []
    else:
        out = []
        for a in range(0, len(mine), bs):
            idx = mine[a:a + bs]
            g = torch.Generator().manual_seed(seed * 1_000_003 + idx[0])
            out += sampler.sample([irs[i] for i in idx], generator=g)
    return ranks.gather_shares(out, len(irs), bs)


@attrs.define
class Evaluation:
    """What ``evaluate`` gathers on its held-out specs, as the report and metrics show it."""

    evals: list[dict]
    irs: list[dict]
    codes: dict[str, list[str]] = attrs.Factory(dict)  # generator -> one program per spec
    rows: dict[str, dict] = attrs.Factory(dict)  # generator -> score()
    seconds: dict[str, float] = attrs.Factory(dict)
    at_k: float = 0.0
    reused: bool = False  # the fine-tuned programs were refine's
    extra: dict[str, float] = attrs.Factory(dict)  # the generate path's metrics
    per_spec: list[dict] = attrs.Factory(list)  # each spec's sentence → IR answer and verdict after repair
    sentences: list[dict] = attrs.Factory(list)  # each sentence scored end to end (sentences.jsonl)


def run(ctx: RunContext) -> None:
    cfg = ctx.config.evaluate
    evals = read_jsonl(ctx.find_stage_dir("prepare") / "eval.jsonl", "eval set")[: cfg.max_examples]
    ev = Evaluation(evals, [loads(turn(r, "human")) for r in evals])
    adapter = ctx.find_stage_dir("train") / "adapter"
    if (ctx.round_dir() / "refine" / "adapter").is_dir():  # the RL-refined LoRA, when refine ran
        adapter = ctx.round_dir() / "refine" / "adapter"
    checker = find_compiler(cfg.compiler)
    model, tok = _write_programs(ctx, ev, adapter)
    t0 = time.time()
    behaviour = None
    if checker.compiles and shutil.which("mono"):
        from ..unitysim import BehaviourChecker

        behaviour = BehaviourChecker(checker)
    ev.rows = {name: score(checker, ev.irs, c, behaviour) for name, c in ev.codes.items()}
    ev.seconds["check_s"] = time.time() - t0
    ev.at_k = _compile_at_k(ctx, (model, tok), ev, checker)  # the fine-tuned model
    if not ranks.is_main():  # the main process repairs, reports and writes
        return
    if cfg.text_to_ir or cfg.repair_rounds:  # the generate path: sentence → IR, and repair rounds
        from ..generator import Checking, attempts, text_and_repair_metrics

        fin = ev.rows["finetuned"]
        how = Checking(checker, behaviour, cfg.repair_rounds, cfg.max_new_tokens, cfg.ir_max_new_tokens)
        ev.extra = text_and_repair_metrics(LocalModel(model, tok, cfg.batch_size, progress="text → IR / repair"),
                                           [r.get("prompt", "") if cfg.text_to_ir else "" for r in evals], ev.irs,
                                           attempts(ev.codes["finetuned"], fin["results"], fin["behave"]), how,
                                           details=ev.per_spec)
    if cfg.text_to_ir:  # semantic IR match on sentences (and hand-written ones end to end)
        ev.extra.update(_sentence_metrics(ctx, cfg, model, tok, checker, behaviour, evals, ev.irs, ev.per_spec,
                                          ev.sentences))
    _report(ctx, ev, checker)
    _log(ctx, ev, checker, behaviour is not None, adapter.parent.name == "refine")
    if cfg.interactive:
        from ..cli import loop

        loop(model, tok, checker, cfg.max_new_tokens)


def _write_programs(ctx: RunContext, ev: Evaluation, adapter):
    """``ev.codes``: the rule generator's, the base model's, the fine-tuned model's (refine's when it
    wrote them for these specs) and ``evaluate.endpoint``'s programs; returns the fine-tuned model."""
    from peft import PeftModel

    from .refine import reusable_programs

    cfg, irs = ctx.config.evaluate, ev.irs
    folder = base_folder(ctx.config.model.base, ctx.run_dir / "base-model")
    tok = load_tokenizer(folder)
    t0 = time.time()
    ev.codes["rules"] = [generate(ir) for ir in irs]
    # on the accelerator, loaded as trained: a QLoRA run is evaluated on its 4-bit base
    model = load_model(folder, ctx.config.model.dtype, quantize_4bit=ctx.config.train.load_in_4bit)
    ranks.say_share("evaluate", len(ranks.share(irs, cfg.batch_size)), len(irs), "specs")
    ev.codes["base"] = shared_codes(make_sampler(ctx, model, tok, desc="base model"), irs, cfg)
    ev.seconds["base_s"] = time.time() - t0
    t0 = time.time()
    model = PeftModel.from_pretrained(model, adapter)
    # refine already wrote this adapter's greedy programs for these specs: the same programs, not made twice
    reused = ranks.broadcast(reusable_programs(adapter.parent, irs, cfg.max_new_tokens)
                             if adapter.parent.name == "refine" and ranks.is_main() else None)
    ev.reused = reused is not None
    ev.codes["finetuned"] = reused or shared_codes(make_sampler(ctx, model, tok, desc="fine-tuned"), irs, cfg)
    if cfg.endpoint:  # any served model (LM Studio, Ollama, a teacher, `almost irgen serve`), scored the same way
        from ..generator import endpoint_codes

        ev.codes["endpoint"] = ranks.broadcast(endpoint_codes(cfg, irs) if ranks.is_main() else None)
    ev.seconds["finetuned_s"] = time.time() - t0
    return model, tok


def _compile_at_k(ctx: RunContext, model_tok: tuple, ev: Evaluation, checker) -> float:
    """compile@k of the fine-tuned model: its greedy program or any of k-1 sampled ones compiles."""
    cfg = ctx.config.evaluate
    if cfg.k <= 1:
        return ev.rows["finetuned"]["compile"]
    irs = ev.irs
    ok = [r.ok for r in ev.rows["finetuned"]["results"]]
    for j in range(cfg.k - 1):
        sampler = make_sampler(ctx, *model_tok, cfg.temperature, desc=f"sample {j + 2}/{cfg.k}")
        sampled = shared_codes(sampler, irs, cfg, sampled=True, seed=j + 1)
        mine = ranks.share(range(len(irs)))
        checked = checker.check([sampled[i] for i in mine]) if mine else []
        ok = [a or b for a, b in zip(ok, ranks.gather_shares([r.ok for r in checked], len(irs)))]
    return sum(ok) / len(ok)


def _report(ctx: RunContext, ev: Evaluation, checker) -> None:
    """The table on the console; ``report.md``, ``samples.jsonl``, ``sentences.jsonl`` and
    ``error_codes.json`` in the stage folder."""
    from rich.table import Table

    cfg, irs, rows, codes = ctx.config.evaluate, ev.irs, ev.rows, ev.codes
    how = "mcs + UnityEngine stub" if checker.compiles else "tree-sitter syntax check only (mcs not installed: compilation skipped)"
    table = Table(title=f"irgen · {len(irs)} held-out specs · {how}")
    for col in ("generator", "compile@1", "behaviour@1", "conformance", "top errors"):
        table.add_column(col)
    lines = [f"# irgen evaluation ({len(irs)} held-out specs)", "", f"Checker: {how}.", "",
             "| generator | compile@1 | behaviour@1 | conformance | top errors |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        errs = ", ".join(f"{c}×{n}" for c, n in r["errors"].most_common(4)) or "-"
        beh = f"{r['behaviour']:.2f}" if r["behaviour"] is not None else "-"
        table.add_row(name, f"{r['compile']:.2f}", beh, f"{r['conformance']:.2f}", errs)
        lines.append(f"| {name} | {r['compile']:.2f} | {beh} | {r['conformance']:.2f} | {errs} |")
    lines += ["", f"compile@{cfg.k} (fine-tuned): {ev.at_k:.2f}"]
    lines += [f"{k.replace('_', ' ')}: {v:.2f}" for k, v in ev.extra.items()]
    console.print(table)
    if not checker.compiles:
        console.print("[yellow]mcs is not installed: compilation was skipped, only syntax was checked[/]")
    out = ctx.stage_dir()
    atomic_write(out / "report.md", "\n".join(lines) + "\n")
    samples = [{"ir": ir, "prompt": ev.evals[i].get("prompt", ""), **{f"{n}_code": codes[n][i] for n in codes},
                **{f"{n}_errors": rows[n]["results"][i].errors for n in rows},
                **{f"{n}_behaviour": rows[n]["behave"][i].failed for n in rows if rows[n]["behave"]},
                **(ev.per_spec[i] if ev.per_spec else {})}
               for i, ir in enumerate(irs)]
    atomic_write(out / "samples.jsonl", "".join(json.dumps(s) + "\n" for s in samples))
    if ev.sentences:
        atomic_write(out / "sentences.jsonl", "".join(json.dumps(d) + "\n" for d in ev.sentences))
    atomic_write(out / "error_codes.json", json.dumps({n: dict(Counter(r["errors"])) for n, r in rows.items()}, indent=2))
    ctx.add_artifact(out / "report.md", "evaluation report")


def _log(ctx: RunContext, ev: Evaluation, checker, behaviour_checked: bool, refined: bool) -> None:
    cfg, rows = ctx.config.evaluate, ev.rows
    ctx.log_metrics(
        compile_at_1_rules=rows["rules"]["compile"], compile_at_1_base=rows["base"]["compile"],
        compile_at_1_finetuned=rows["finetuned"]["compile"], **{f"compile_at_{cfg.k}_finetuned": ev.at_k} if cfg.k > 1 else {},
        conformance_rules=rows["rules"]["conformance"], conformance_base=rows["base"]["conformance"],
        conformance_finetuned=rows["finetuned"]["conformance"], compiler_used=int(checker.compiles),
        behaviour_checked=int(behaviour_checked),
        **{f"needs_newer_csharp_{n}": r["newer"] for n, r in rows.items()},
        **({f"behaviour_at_1_{n}": r["behaviour"] for n, r in rows.items()} if behaviour_checked else {}),
        eval_specs=len(ev.irs), adapter_refined=int(refined),
        finetuned_programs_reused=int(ev.reused), **ev.seconds, **ev.extra,
        **({"compile_at_1_endpoint": rows["endpoint"]["compile"], "conformance_endpoint": rows["endpoint"]["conformance"]}
           if "endpoint" in rows else {}),
    )


def _sentence_metrics(ctx, cfg, model, tok, checker, behaviour, evals, irs, per_spec, details) -> dict:
    """``ir_match_from_text``, ``ir_match_heldout_phrasing``, ``ir_match_handwritten`` and
    ``behaviour_at_1_handwritten`` (:mod:`almost_irgen.sentence_eval`)."""
    from ..irmatch import fresh_path, load_handwritten
    from ..sentence_eval import ir_match_from_text, sentence_metrics

    out = ir_match_from_text(evals, irs, per_spec) if per_spec else {}
    held_file = ctx.find_stage_dir("prepare") / "heldout_phrasing.jsonl"
    held = read_jsonl(held_file, "held-out phrasing file")[: cfg.max_examples] if (
        cfg.heldout_phrasing and held_file.is_file()) else []
    hand = load_handwritten() if cfg.handwritten else []
    fresh = load_handwritten(fresh_path()) if cfg.handwritten else []
    out.update(sentence_metrics(LocalModel(model, tok, cfg.batch_size, progress="sentences → IR"), checker, behaviour,
                                handwritten=hand, heldout=held, ir_tokens=cfg.ir_max_new_tokens,
                                max_new_tokens=cfg.max_new_tokens, details=details, fresh=fresh))
    return out
