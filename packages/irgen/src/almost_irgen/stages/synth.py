"""Stage ``synth``: (prompt, IR, code) triplets into ``synth/triplets.jsonl``.

``synth.source = "rules"`` (offline default): seeded procedural IR + the rule generator, each
request phrased in a training family of :mod:`almost_irgen.phrasing` (``"families"`` names them;
``synth.phrasings`` > 1 adds that many minus one other requests as ``"paraphrases"``; with
``synth.teacher_paraphrase`` the teacher endpoint rewrites each request as a person would type
it, kept as one more paraphrase, family ``teacher``, when it still says every number, key,
field and message of the spec).
``synth/heldout_phrasing.jsonl`` holds ``synth.heldout_phrasing`` other specs requested in the
held-out families only, for ``evaluate``'s ``ir_match_heldout_phrasing``.
With probability ``synth.contrast`` a spec is followed by its minimal pair (the same spec with a
key trigger or held-key condition added or taken away, :func:`~almost_irgen.synthgen.contrast`);
both carry one ``"group"`` number, and ``prepare`` keeps a group on one side of its split.
``synth.source = "teacher"``: a model behind any OpenAI-compatible endpoint writes IR and
code for each procedural prompt; every answer is validated (IR against the schema, code
compiled or syntax-checked) before it is kept, and the file is appended line by line, so an
interrupted run resumes where it stopped. ``synth.calibration_file`` adds the items of a
seed-style ``calibration_data.json`` (see :mod:`almost_irgen.calibration`): free-text IR is
converted to the typed IR where it maps, the code is compiled like a teacher answer, and
each bad item is reported in one line and skipped (``synth.on_bad_item = "skip"``) or stops
the run (``"fail"``); ``synth/calibration.json`` records what was converted, kept and skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import random

from rich.markup import escape

from almost import RunContext, ranks
from almost.io import atomic_write
from almost.observe.console import console, progress

from ..calibration import read_calibration
from ..csharp import find_compiler
from ..phrasing import phrase
from ..rules import generate
from ..synthgen import Size, contrast, describe, random_ir


def _existing(path) -> list[dict]:
    """Complete lines of a partly written JSONL file (a torn last line is dropped)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def specs_and_groups(rng: random.Random, size: Size, count: int, p_contrast: float) -> tuple[list[dict], list[int]]:
    """``count`` specs; each is followed by its minimal pair with probability ``p_contrast``
    (the pair shares a group number)."""
    specs: list[dict] = []
    groups: list[int] = []
    while len(specs) < count:
        g = groups[-1] + 1 if groups else 0
        specs.append(random_ir(rng, size))
        groups.append(g)
        if len(specs) < count and rng.random() < p_contrast:
            specs.append(contrast(rng, specs[-1]))
            groups.append(g)
    return specs, groups


def says_the_numbers_and_keys(sentence: str, ir: dict) -> bool:
    """Whether a paraphrase still says each number of the spec's triggers, conditions and ops
    (digits or words), each key (as people name it), each field an op names (as written or in
    words) and each log message: what a rewrite must not lose."""
    import re

    from ..phrasing import KEY_SAYS, humanize, number_words

    low = sentence.lower()
    nums = set()
    for b in ir["behaviours"]:
        for a in b["actions"]:
            name = next((a[k] for k in ("prefab_field", "clip_field", "target_field", "field", "degrees_per_second",
                                        "speed") if isinstance(a.get(k), str)), None)
            if name and name.lower() not in low and humanize(name) not in low:
                return False
            if a["op"] == "log" and a["message"].lower() not in low:
                return False
        nums |= {b["trigger"].get("interval_s"), (b.get("condition") or {}).get("value")}
        for a in b["actions"]:
            nums |= {a.get(k) for k in ("degrees_per_second", "speed", "delay_s")}
            nums |= {abs(x) for x in a.get("force", []) if x} | {abs(x) for x in a.get("direction", []) if x != 1 and x}
            if a["op"] == "set_field":
                nums.add(abs(a["value"]) if isinstance(a["value"], int | float) and not isinstance(a["value"], bool) else None)
        keys = {b["trigger"].get("key"), (b.get("condition") or {}).get("key")} - {None}
        for k in keys:
            names = [n.lower().removeprefix("the ") for n in KEY_SAYS.get(k, [k])] + [k.lower()]
            if not any(re.search(rf"\b{re.escape(n)}\b", low) for n in names):
                return False
    for n in nums - {None}:
        if isinstance(n, bool) or not isinstance(n, int | float):
            continue
        said = {str(n), str(float(n))} | ({str(int(n)), number_words(int(n))} if float(n).is_integer() and n < 1000 else set())
        if not any(re.search(rf"(?<![\d.]){re.escape(w)}(?![\d])", low) for w in said):
            return False
    return True


def teacher_paraphrases(cfg, rows: list[dict]) -> dict:
    """A teacher rewrite of each row's request, appended to its ``paraphrases`` (family ``teacher``)
    when it still says every number and key; returns the counts."""
    from ..teacher import TeacherClient, TeacherError

    teacher = TeacherClient(cfg.teacher_url, cfg.teacher_model, api_key=os.environ.get(cfg.teacher_key_env),
                            timeout_s=cfg.teacher_timeout_s, retries=cfg.teacher_retries,
                            requests_per_min=cfg.teacher_requests_per_min)
    kept = rejected = 0
    try:
        with progress() as bar:
            task = bar.add_task("teacher paraphrases", total=len(rows), info="")
            for r in rows:
                try:
                    text = teacher.paraphrase(describe(r["ir"]))
                    if not says_the_numbers_and_keys(text, r["ir"]):
                        raise TeacherError("lost a number or key")
                    r.setdefault("paraphrases", []).append({"prompt": text, "families": ["teacher"]})
                    kept += 1
                except TeacherError:
                    rejected += 1
                bar.update(task, advance=1, info=f"{rejected} rejected")
    finally:
        teacher.close()
    return {"teacher_paraphrases": kept, "teacher_paraphrases_rejected": rejected}


