"""The generate path as a Python API: sentence → IR → C# → compile + behaviour check → repair.

::

    from almost_irgen.generator import Generator
    gen = Generator.from_run("runs/irgen/tiny")
    result = gen.generate("a coin that spins and disappears when the player touches it")
    print(result.ir, result.verdict)
    Path("Coin.cs").write_text(result.code)

A :class:`Generator` talks to a *backend* that completes chat conversations: :class:`LocalModel`
(a transformers model, with the IR decoded under its JSON Schema by :mod:`almost_irgen.text2ir`)
or :class:`Endpoint` (any OpenAI-compatible server: LM Studio, Ollama, a teacher, ``almost irgen
serve``). Every program is compiled with mono ``mcs`` against the UnityEngine stub and, when
mono is there, run in the simulated Unity (:mod:`almost_irgen.unitysim`). A program that fails
goes back to the model with the compiler's errors (or the behaviour check's differences) as
the next user turn, for up to ``repair_rounds`` rounds; an IR that breaks a rule the schema
cannot express (an undeclared field ...) goes back the same way.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from .ir import dumps
from .model import SYSTEM_PROMPT
from .text2ir import decoding_schema, parse_answer, text_conversation

BEHAVES, COMPILES, MISBEHAVES, FAILS = "behaves", "compiles", "misbehaves", "does not compile"
RANK = {BEHAVES: 3, COMPILES: 2, MISBEHAVES: 1, FAILS: 0}  # compiles: no behaviour check was run


class Backend(Protocol):
    """Completes ShareGPT conversations (``[{"from": ..., "value": ...}]``, last turn human)."""

    def complete(self, convs: Sequence[list[dict]], *, max_new_tokens: int, json_schema: dict | None = None,
                 temperature: float = 0.0, seed: int = 0) -> list[str]: ...


# -- prompts and answers -------------------------------------------------------------------------
_FENCE = re.compile(r"```(?:csharp|cs|c#)?[ \t]*\n(.*?)(?=```|\Z)", re.S | re.I)


def extract_code(text: str) -> str:
    """The C# in a model answer: the first fenced block that declares a class, else the answer
    without its fence lines (small models often open a fence, close it, and open another)."""
    blocks = [m.group(1) for m in _FENCE.finditer(text)]
    for b in blocks:
        if re.search(r"\bclass\b", b):
            return b.strip() + "\n"
    plain = "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))
    return plain.strip() + "\n"


def conversation(ir: dict) -> list[dict]:
    """The IR → C# prompt: the system prompt and the IR as the user turn."""
    return [{"from": "system", "value": SYSTEM_PROMPT}, {"from": "human", "value": dumps(ir)}]


# -- backends ------------------------------------------------------------------------------------
def chat_messages(conv: list[dict]) -> list[dict]:
    role = {"system": "system", "human": "user", "gpt": "assistant"}
    return [{"role": role[t["from"]], "content": t["value"]} for t in conv]


