"""The core's shape (issue 23): its modules import one another without a cycle, and no core
module names a plugin or a plugin's metrics (the plugins register what they need)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "almost"
# the lead reworks the new-plugin template (issue 23); its README text still names two plugins
PLUGIN_WORDS = re.compile(r"gamengen|ddpo|irgen|psnr|lpips|ssim|return_random|compile@|behaviour", re.I)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports_at_module_level(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ``almost`` that ``name`` imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:  # module level only: a function's imports run when it is called
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(sub, ast.Import):
                found |= {a.name for a in sub.names}
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    up = package.split(".")[: len(package.split(".")) - sub.level + 1]
                    base = ".".join(up + ([sub.module] if sub.module else []))
                found.add(base)
                found |= {f"{base}.{a.name}" for a in sub.names}
    return {m for m in found if m in known and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, a]``), or None. A module's own package (whose
    ``__init__`` runs first) importing the module back is not a cycle."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for name in graph:
        if name not in state and (found := visit(name, [name])):
            return found
    return None


def test_the_core_imports_without_a_cycle():
    mods = _modules()
    graph = {name: _imports_at_module_level(name, path, set(mods)) for name, path in mods.items()}
    assert graph["almost.runs.driver"] >= {"almost.runs.context", "almost.runs.rundir"}  # the graph is real
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_is_found():
    """The check above can fail: the old circle console -> report -> history -> tracking -> console."""
    graph = {"console": {"report"}, "report": {"history"}, "history": {"tracking"}, "tracking": {"console"},
             "cli": {"console"}}
    assert _cycle(graph) == ["console", "report", "history", "tracking", "console"]
    assert _cycle({**graph, "tracking": set()}) is None


def test_no_core_module_names_a_plugin_or_its_metrics():
    hits = []
    for path in sorted(SRC.rglob("*.py")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PLUGIN_WORDS.search(line):
                hits.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_the_report_and_the_console_format_numbers_alike():
    from almost.observe import console, report
    from almost.observe.format import format_number

    for v in (100000.0, 1210.4, 0.5, 3.2e12, 9.8e-05, None, float("nan"), True):
        assert report._fmt(v) == console._fmt(v) == format_number(v)
    assert format_number(100000.0) == "100,000" and format_number(9.8e-05) == "9.8e-05"