def heldout_phrasing(seed: int, size: Size, count: int) -> list[dict]:
    """``count`` fresh specs (their own seed), each requested in the held-out phrasing families
    (:data:`almost_irgen.phrasing.HELDOUT`): evaluated alone, never trained on."""
    rng = random.Random(f"heldout-phrasing-{seed}")
    out = []
    for _ in range(count):
        ir = random_ir(rng, size)
        prompt, families = phrase(ir, rng, heldout=True)
        out.append({"prompt": prompt, "families": families, "ir": ir})
    return out


def run(ctx: RunContext) -> None:
    cfg = ctx.config.synth
    out = ctx.stage_dir() / "triplets.jsonl"
    rng = random.Random(cfg.seed)
    size = Size(cfg.max_fields, cfg.max_behaviours, cfg.max_actions)
    specs, groups = specs_and_groups(rng, size, cfg.count, cfg.contrast)
    rows, checker = [], None
    para: dict = {}  # teacher paraphrase counts (synth.teacher_paraphrase)
    if cfg.source == "rules":
        rows = []
        for ir, g in zip(specs, groups):  # each request in a training phrasing family (never a held-out one)
            prompt, families = phrase(ir, rng)
            row = {"prompt": prompt, "families": families, "ir": ir, "code": generate(ir), "source": "rules", "group": g}
            more = [dict(zip(("prompt", "families"), phrase(ir, rng))) for _ in range(cfg.phrasings - 1)]
            if more:  # other requests for the same spec: more sentence → IR records, not more programs
                row["paraphrases"] = more
            rows.append(row)
        if cfg.teacher_paraphrase:
            para = teacher_paraphrases(cfg, rows)
        atomic_write(out, "".join(json.dumps(r) + "\n" for r in rows))
    else:
        from ..teacher import TeacherClient, TeacherError

        # under `accelerate launch` each process asks for its share of the prompts, at its share
        # of the request rate (almost.ranks); the main process appends every answer, in order
        teacher = TeacherClient(cfg.teacher_url, cfg.teacher_model, api_key=os.environ.get(cfg.teacher_key_env),
                                timeout_s=cfg.teacher_timeout_s, retries=cfg.teacher_retries,
                                requests_per_min=cfg.teacher_requests_per_min / ranks.world_size())
        checker = find_compiler(ctx.config.evaluate.compiler)
        main = ranks.is_main()
        rows = ranks.broadcast(_existing(out) if main else None)
        rows = [r for r in rows if "i" in r]  # calibration items are appended again below
        done = {r["i"] for r in rows}
        if done:
            console.print(f"resuming: {len(done)} of {cfg.count} prompts already answered")
        if out.exists() and main:
            atomic_write(out, "".join(json.dumps(r) + "\n" for r in rows))  # drop a torn last line
        todo = [i for i in range(len(specs)) if i not in done]
        ranks.say_share("synth", len(ranks.share(todo)), len(todo), "teacher prompts")

        def answer(i: int) -> dict:
            row = {"i": i, "prompt": describe(specs[i]), "source": "teacher", "group": groups[i]}
            try:
                got_ir, code = teacher.triplet(row["prompt"])
                ok = checker.check([code])[0]
                if not ok.ok:
                    raise TeacherError(f"code does not compile ({'; '.join(ok.errors[:2])})")
                row.update(ir=got_ir, code=code)
            except TeacherError as e:
                row.update(rejected=str(e)[:300])
            return row

        rejected = 0
        with (open(out, "a", encoding="utf-8") if main else contextlib.nullcontext()) as f, progress() as bar:
            task = bar.add_task("teacher", total=cfg.count, completed=len(done), info="")
            for mine in ranks.in_rounds(todo, 1):
                for row in [r for part in ranks.gather([answer(i) for i in mine]) for r in part]:
                    if main:
                        f.write(json.dumps(row) + "\n")
                        f.flush()
                        os.fsync(f.fileno())
                    rows.append(row)
                    rejected += "rejected" in row
                    bar.update(task, advance=1, info=f"{rejected} rejected")
        if not main:
            checker.close()
            return
        rows = [r for r in rows if "code" in r]
        if not cfg.calibration_file:
            checker.close()
    cal_metrics = {}
    if cfg.calibration_file:
        checker = checker or find_compiler(ctx.config.evaluate.compiler)  # the teacher's compile server, reused
        try:
            extra, stats = read_calibration(cfg.calibration_file, checker, cfg.on_bad_item,
                                            report=lambda line: console.print(f"[yellow]{escape(line)}[/]"))
        finally:
            checker.close()
        atomic_write(ctx.stage_dir() / "calibration.json", json.dumps(stats, indent=2))
        cal_metrics = {f"calibration_{k}": v for k, v in stats.items() if isinstance(v, int)}
        rows += extra
        with open(out, "a", encoding="utf-8") as f:
            for r in extra:
                f.write(json.dumps(r) + "\n")
    kept = len(rows)
    held = heldout_phrasing(cfg.seed, size, cfg.heldout_phrasing)
    atomic_write(ctx.stage_dir() / "heldout_phrasing.jsonl", "".join(json.dumps(r) + "\n" for r in held))
    ctx.add_artifact(out, "triplets")
    ctx.log_metrics(triplets=kept, ops_per_spec=sum(len(b["actions"]) for r in rows for b in r["ir"]["behaviours"]) / max(kept, 1),
                    **cal_metrics, **para)
