"""``almost irgen generate "a coin that spins ..." [--run RUN] [--out Coin.cs]``: the path, for a person."""

from __future__ import annotations

import json
from pathlib import Path

from almost.errors import UserError


def main(request: str, run_dir: str | None, out: str | None, repair: int, ir_only: bool = False) -> None:
    from rich.markup import escape

    from almost.io import atomic_write
    from almost.observe.console import console
    from almost.runs import default_run_dir

    from .ir import loads
    from .pipeline_api import BEHAVES, COMPILES, Generator, describe, ir_text

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