class LocalModel:
    """A transformers causal LM (a PeftModel too) and its tokenizer: the one generation loop.

    Every local generation goes through here (evaluate, refine, ``generate``, ``serve``, ``try``):
    prompts left-padded, batches of ``batch_size`` shrunk to the device's free memory (the KV cache
    grows with batch x (prompt + new tokens)), greedy at temperature 0, else plain sampling at the
    temperature (``top_p=1.0, top_k=0``: no truncation, so refine's policy gradient sees the
    distribution it sampled from), each batch seeded with ``seed`` + the index of its first prompt."""

    def __init__(self, model, tok, batch_size: int = 8, progress: str = "") -> None:
        self.model, self.tok, self.batch_size = model, tok, batch_size
        self.progress = progress  # a label: show a progress bar per complete() call (stages, not the server)
        tok.padding_side = "left"

    def prompt_ids(self, conv: list[dict]) -> list[int]:
        enc = self.tok.apply_chat_template(chat_messages(conv), add_generation_prompt=True, tokenize=True)
        return list(enc["input_ids"] if hasattr(enc, "keys") else enc)

    def _base(self):
        return self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model

    def ready(self) -> None:
        """Eval mode, KV cache on, activation checkpointing off (a training model is handed over as is)."""
        self.model.eval()
        base = self._base()
        if getattr(base, "is_activation_checkpointing", False):  # transformers 5 names, else 4.x
            (getattr(base, "activation_checkpointing_disable", None) or base.gradient_checkpointing_disable)()
        self.model.config.use_cache = True

    def fitting_batch(self, length: int) -> int:
        """``batch_size``, shrunk so the KV cache of ``length``-token sequences fits the free memory."""
        from .memory import free_device_bytes, generation_batch

        return generation_batch(self._base().config, self.batch_size, length, free_device_bytes(self.model.device),
                                next(self.model.parameters()).element_size())

    def generate_ids(self, prompts: list[list[int]], *, max_new_tokens: int, json_schema: dict | None = None,
                     temperature: float = 0.0, seed: int = 0, processors: Sequence[Any] = ()):
        """One batch: ``(ids (B, width + new), width)``, left-padded prompts and what followed them."""
        import torch
        from transformers import LogitsProcessorList

        from .gguf_export import eos_ids
        from .text2ir import SchemaLogits

        model, tok = self.model, self.tok
        base = self._base()
        model.config.use_cache = True
        stop = eos_ids(base, tok)  # every id that ends a turn (OLMo: <|im_end|> and <|endoftext|>)
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, p in enumerate(prompts):
            ids[r, width - len(p):] = torch.tensor(p)
            mask[r, width - len(p):] = 1
        procs = list(processors)
        if json_schema is not None:
            procs.append(SchemaLogits(tok, base.config.vocab_size, stop, len(prompts), json_schema))
        kw: dict[str, Any] = {"do_sample": temperature > 0}
        if temperature > 0:
            kw.update(temperature=temperature, top_p=1.0, top_k=0)
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        with torch.no_grad():
            out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                                 max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=stop,
                                 logits_processor=LogitsProcessorList(procs), **kw)
        return out, width

    def complete(self, convs, *, max_new_tokens, json_schema=None, temperature=0.0, seed=0, desc: str = ""):
        """One answer per conversation, in batches that fit (``desc``: the progress bar's label)."""
        import contextlib

        from almost.observe.console import progress

        self.ready()
        prompts = [self.prompt_ids(c) for c in convs]
        n = self.fitting_batch(max((len(p) for p in prompts), default=0) + max_new_tokens)
        out: list[str] = []
        label = desc or self.progress
        with progress() if label else contextlib.nullcontext() as bar:
            what = "IR" if json_schema is not None else "C#"
            task = bar.add_task(desc or f"{self.progress}: {what}", total=len(convs), info="") if bar is not None else None
            for i in range(0, len(prompts), n):
                gen, width = self.generate_ids(prompts[i:i + n], max_new_tokens=max_new_tokens,
                                               json_schema=json_schema, temperature=temperature, seed=seed + i)
                out += [self.tok.decode(row, skip_special_tokens=True) for row in gen[:, width:]]
                if bar is not None:
                    bar.advance(task, len(gen))
        return out

    def codes(self, irs: Sequence[dict], max_new_tokens: int, temperature: float = 0.0, seed: int = 0,
              desc: str = "") -> list[str]:
        """One C# program per IR (greedy when ``temperature`` is 0)."""
        answers = self.complete([conversation(ir) for ir in irs], max_new_tokens=max_new_tokens,
                                temperature=temperature, seed=seed, desc=desc)
        return [extract_code(a) for a in answers]


class LLMSampler:
    """``sampler/irgen-llm``: IR specs in (dicts or IR JSON), C# programs out, from a local model.

    :class:`LocalModel` behind the Sampler protocol: ``model`` (a transformers causal LM or a
    PeftModel) and its ``tokenizer``; greedy at ``temperature`` 0, else sampled, each call seeded
    by the generator's seed (``torch.Generator().manual_seed(s)``; none: 0). ``evaluate`` builds it
    as ``sampler/{evaluate.sampler}`` with ``model``, ``tokenizer``, ``batch_size``,
    ``max_new_tokens``, ``temperature`` and ``desc`` (a progress label)."""

    name = "irgen-llm"

    def __init__(self, model, tokenizer, batch_size: int = 8, max_new_tokens: int = 160,
                 temperature: float = 0.0, desc: str = "") -> None:
        self.lm = LocalModel(model, tokenizer, batch_size)
        self.max_new_tokens, self.temperature, self.desc = max_new_tokens, temperature, desc

    def example_conditions(self) -> list[dict]:
        import random

        from .synthgen import random_ir

        return [random_ir(random.Random(i)) for i in range(2)]

    def sample(self, conditions: Sequence[Any], *, generator: Any = None) -> list[str]:
        from .ir import loads, validate

        irs = [loads(c) if isinstance(c, str) else validate(c) for c in conditions]
        seed = int(generator.initial_seed()) if generator is not None else 0
        return self.lm.codes(irs, self.max_new_tokens, self.temperature, seed=seed, desc=self.desc)


