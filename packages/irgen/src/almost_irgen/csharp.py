"""Checking C#: mono's ``mcs`` against a shipped ``UnityEngine`` stub, or a tree-sitter parse.

:func:`find_compiler` returns a :class:`MonoCompiler` when ``mcs`` is installed (it builds
``data/UnityEngineStub.cs`` into ``UnityEngine.dll`` once and caches it, keyed by the stub's
hash, under ``$ALMOST_CACHE`` or ``~/.cache/almost``), else a :class:`SyntaxChecker` that
parses with tree-sitter C# and says plainly that compilation was skipped.

``check(sources)`` returns one :class:`CheckResult` per source. Compiling every file on its
own costs a mono start-up each (~1 s), so a batch is compiled first; files named in the
errors are then compiled alone, and the rest again as a batch (one file's syntax error stops
mcs before it reports the others' semantic errors).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import attrs

from almost.errors import UserError
from almost.io import atomic_path

_ERR_RE = re.compile(r"^(?P<file>[^(\n]+\.cs)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>CS\d+): (?P<msg>.*)$", re.M)
_CLASS_RE = re.compile(r"\bclass\s+([A-Za-z_]\w*)")


@attrs.define
class CheckResult:
    ok: bool
    errors: list[str] = attrs.Factory(list)  # "CS0103: The name `x' does not exist..."

    @property
    def codes(self) -> list[str]:
        return [e.split(":", 1)[0] for e in self.errors]


# an empty answer compiles with mcs, but it is not a script: it fails
NO_CLASS = CheckResult(False, ["EMPTY: the answer declares no class"])


def error_codes(results: Sequence[CheckResult]) -> Counter:
    """Error code → how many sources had it (each code counted once per source)."""
    return Counter(code for r in results for code in set(r.codes))


def cache_dir() -> Path:
    return Path(os.environ.get("ALMOST_CACHE", Path.home() / ".cache" / "almost")) / "irgen"


def stub_source() -> str:
    return resources.files("almost_irgen").joinpath("data/UnityEngineStub.cs").read_text("utf-8")


class MonoCompiler:
    """C# 7.x through mono's ``mcs``, referencing the UnityEngine stub."""

    name = "mcs"
    compiles = True

    def __init__(self, mcs: str = "mcs") -> None:
        found = shutil.which(mcs)
        if found is None:
            raise UserError(f"C# compiler {mcs!r} is not installed; install it with `apt-get install mono-mcs`")
        self.mcs = found
        self.stub_dll = self._build_stub()

    def _build_stub(self) -> Path:
        src = stub_source()
        digest = hashlib.sha256((src + self.mcs).encode()).hexdigest()[:16]
        dll = cache_dir() / f"UnityEngine-{digest}.dll"
        if dll.is_file():
            return dll
        with tempfile.TemporaryDirectory() as tmp:
            cs = Path(tmp) / "UnityEngineStub.cs"
            cs.write_text(src, encoding="utf-8")
            with atomic_path(dll, suffix=".dll.tmp") as out:
                proc = subprocess.run([self.mcs, "-target:library", "-nowarn:0169,0649,0414", f"-out:{out}", str(cs)],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError(f"building the UnityEngine stub failed:\n{proc.stdout}{proc.stderr}")
        return dll

    def _run(self, files: Sequence[Path], workdir: Path) -> dict[str, list[str]]:
        """Compile ``files`` together; file name → its errors (empty dict: success)."""
        proc = subprocess.run(
            [self.mcs, "-target:library", "-nowarn:0169,0649,0414,0219",
             f"-r:{self.stub_dll}", f"-out:{workdir / 'out.dll'}", *[f.name for f in files]],
            capture_output=True, text=True, cwd=workdir,
        )
        errs: dict[str, list[str]] = {}
        for m in _ERR_RE.finditer(proc.stdout + proc.stderr):
            errs.setdefault(Path(m["file"]).name, []).append(f"{m['code']}: {m['msg'].strip()}")
        if proc.returncode != 0 and not errs:
            errs["*"] = [f"CS0000: mcs failed: {(proc.stdout + proc.stderr).strip()[:300]}"]
        return errs

    def check(self, sources: Sequence[str]) -> list[CheckResult]:
        results: list[CheckResult | None] = [NO_CLASS if not _CLASS_RE.search(s) else None for s in sources]
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            files = []
            for i, src in enumerate(sources):
                f = work / f"s{i:05d}.cs"
                f.write_text(src, encoding="utf-8")
                files.append(f)
            # batches in which no class name repeats (duplicates would be CS0101 errors)
            pending = [i for i, r in enumerate(results) if r is None]
            while pending:
                seen, batch, rest = set(), [], []
                for i in pending:
                    names = set(_CLASS_RE.findall(sources[i]))
                    (rest if names & seen else batch).append(i)
                    seen |= names
                self._check_batch(batch, files, work, results)
                pending = rest
        return [r if r is not None else CheckResult(False, ["CS0000: not checked"]) for r in results]

    def _check_batch(self, idx: list[int], files: list[Path], work: Path, results: list) -> None:
        while idx:
            errs = self._run([files[i] for i in idx], work)
            if not errs:
                for i in idx:
                    results[i] = CheckResult(True)
                return
            bad = [i for i in idx if files[i].name in errs]
            if not bad:  # errors we cannot attribute: check each file alone
                bad = list(idx)
            for i in bad:
                alone = self._run([files[i]], work) if len(idx) > 1 else errs
                results[i] = CheckResult(not alone, [e for v in alone.values() for e in v])
            idx = [i for i in idx if i not in bad]


class SyntaxChecker:
    """No compiler installed: parse with tree-sitter C# (syntax only, no type checking)."""

    name = "tree-sitter"
    compiles = False

    def __init__(self) -> None:
        import tree_sitter
        import tree_sitter_c_sharp

        self.parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))

    def check(self, sources: Sequence[str]) -> list[CheckResult]:
        out = []
        for src in sources:
            if not _CLASS_RE.search(src):
                out.append(NO_CLASS)
                continue
            tree = self.parser.parse(src.encode("utf-8"))
            if not tree.root_node.has_error and src.strip():
                out.append(CheckResult(True))
                continue
            node = _first_error(tree.root_node)
            where = f" at line {node.start_point[0] + 1}" if node is not None else ""
            out.append(CheckResult(False, [f"SYNTAX: syntax error{where}"]))
        return out


def _first_error(node):
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error:
            found = _first_error(child)
            if found is not None:
                return found
    return None


def find_compiler(kind: str = "auto"):
    """``auto``: mcs when installed, else tree-sitter; ``mcs`` insists; ``syntax`` never compiles."""
    if kind == "syntax" or (kind == "auto" and shutil.which("mcs") is None):
        return SyntaxChecker()
    return MonoCompiler()
