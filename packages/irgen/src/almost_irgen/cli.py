"""The ``almost irgen`` verbs: ``try``, ``generate``, ``serve``, ``check``, ``gguf`` and ``memory``.

:func:`register` adds the ``irgen`` group to the ``almost`` CLI (the plugin's
``almost_commands`` hook); each verb's body is the function of the same name below. A finished
run is read through :func:`almost.open_run` (:func:`almost_irgen.generator.trained_model`).

``almost irgen check FILE.cs... [--ir SPEC.json]``: each file is compiled on its own against the
UnityEngine surface (see :mod:`almost_irgen.csharp`). The verdict is ``compiles``, the first
error's code and line, or "needs newer C#" when the file uses a feature mcs lacks. The exit
status is 0 only when every file compiles. ``--json`` prints one JSON object per file instead.
With ``--ir SPEC.json`` each file that compiles is also run in the simulated Unity
(:mod:`almost_irgen.unitysim`) and judged against the spec: a second verdict, ``behaves`` or
``misbehaves`` with one line per observable that differed. The exit status is then 0 only when
every file behaves (1 when one misbehaves or does not compile); an IR file that does not
validate is one sentence and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from almost.errors import UserError


def register(cli) -> None:
    """The ``irgen`` command group and its verbs."""

    @cli.group("irgen")
    def irgen():
        """irgen tools: try a trained run, convert to GGUF, estimate GPU memory."""

    @irgen.command("try")
    @click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="the irgen run folder")
    def try_(run_dir):
        """Read IR JSON lines from the terminal and print the fine-tuned model's C#."""
        try_run(run_dir)

    @irgen.command("generate")
    @click.argument("request")
    @click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False),
                  help="the irgen run folder (default: runs/irgen/tiny)")
    @click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
                  help="where to write the script (default: CLASSNAME.cs)")
    @click.option("--repair", "repair", default=2, show_default=True, type=click.IntRange(0, 10),
                  help="repair rounds: failing code goes back with the compiler's or checker's errors")
    @click.option("--ir-only", is_flag=True, help="print the IR and stop")
    def generate_(request, run_dir, out, repair, ir_only):
        """A sentence (or IR JSON) → IR (shown) → C# → compile + behaviour check → repair → a .cs file."""
        generate(request, run_dir, out, repair, ir_only)

    @irgen.command("serve")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="port (0: any free)")
    @click.option("--repair", "repair", default=2, show_default=True, type=click.IntRange(0, 10),
                  help="default repair rounds (a request may send repair_rounds)")
    @click.option("--api-key", default=None, envvar="ALMOST_API_KEY",
                  help="the bearer key clients send (default: $ALMOST_API_KEY, else a new one printed at start)")
    def serve_(run_dir, host, port, repair, api_key):
        """An OpenAI-compatible /v1/chat/completions for the run's model (sentence → IR → C#, with repair)."""
        serve(run_dir, host, port, repair, api_key)

    @irgen.command("check")
    @click.argument("files", nargs=-1, type=click.Path())
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per file")
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="compile processes")
    @click.option("--ir", "ir_path", default=None, metavar="SPEC.json",
                  help="also run each file in a simulated Unity and judge it against this IR spec")
    def check_(files, as_json, workers, ir_path):
        """Compile C# files against Unity's API, each on its own: a verdict per file; exit 0 only if all compile.

        With --ir SPEC.json, also a behaviour verdict per file; exit 0 only if all behave."""
        if check(list(files), as_json, workers, ir_path) != 0:
            raise NotAllCompile()

    @irgen.command("gguf")
    @click.argument("model_dir")
    @click.argument("out", type=click.Path(dir_okay=False))
    @click.option("--outtype", type=click.Choice(["f32", "f16", "q8_0"]), default="f16", show_default=True,
                  help="tensor type of the 2-D weights")
    def gguf_(model_dir, out, outtype):
        """Convert a transformers model folder (or hub id) to GGUF for llama.cpp / Ollama / LM Studio."""
        gguf(model_dir, out, outtype)

    @irgen.command("memory")
    @click.option("--profile", default="full", show_default=True, help="irgen config profile")
    @click.option("--model", "model", default=None,
                  help="preset (olmo3-7b, qwen2.5-7b, llama3.1-8b, mistral-7b), a model folder or a config.json; "
                       "default: the profile's model.base when it is a folder, else olmo3-7b")
    @click.option("--set", "sets", multiple=True, help="config overrides, e.g. train.batch_tokens=4096")
    @click.option("--gpu-gb", type=float, default=16.0, show_default=True, help="card size to compare against")
    def memory_(profile, model, sets, gpu_gb):
        """Estimate the peak GPU memory of training (and generation) on the meta device: nothing is allocated."""
        memory(profile, model, sets, gpu_gb)