class Endpoint:
    """An OpenAI-compatible ``/v1/chat/completions`` server (structured output via ``response_format``)."""

    def __init__(self, url: str, model: str, api_key: str = "", timeout_s: float = 120.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)

    def complete(self, convs, *, max_new_tokens, json_schema=None, temperature=0.0, seed=0):
        from almost.errors import UserError

        out = []
        for conv in convs:
            body: dict[str, Any] = {"model": self.model, "messages": chat_messages(conv),
                                    "max_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
            if json_schema is not None:
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "irgen_ir", "schema": json_schema}}
            try:
                r = self.client.post(f"{self.url}/chat/completions", json=body)
            except Exception as e:
                raise UserError(f"the endpoint {self.url} did not answer ({type(e).__name__}); is the server "
                                "running and the URL right (it ends in /v1)?") from None
            if r.status_code != 200:
                raise UserError(f"the endpoint {self.url} answered {r.status_code}: {r.text[:200]}")
            out.append(r.json()["choices"][0]["message"]["content"] or "")
        return out


def trained_model(run_dir: str | Path, hint: str = "first"):
    """``(run, model, tok)``: the finished irgen run ``run_dir`` (:func:`almost.open_run`) and its
    refined adapter (``refine/adapter``), else its trained one, on the base model as it was trained
    (a QLoRA run on its 4-bit base); ``hint`` ends the one sentence said when there is no adapter."""
    from almost import open_run
    from almost.errors import UserError

    from .model import base_folder, load_model, load_tokenizer

    path = Path(run_dir)
    missing = UserError(f"{path} has no trained adapter (train/adapter); run `almost run --plugin irgen` {hint}")
    if not (path / "config.toml").is_file():  # not a run (yet): the same sentence as a run without an adapter
        raise missing
    run = open_run(path, "irgen")
    adapter = run.find("refine/adapter", "train/adapter")
    if adapter is None or not adapter.is_dir():
        raise missing
    folder = base_folder(run.config.model.base, path / "base-model")
    tok = load_tokenizer(folder)
    model = load_model(folder, run.config.model.dtype, adapter=adapter, quantize_4bit=run.config.train.load_in_4bit)
    return run, model, tok


# -- results -------------------------------------------------------------------------------------
@attrs.define
class Attempt:
    code: str
    verdict: str
    errors: list[str] = attrs.Factory(list)


@attrs.define
class Result:
    """One request's way through the path: the IR (shown), each program tried, the verdict."""

    sentence: str | None
    ir: dict | None
    ir_problems: list[str] = attrs.Factory(list)
    ir_rounds: int = 0
    attempts: list[Attempt] = attrs.Factory(list)
    ir_completed: list[str] = attrs.Factory(list)  # components and "field NAME: TYPE" added because the ops imply them

    @property
    def best(self) -> Attempt | None:
        """The attempt kept: the best verdict (behaves, compiles, misbehaves, fails), the latest of equals.
        A repair round that breaks a program that compiled never replaces it."""
        if not self.attempts:
            return None
        return max(reversed(self.attempts), key=lambda a: RANK.get(a.verdict, 0))

    @property
    def code(self) -> str:
        return self.best.code if self.attempts else ""

    @property
    def verdict(self) -> str:
        if self.ir is None:
            return "no valid IR"
        return self.best.verdict if self.attempts else FAILS

    @property
    def compiles(self) -> bool:
        return self.verdict in (BEHAVES, COMPILES, MISBEHAVES)

    @property
    def ok(self) -> bool:
        return self.verdict in (BEHAVES, COMPILES)

    @property
    def repairs(self) -> int:
        return max(len(self.attempts) - 1, 0)

    def first(self) -> Attempt | None:
        return self.attempts[0] if self.attempts else None


def ir_feedback(found: list[str]) -> str:
    return ("That IR is not valid:\n" + "\n".join(f"- {p}" for p in found[:6]) +
            "\nWrite the whole corrected IR JSON.")


