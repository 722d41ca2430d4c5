"""Trying specs by hand: read IR JSON from the terminal, print the model's C# and its check."""

from __future__ import annotations

from almost.errors import UserError
from almost.observe.console import console

from .conformance import check as conformance
from .generate import generate_code
from .ir import loads


def loop(model, tok, checker, max_new_tokens: int) -> None:
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
        code = generate_code(model, tok, [ir], max_new_tokens, 1)[0]
        result = checker.check([code])[0]
        score, failed = conformance(ir, code)
        console.print(code)
        console.print(f"{'compiles' if result.ok else 'does not compile: ' + '; '.join(result.errors[:3])}"
                      f" · conformance {score:.2f}" + (f" (missing: {', '.join(failed)})" if failed else ""))
