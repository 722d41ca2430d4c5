"""``almost irgen check FILE.cs... [--ir SPEC.json]``: one verdict per file, as a person or a tool reads it.

Each file is compiled on its own against the UnityEngine surface (see
:mod:`almost_irgen.csharp`). The verdict is ``compiles``, the first error's code and line,
or "needs newer C#" when the file uses a feature mcs lacks. The exit status is 0 only when
every file compiles. ``--json`` prints one JSON object per file instead.

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


def main(files: list[str], as_json: bool = False, workers: int = 1, ir_path: str | None = None) -> int:
    from rich.markup import escape

    from almost.observe.console import console

    from .csharp import COMPILES, NEWER, find_compiler

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
            row = {"file": f, "verdict": r.verdict, "compiled": checker.compiles,
                   "code": r.codes[0] if r.codes else None, "line": r.line or None,
                   "feature": r.feature or None, "errors": r.errors}
            if ir is not None:
                row["behaviour"] = None if b is None else "behaves" if b.ok else "misbehaves"
                row["differences"] = [] if b is None else b.failed
                row["unchecked_ops"] = 0 if b is None else b.unchecked_ops
            print(json.dumps(row))
            continue
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
    if not checker.compiles and not as_json:
        console.print("[yellow]mcs is not installed: only the syntax was checked (apt-get install mono-mcs)[/]")
    if behaviour is not None:
        return 0 if all(r.ok and b.ok for r, b in zip(results, behaviour)) else 1
    return 0 if all(r.ok for r in results) else 1