def code_feedback(a: Attempt) -> str:
    head = ("The script does not compile:" if a.verdict == FAILS
            else "The script compiles but does not do what the spec says:")
    return head + "\n" + "\n".join(f"- {e}" for e in a.errors[:6]) + "\nWrite the whole corrected script."


def repair_conversation(conv: list[dict], answer: str, a: Attempt) -> list[dict]:
    """The repair turn: ``conv`` (IR → C# so far), the model's ``answer`` as it wrote it, and the
    check ``a`` of its program as the next user turn (:func:`code_feedback`). The one definition
    :meth:`Generator.ir_to_code` sends and :mod:`almost_irgen.repairdata` trains on."""
    return [*conv, {"from": "gpt", "value": answer}, {"from": "human", "value": code_feedback(a)}]


# -- the generator -------------------------------------------------------------------------------
class Generator:
    """Sentence or IR → checked C#, with up to ``repair_rounds`` repair rounds."""

    def __init__(self, backend: Backend, checker=None, behaviour: Any = "auto", repair_rounds: int = 2,
                 max_new_tokens: int = 512, ir_tokens: int = 384, constrained: bool = True) -> None:
        from .csharp import find_compiler

        self.backend = backend
        self.checker = checker if checker is not None else find_compiler("auto")
        if behaviour == "auto":
            behaviour = None
            if getattr(self.checker, "compiles", False) and shutil.which("mono"):
                from .unitysim import BehaviourChecker

                behaviour = BehaviourChecker(self.checker)
        self.behaviour = behaviour
        self.repair_rounds = repair_rounds
        self.max_new_tokens, self.ir_tokens = max_new_tokens, ir_tokens
        self.schema = decoding_schema() if constrained else None

    @classmethod
    def from_run(cls, run_dir: str | Path, **kw) -> Generator:
        """The run's refined adapter (``refine/adapter``) or else its trained one, on its base model,
        with the run's own generation budgets and batch size (``almost.open_run``)."""
        run, model, tok = trained_model(run_dir, "first or name the run folder with --run")
        ev = run.config.evaluate
        kw.setdefault("max_new_tokens", ev.max_new_tokens)
        kw.setdefault("ir_tokens", ev.ir_max_new_tokens)
        return cls(LocalModel(model, tok, ev.batch_size), **kw)

    def close(self) -> None:
        self.checker.close()

    # -- steps -------------------------------------------------------------------------------
    def text_to_ir(self, sentences: Sequence[str], seed: int = 0) -> list[Result]:
        """Sentence → IR under the schema; IR that breaks a semantic rule goes back for repair."""
        results = [Result(s, None) for s in sentences]
        convs = [text_conversation(s) for s in sentences]
        todo = list(range(len(sentences)))
        for rnd in range(self.repair_rounds + 1):
            if not todo:
                break
            answers = self.backend.complete([convs[i] for i in todo], max_new_tokens=self.ir_tokens,
                                            json_schema=self.schema, seed=seed + rnd)
            left = []
            for i, text in zip(todo, answers):
                ir, found, added = parse_answer(text.strip())
                results[i].ir, results[i].ir_problems, results[i].ir_rounds = ir, found, rnd
                results[i].ir_completed = added
                if ir is None:
                    convs[i] = [*convs[i], {"from": "gpt", "value": text}, {"from": "human", "value": ir_feedback(found)}]
                    left.append(i)
            todo = left
        return results

    def check(self, irs: Sequence[dict], codes: Sequence[str]) -> list[Attempt]:
        if self.behaviour is None:
            results, behave = self.checker.check(list(codes)), None
        else:  # each program compiled once, for the compile verdict and the behaviour run
            results, behave = self.behaviour.compile_and_check(list(irs), list(codes))
        return attempts(codes, results, behave)

    def ir_to_code(self, results: Sequence[Result], seed: int = 0, rounds: int | None = None,
                   first: Sequence[str] | None = None, first_checked: Sequence[Attempt] | None = None) -> list[Result]:
        """IR → C#, checked; failing programs go back with their errors for up to ``rounds`` rounds.
        ``first``: the first answers (one per result with an IR) when they were generated already;
        ``first_checked``: their checks, when done already (used if the answers are their code as is)."""
        rounds = self.repair_rounds if rounds is None else rounds
        convs = {i: conversation(r.ir) for i, r in enumerate(results) if r.ir is not None}
        todo = sorted(convs)
        for rnd in range(rounds + 1):
            if not todo:
                break
            if rnd == 0 and first is not None:
                answers = list(first)
            else:
                answers = self.backend.complete([convs[i] for i in todo], max_new_tokens=self.max_new_tokens,
                                                seed=seed + rnd)
            codes = [extract_code(a) for a in answers]
            if rnd == 0 and first_checked is not None and [a.code for a in first_checked] == codes:
                checked = list(first_checked)
            else:
                checked = self.check([results[i].ir for i in todo], codes)
            left = []
            for i, text, a in zip(todo, answers, checked):
                results[i].attempts.append(a)
                if a.verdict in (FAILS, MISBEHAVES):
                    convs[i] = repair_conversation(convs[i], text, a)
                    left.append(i)
            todo = left
        return list(results)

    # -- the whole path ----------------------------------------------------------------------
    def generate_many(self, requests: Sequence[str | dict], seed: int = 0) -> list[Result]:
        """Each request is a sentence or an IR dict (then the text → IR step is skipped)."""
        results: list[Result] = [None] * len(requests)  # type: ignore[list-item]
        texts = [i for i, r in enumerate(requests) if isinstance(r, str)]
        for i, r in zip(texts, self.text_to_ir([requests[i] for i in texts], seed)):
            results[i] = r
        for i, r in enumerate(requests):
            if isinstance(r, dict):
                results[i] = Result(None, r)
        return self.ir_to_code(results, seed)

    def generate(self, request: str | dict, seed: int = 0) -> Result:
        return self.generate_many([request], seed)[0]


