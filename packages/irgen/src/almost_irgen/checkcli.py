"""``almost irgen check FILE.cs...``: one verdict per file, as a person or a tool reads it.

Each file is compiled on its own against the UnityEngine surface (see
:mod:`almost_irgen.csharp`). The verdict is ``compiles``, the first error's code and line,
or "needs newer C#" when the file uses a feature mcs lacks. The exit status is 0 only when
every file compiles. ``--json`` prints one JSON object per file instead.
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


def main(files: list[str], as_json: bool = False, workers: int = 1) -> int:
    from rich.markup import escape

    from almost.console import console

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
    checker = find_compiler("auto", workers=workers)
    try:
        results = checker.check(sources)
    finally:
        checker.close()
    for f, r in zip(files, results):
        if as_json:
            print(json.dumps({"file": f, "verdict": r.verdict, "compiled": checker.compiles,
                              "code": r.codes[0] if r.codes else None, "line": r.line or None,
                              "feature": r.feature or None, "errors": r.errors}))
        else:
            style = "green" if r.verdict == COMPILES else "yellow" if r.verdict == NEWER else "red"
            console.print(f"{escape(f)}: [{style}]{escape(r.describe())}[/]", highlight=False, soft_wrap=True)
    if not checker.compiles and not as_json:
        console.print("[yellow]mcs is not installed: only the syntax was checked (apt-get install mono-mcs)[/]")
    return 0 if all(r.ok for r in results) else 1