# -- try ------------------------------------------------------------------------------------------
def try_run(run_dir: str) -> None:
    """``almost irgen try --run DIR``: the interactive mode outside a pipeline run, on the run's
    refined adapter (else its trained one) and its own generation budget."""
    from .csharp import find_compiler
    from .generator import trained_model

    run, model, tok = trained_model(run_dir)
    loop(model, tok, find_compiler(run.config.evaluate.compiler), run.config.evaluate.max_new_tokens)


def loop(model, tok, checker, max_new_tokens: int) -> None:
    """Trying specs by hand: read IR JSON from the terminal, print the model's C# and its check
    (``try``, and ``evaluate.interactive`` after the evaluation)."""
    from almost.observe.console import console

    from .conformance import check as conformance
    from .generator import LocalModel
    from .ir import loads

    lm = LocalModel(model, tok, batch_size=1)
    console.print("Paste an IR spec as one line of JSON (empty line or Ctrl-D ends).")
    while True:
        try:
            text = input("ir> ").strip()
        except EOFError:
            break
        if not text:
            break
        try:
            ir = loads(text)
        except UserError as e:
            console.print(f"[red]{e}[/]")
            continue
        code = lm.codes([ir], max_new_tokens)[0]
        result = checker.check([code])[0]
        score, failed = conformance(ir, code)
        console.print(code)
        console.print(f"{'compiles' if result.ok else 'does not compile: ' + '; '.join(result.errors[:3])}"
                      f" · conformance {score:.2f}" + (f" (missing: {', '.join(failed)})" if failed else ""))


# -- generate -------------------------------------------------------------------------------------
def generate(request: str, run_dir: str | None, out: str | None, repair: int, ir_only: bool = False) -> None:
    """``almost irgen generate "a coin that spins ..." [--run RUN] [--out Coin.cs]``: the path, for a person."""
    from almost.runs import default_run_dir

    from .generator import Generator
    from .ir import loads

    if not request.strip():
        raise UserError('say what the script should do: almost irgen generate "a coin that spins"')
    req: str | dict = request
    if request.lstrip().startswith("{"):
        req = loads(request, "the IR given")
    run = Path(run_dir) if run_dir else default_run_dir("irgen", "tiny")
    gen = Generator.from_run(run, repair_rounds=repair)
    try:
        if ir_only and isinstance(req, str):
            r = gen.text_to_ir([req])[0]
            if r.ir is None:
                raise UserError(f"the model gave no valid IR: {'; '.join(r.ir_problems[:2])}")
            print(json.dumps(r.ir, indent=2))
            return
        result = gen.generate(req)
    finally:
        gen.close()
    _show_generated(result, out)


def _show_generated(result, out: str | None) -> None:
    """Print the IR and the attempts not kept, write the script; exit 1 unless it compiles or behaves."""
    from rich.markup import escape

    from almost.io import atomic_write
    from almost.observe.console import console

    from .generator import BEHAVES, COMPILES, describe, ir_text

    console.print("[bold]IR[/]")
    console.print(escape(json.dumps(result.ir, indent=2) if result.ir else ir_text(result) or "-"), highlight=False)
    if result.ir_completed:  # what the ops imply and the model's answer left out
        console.print(f"[dim]added because the ops need it: {escape(', '.join(result.ir_completed))}[/]", highlight=False)
    if result.ir is None:
        raise UserError(f"no script: {describe(result)}")
    for n, a in enumerate(result.attempts):
        if a is result.best:
            continue
        console.print(f"[yellow]attempt {n + 1}: {escape(a.verdict)}[/]: {escape(a.errors[0] if a.errors else '')}",
                      highlight=False)
    target = Path(out) if out else Path(f"{result.ir['class_name']}.cs")
    atomic_write(target, result.code)
    style = "green" if result.verdict in (BEHAVES, COMPILES) else "red"
    console.print(f"wrote {escape(str(target))}: [{style}]{escape(describe(result))}[/]", highlight=False)
    if result.verdict not in (BEHAVES, COMPILES):
        raise SystemExit(1)


# -- serve ----------------------------------------------------------------------------------------
def serve(run_dir: str, host: str, port: int, repair: int, api_key: str | None) -> None:
    """``almost irgen serve RUN``: the run's model behind the OpenAI-compatible API of
    :mod:`almost_irgen.serve`, in the foreground until Ctrl-C."""
    from almost.observe.console import console

    from .generator import Generator
    from .serve import MODEL, MODEL_IR, server

    gen = Generator.from_run(run_dir, repair_rounds=repair)
    srv = server(gen, host, port, api_key)

    def started(_url: str) -> None:
        console.print(f"OpenAI-compatible API: {srv.base_url}/v1 · models {MODEL}, {MODEL_IR} · "
                      f"key: {srv.token}", highlight=False)
        console.print(f"e.g. LLM_URL={srv.base_url}/v1 LLM_API_KEY={srv.token} (Ctrl-C stops)", highlight=False)

    try:
        srv.serve(started)
    finally:
        gen.close()