def attempts(codes: Sequence[str], results, behave=None) -> list[Attempt]:
    """One :class:`Attempt` per program from the compiler's results and (optionally) the behaviour results."""
    out = [Attempt(c, COMPILES if r.ok else FAILS, [] if r.ok else list(r.errors) or [r.describe()])
           for c, r in zip(codes, results)]
    for a, b in zip(out, behave or []):
        if a.verdict == COMPILES:
            a.verdict = BEHAVES if b.ok else MISBEHAVES
            a.errors = list(b.failed)
    return out


def describe(result: Result) -> str:
    """The verdict in one line, as the CLI prints it."""
    if result.ir is None:
        return f"no valid IR after {result.ir_rounds + 1} tries: {'; '.join(result.ir_problems[:2])}"
    rep = f" after {result.repairs} repair round{'s' if result.repairs != 1 else ''}" if result.repairs else ""
    kept = result.best
    why = f": {kept.errors[0]}" if kept is not None and kept.errors else ""
    which = (f" (kept attempt {result.attempts.index(kept) + 1}: the later ones were worse)"
             if kept is not None and kept is not result.attempts[-1] else "")
    return f"{result.verdict}{rep}{which}{why}"


def ir_text(result: Result) -> str:
    return dumps(result.ir) if result.ir is not None else ""


@attrs.define
class Checking:
    """How the generate path's metrics judge and repair programs: the compiler, the behaviour
    checker (None: compile only), the repair rounds and the generation budgets."""

    checker: Any
    behaviour: Any = None
    repair_rounds: int = 1
    max_new_tokens: int = 160
    ir_tokens: int = 384


def text_and_repair_metrics(backend: Backend, prompts: Sequence[str], irs: Sequence[dict],
                            first: Sequence[str] | Sequence[Attempt], how: Checking,
                            details: list[dict] | None = None) -> dict[str, float]:
    """What ``evaluate`` adds for the generate path, on the same held-out specs:

    * ``ir_at_1_from_text`` — the sentence → IR answer (greedy, schema-constrained, no repair) is
      valid IR whose triggers and ops match the reference (:func:`almost_irgen.text2ir.ir_matches`);
      ``ir_valid_from_text`` — it is valid IR at all (over the specs that have a sentence);
      ``ir_completed_from_text`` — the share of answers that left out a component or a field
      declaration their ops imply, which was added (:func:`almost_irgen.ir.complete_components`,
      :func:`almost_irgen.ir.complete_fields`);
    * ``compile_at_1_with_repair`` / ``behaviour_at_1_with_repair`` — after up to ``how.repair_rounds``
      rounds of feeding the errors back, starting from the greedy programs ``first`` (their code,
      or their :class:`Attempt` when checked already);
    * ``repair_failing_first``, ``repair_fixed_by_one_round`` and ``repair_fix_rate`` (their
      ratio; absent when no first attempt failed): :func:`repair_fixes`;
    * ``text_to_ir_s`` / ``repair_s`` — the seconds each part took.

    ``details``, if given, gets one dict per spec: the sentence → IR answer (``ir_from_text``,
    its problems, whether it matched, the components completed) and the verdict after repair.
    """
    gen = Generator(backend, checker=how.checker, behaviour=how.behaviour, repair_rounds=how.repair_rounds,
                    max_new_tokens=how.max_new_tokens, ir_tokens=how.ir_tokens)
    if details is not None:
        details[:] = [{} for _ in irs]
    out = _text_metrics(gen, prompts, irs, details)
    out.update(_repair_metrics(gen, irs, first, details))
    return out


def _text_metrics(gen: Generator, prompts: Sequence[str], irs: Sequence[dict], details: list[dict] | None) -> dict:
    """The sentence → IR half of :func:`text_and_repair_metrics` (no repair round)."""
    import time

    from .text2ir import ir_matches

    with_text = [(p, ir) for p, ir in zip(prompts, irs) if p]
    if not with_text:
        return {}
    t0, rounds = time.time(), gen.repair_rounds
    gen.repair_rounds = 0
    got = gen.text_to_ir([p for p, _ in with_text])
    gen.repair_rounds = rounds
    out = {"ir_at_1_from_text": sum(ir_matches(r.ir, ref) for r, (_, ref) in zip(got, with_text)) / len(with_text),
           "ir_valid_from_text": sum(r.ir is not None for r in got) / len(with_text),
           "ir_completed_from_text": sum(bool(r.ir_completed) for r in got) / len(with_text),
           "text_to_ir_s": time.time() - t0}
    if details is not None:
        answers = iter(got)
        for d, p, ref in zip(details, prompts, irs):
            if p:
                r = next(answers)
                d.update(ir_from_text=r.ir, ir_from_text_problems=r.ir_problems,
                         ir_from_text_matches=ir_matches(r.ir, ref), ir_from_text_completed=r.ir_completed)
    return out


def _repair_metrics(gen: Generator, irs: Sequence[dict], first: Sequence, details: list[dict] | None) -> dict:
    """The IR → C# half of :func:`text_and_repair_metrics`: the repair rounds from ``first``."""
    import time

    t0 = time.time()
    done = list(first) if first and isinstance(first[0], Attempt) else None
    codes = [a.code for a in done] if done is not None else list(first)
    res = gen.ir_to_code([Result(None, ir) for ir in irs], first=codes, first_checked=done)
    out: dict[str, float] = {"compile_at_1_with_repair": sum(r.compiles for r in res) / max(len(res), 1)}
    if gen.behaviour is not None:
        out["behaviour_at_1_with_repair"] = sum(r.verdict == BEHAVES for r in res) / max(len(res), 1)
    out["repair_rounds"] = gen.repair_rounds
    if gen.repair_rounds:
        out.update(repair_fixes(res))
    out["repair_s"] = time.time() - t0
    if details is not None:
        for d, r in zip(details, res):
            d.update(verdict_with_repair=r.verdict, repairs=r.repairs)
    return out


def repair_fixes(results: Sequence[Result]) -> dict[str, float]:
    """How many first attempts failed (did not compile, or misbehaved), how many of those the
    first repair round fixed (its program behaves, or compiles where no behaviour check ran),
    and ``repair_fix_rate``, the share fixed (absent when none failed)."""
    failing = [r for r in results if r.attempts and r.attempts[0].verdict in (FAILS, MISBEHAVES)]
    fixed = sum(len(r.attempts) > 1 and r.attempts[1].verdict in (BEHAVES, COMPILES) for r in failing)
    out = {"repair_failing_first": float(len(failing)), "repair_fixed_by_one_round": float(fixed)}
    if failing:
        out["repair_fix_rate"] = fixed / len(failing)
    return out


def endpoint_codes(cfg, irs: Sequence[dict]) -> list[str]:
    """``evaluate.endpoint``: the served model's program for each IR (same prompt as the local model)."""
    import os

    ep = Endpoint(cfg.endpoint, cfg.endpoint_model, os.environ.get(cfg.endpoint_key_env, ""))
    return [extract_code(t) for t in ep.complete([conversation(ir) for ir in irs], max_new_tokens=cfg.max_new_tokens)]