# -- check ----------------------------------------------------------------------------------------
class NotAllCompile(click.ClickException):
    """Exit status 1 once the verdicts are printed (nothing more to say)."""

    exit_code = 1

    def __init__(self) -> None:
        super().__init__("not every file compiles")

    def show(self, file=None) -> None:
        pass


def _read_ir(path: str) -> dict:
    from .ir import loads

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path} is not a file; give the path of an IR JSON file (--ir SPEC.json)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    return loads(text, source=path)


def _read_sources(files: list[str]) -> list[str]:
    if not files:
        raise UserError("name at least one C# file: almost irgen check FILE.cs ...")
    sources = []
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise UserError(f"{f} is not a file; give the path of a .cs file")
        try:
            sources.append(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"{f} is not UTF-8 text; save it as UTF-8") from None
    return sources


def check(files: list[str], as_json: bool = False, workers: int = 1, ir_path: str | None = None) -> int:
    """``almost irgen check``: print one verdict per file; the exit status (see the module's docstring)."""
    from .csharp import find_compiler

    sources = _read_sources(files)
    ir = _read_ir(ir_path) if ir_path is not None else None  # a bad spec stops before any compiling
    checker = find_compiler("auto", workers=workers)
    behaviour = None
    try:
        if ir is None:
            results = checker.check(sources)
        else:
            import shutil

            from .unitysim import BehaviourChecker

            if not checker.compiles or shutil.which("mono") is None:
                raise UserError("the behaviour check (--ir) runs programs with mono: install mono-mcs "
                                "(apt-get install mono-mcs), or check without --ir")
            results, behaviour = BehaviourChecker(checker).compile_and_check([ir] * len(sources), sources)
    finally:
        checker.close()
    for i, (f, r) in enumerate(zip(files, results)):
        b = behaviour[i] if behaviour is not None and r.ok else None
        if as_json:
            print(json.dumps(_verdict_row(f, r, b, checker.compiles, ir is not None)))
        else:
            _print_verdict(f, r, b, ir_path)
    if not checker.compiles and not as_json:
        from almost.observe.console import console

        console.print("[yellow]mcs is not installed: only the syntax was checked (apt-get install mono-mcs)[/]")
    if behaviour is not None:
        return 0 if all(r.ok and b.ok for r, b in zip(results, behaviour)) else 1
    return 0 if all(r.ok for r in results) else 1


def _verdict_row(f: str, r, b, compiled: bool, with_ir: bool) -> dict:
    row = {"file": f, "verdict": r.verdict, "compiled": compiled, "code": r.codes[0] if r.codes else None,
           "line": r.line or None, "feature": r.feature or None, "errors": r.errors}
    if with_ir:
        row["behaviour"] = None if b is None else "behaves" if b.ok else "misbehaves"
        row["differences"] = [] if b is None else b.failed
        row["unchecked_ops"] = 0 if b is None else b.unchecked_ops
    return row


def _print_verdict(f: str, r, b, ir_path: str | None) -> None:
    from rich.markup import escape

    from almost.observe.console import console

    from .csharp import COMPILES, NEWER

    style = "green" if r.verdict == COMPILES else "yellow" if r.verdict == NEWER else "red"
    console.print(f"{escape(f)}: [{style}]{escape(r.describe())}[/]", highlight=False, soft_wrap=True)
    if b is not None and b.ok:
        note = f" ({b.unchecked_ops} custom op(s) not checked)" if b.unchecked_ops else ""
        console.print(f"{escape(f)}: [green]behaves as {escape(ir_path)} says[/]{escape(note)}",
                      highlight=False, soft_wrap=True)
    elif b is not None:
        console.print(f"{escape(f)}: [red]misbehaves[/] ({len(b.failed)} observable(s) differ from "
                      f"{escape(ir_path)}):", highlight=False, soft_wrap=True)
        for line in b.failed:
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


# -- gguf, memory ---------------------------------------------------------------------------------
def gguf(model_dir: str, out: str, outtype: str) -> None:
    """``almost irgen gguf``: a transformers folder (or hub id) → one GGUF file."""
    from almost.observe.console import console

    from .gguf_export import convert

    path = convert(model_dir, out, outtype)
    console.print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")


def memory(profile: str, model: str | None, sets, gpu_gb: float) -> None:
    """``almost irgen memory``: the estimated peak GPU memory of the profile's training."""
    from almost.observe.console import console
    from almost.plugins import load

    from .memory import load_config, report

    cfg = load().pipeline("irgen").resolve_config(profile, None, sets)
    if model is None:
        model = cfg.model.base if (Path(cfg.model.base) / "config.json").is_file() else "olmo3-7b"
    _, text = report(load_config(model), cfg.train, cfg.model.dtype, cfg.evaluate, gpu_gb=gpu_gb)
    console.print(text)
