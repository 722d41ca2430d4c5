"""Checking C#: mono's ``mcs`` against the shipped ``UnityEngine``, or a tree-sitter parse.

:func:`find_compiler` returns a :class:`MonoCompiler` when ``mcs`` is installed, else a
:class:`SyntaxChecker` that parses with tree-sitter C# and says plainly that compilation was
skipped.

``UnityEngine`` (``data/UnityEngineStub.cs``) is Unity's API surface as scripts see it —
read-only properties where Unity's are read-only, struct properties returning copies, the
full ``KeyCode`` enum, Unity's overloads — with working bodies, so the same assembly also
runs scripts in the behaviour check (:mod:`almost_irgen.unitysim`). It is built once and
cached, keyed by the sources' hash, under ``$ALMOST_CACHE`` or ``~/.cache/almost``.

Every sample is compiled **on its own** (its own assembly referencing only ``UnityEngine``:
no class of one sample can satisfy another's reference), and fast: ``mcs.exe`` is loaded as
a library into one long-lived mono process per worker (``data/CompileServer.cs``) and
called once per sample, which saves the ~0.4 s start-up of one ``mcs`` process per sample
(``benchmarks/bench_irgen_check.py`` measures both).

Each :class:`CheckResult` has a ``verdict``: ``compiles``, ``error`` (with the code and
line of the first error) or ``newer_csharp`` — the file uses a C# feature newer than mcs
supports (switch expressions, ``??=``, records, local functions ...; Unity 2021+ accepts them),
so mcs cannot judge it; that is not counted as a model error by the ``check`` command.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import attrs

from almost.errors import UserError

_ERR_RE = re.compile(r"^(?P<file>[^(\n]+\.cs)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>CS\d+): (?P<msg>.*)$", re.M)
_CLASS_RE = re.compile(r"\b(class|struct)\s+([A-Za-z_]\w*)")
_END = "\x01END "

COMPILES, ERROR, NEWER = "compiles", "error", "newer_csharp"


@attrs.define
class CheckResult:
    ok: bool
    errors: list[str] = attrs.Factory(list)  # "CS0103: The name `x' does not exist..."
    lines: list[int] = attrs.Factory(list)  # the line of each error (0: unknown)
    verdict: str = ""  # compiles | error | newer_csharp
    feature: str = ""  # for newer_csharp: the feature mcs lacks
    dll: Path | None = None  # the compiled assembly, when kept

    def __attrs_post_init__(self) -> None:
        if not self.verdict:
            self.verdict = COMPILES if self.ok else ERROR

    @property
    def codes(self) -> list[str]:
        return [e.split(":", 1)[0] for e in self.errors]

    @property
    def line(self) -> int:
        return self.lines[0] if self.lines else 0

    def describe(self) -> str:
        """One line: ``compiles`` / ``CS1612 at line 7: ...`` / ``needs newer C# (...)``."""
        if self.verdict == COMPILES:
            return "compiles"
        if self.verdict == NEWER:
            return f"needs newer C# than mcs supports ({self.feature})"
        where = f" at line {self.line}" if self.line else ""
        first = self.errors[0] if self.errors else "error"
        code, _, msg = first.partition(": ")
        return f"{code}{where}: {msg}".rstrip(": ")


# an empty answer compiles with mcs, but it is not a script: it fails
NO_CLASS = CheckResult(False, ["EMPTY: the file declares no class"])


def error_codes(results: Sequence[CheckResult]) -> Counter:
    """Error code → how many sources had it (each code counted once per source)."""
    return Counter(code for r in results for code in set(r.codes))


def strip_comments(code: str) -> str:
    """``code`` without comments and with empty string literals (to look for declarations)."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if c == '"' or (c == "@" and code[i + 1:i + 2] == '"'):
            j = i + (2 if c == "@" else 1)
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" and c != "@" else 1
            out.append('""')
            i = j + 1
        elif code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            out.append(" ")
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def declares_class(code: str) -> bool:
    return bool(_CLASS_RE.search(strip_comments(code)))


def cache_dir() -> Path:
    return Path(os.environ.get("ALMOST_CACHE", Path.home() / ".cache" / "almost")) / "irgen"


def data_source(name: str) -> str:
    return resources.files("almost_irgen").joinpath(f"data/{name}").read_text("utf-8")


def stub_source() -> str:
    return data_source("UnityEngineStub.cs")


# -- newer C# features (tree-sitter knows them, mcs 6.8 does not) ------------------------------
_FEATURE_NODES = {
    "switch_expression": "switch expression, C# 8",
    "range_expression": "ranges, C# 8",
    "recursive_pattern": "property pattern, C# 8",
    "relational_pattern": "relational pattern, C# 9",
    "and_pattern": "pattern combinators, C# 9",
    "or_pattern": "pattern combinators, C# 9",
    "negated_pattern": "not pattern, C# 9",
    "implicit_object_creation_expression": "target-typed new, C# 9",
    "record_declaration": "record, C# 9",
    "record_struct_declaration": "record struct, C# 10",
    "file_scoped_namespace_declaration": "file-scoped namespace, C# 10",
    "local_function_statement": "local function, C# 7 (mcs lacks it)",
    "raw_string_literal": "raw string literal, C# 11",
}


def _parser():
    import tree_sitter
    import tree_sitter_c_sharp

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))


_PARSER = threading.local()


def newer_feature(code: str) -> str:
    """The first C# feature in ``code`` newer than mcs supports ('' if none or no tree-sitter)."""
    try:
        parser = getattr(_PARSER, "p", None) or _parser()
    except ImportError:
        return ""
    _PARSER.p = parser
    root = parser.parse(code.encode("utf-8")).root_node
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _FEATURE_NODES:
            return _FEATURE_NODES[node.type]
        if node.type == "??=":
            return "??= operator, C# 8"
        if node.type == "local_declaration_statement" and node.children and node.children[0].type == "using":
            return "using declaration, C# 8"
        if node.type == "using_directive" and node.children and node.children[0].type == "global":
            return "global using, C# 10"
        if node.type == "lambda_expression" and any(c.type == "modifier" and c.text == b"static" for c in node.children):
            return "static lambda, C# 9"
        if node.type == "accessor_declaration" and any(c.type == "init" for c in node.children):
            return "init accessor, C# 9"
        if node.type == "prefix_unary_expression" and node.children and node.children[0].type == "^":
            return "index from end, C# 8"
        stack.extend(reversed(node.children))
    return ""


# -- building the assemblies -----------------------------------------------------------------
def _mcs_exe(mcs: str) -> Path | None:
    """``mcs.exe`` behind the ``mcs`` launcher script (None if it is not the usual mono script)."""
    try:
        text = Path(mcs).read_text("utf-8", errors="replace")[:2000]
    except OSError:
        return None
    m = re.search(r"(\S+mcs\.exe)", text)
    return Path(m.group(1)) if m and Path(m.group(1)).is_file() else None


def build_tools(mcs: str) -> Path:
    """Build (once; cached) ``UnityEngine.dll``, ``CompileServer.exe`` and ``SimRunner.exe``."""
    sources = {n: data_source(n) for n in ("UnityEngineStub.cs", "CompileServer.cs", "SimRunner.cs")}
    digest = hashlib.sha256(("".join(sources.values()) + mcs).encode()).hexdigest()[:16]
    final = cache_dir() / f"unity-{digest}"
    if (final / "SimRunner.exe").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"unity-{digest}.", dir=final.parent))
    try:
        for name, text in sources.items():
            (tmp / name).write_text(text, encoding="utf-8")
        steps = [
            ["-target:library", "-nowarn:0169,0649,0414", "-out:UnityEngine.dll", "UnityEngineStub.cs"],
            ["-out:CompileServer.exe", "CompileServer.cs"],
            ["-r:UnityEngine.dll", "-out:SimRunner.exe", "SimRunner.cs"],
        ]
        for args in steps:
            proc = subprocess.run([mcs, *args], capture_output=True, text=True, cwd=tmp)
            if proc.returncode != 0:
                raise RuntimeError(f"building {args[-1]} failed:\n{proc.stdout}{proc.stderr}")
        try:
            os.rename(tmp, final)
        except OSError:  # another process built it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


class _Server:
    """One mono process that compiles sample after sample (``data/CompileServer.cs``)."""

    def __init__(self, mono: str, tools: Path, mcs_exe: Path) -> None:
        self.proc = subprocess.Popen(
            [mono, str(tools / "CompileServer.exe"), str(mcs_exe), str(tools / "UnityEngine.dll")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            encoding="utf-8", errors="replace", bufsize=1)

    def compile(self, src: Path, out: Path) -> tuple[bool, str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{src}\t{out}\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the compile server stopped")
            if line.startswith(_END):
                return line[len(_END):].strip() == "1", "".join(lines)
            lines.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class MonoCompiler:
    """C# 7.x through mono's ``mcs``, each sample in its own assembly, against UnityEngine.

    ``mode="server"`` (default): one long-lived mono process per worker compiles every
    sample; ``mode="process"``: one ``mcs`` process per sample (the slow reference).
    """

    name = "mcs"
    compiles = True

    def __init__(self, mcs: str = "mcs", workers: int = 1, mode: str = "server") -> None:
        found = shutil.which(mcs)
        if found is None:
            raise UserError(f"C# compiler {mcs!r} is not installed; install it with `apt-get install mono-mcs`")
        self.mcs = found
        self.mono = shutil.which("mono")
        self.mcs_exe = _mcs_exe(found)
        self.tools = build_tools(found)
        self.stub_dll = self.tools / "UnityEngine.dll"
        self.workers = max(1, workers)
        self.mode = mode if (self.mono and self.mcs_exe) else "process"
        self._servers: list[_Server] = []
        self._lock = threading.Lock()

    # -- one sample ------------------------------------------------------------------------
    def _compile_process(self, src: Path, out: Path) -> tuple[bool, str]:
        proc = subprocess.run(
            [self.mcs, "-target:library", "-nowarn:0169,0649,0414,0219,0108,0114", f"-r:{self.stub_dll}",
             f"-out:{out}", str(src)], capture_output=True, text=True)
        return proc.returncode == 0, proc.stdout + proc.stderr

    def _server(self, slot: int) -> _Server:
        with self._lock:
            while len(self._servers) <= slot:
                self._servers.append(_Server(self.mono, self.tools, self.mcs_exe))  # type: ignore[arg-type]
            return self._servers[slot]

    def _compile(self, slot: int, src: Path, out: Path) -> tuple[bool, str]:
        if self.mode == "process":
            return self._compile_process(src, out)
        try:
            return self._server(slot).compile(src, out)
        except (RuntimeError, OSError, BrokenPipeError):
            with self._lock:
                self._servers[slot].close()
                self._servers[slot] = _Server(self.mono, self.tools, self.mcs_exe)  # type: ignore[arg-type]
            return self._compile_process(src, out)

    def _result(self, code: str, ok: bool, messages: str, out: Path) -> CheckResult:
        if ok:
            return CheckResult(True, dll=out)
        errors, lines = [], []
        for m in _ERR_RE.finditer(messages):
            errors.append(f"{m['code']}: {m['msg'].strip()}")
            lines.append(int(m["line"]))
        if not errors:
            errors = [f"CS0000: mcs failed: {messages.strip()[:300]}"]
            lines = [0]
        feature = newer_feature(code)
        if feature:
            return CheckResult(False, errors, lines, verdict=NEWER, feature=feature)
        return CheckResult(False, errors, lines)

    # -- many ------------------------------------------------------------------------------
    def check(self, sources: Sequence[str], keep_dir: str | Path | None = None) -> list[CheckResult]:
        """One result per source, each compiled alone; with ``keep_dir`` the assemblies stay there."""
        results: list[CheckResult | None] = [None if declares_class(s) else NO_CLASS for s in sources]
        todo = [i for i, r in enumerate(results) if r is None]
        with tempfile.TemporaryDirectory(prefix="almost-cs-") as tmp:
            work = Path(keep_dir) if keep_dir is not None else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)

            def run(slot: int, idx: list[int]) -> None:
                for i in idx:
                    src, out = Path(tmp) / f"s{i:05d}.cs", work / f"s{i:05d}.dll"
                    src.write_text(sources[i], encoding="utf-8")
                    ok, messages = self._compile(slot, src, out)
                    results[i] = self._result(sources[i], ok, messages, out)

            n = min(self.workers, len(todo)) or 1
            if n == 1:
                run(0, todo)
            else:
                with ThreadPoolExecutor(n) as pool:
                    list(pool.map(run, range(n), [todo[k::n] for k in range(n)]))
        return [r if r is not None else CheckResult(False, ["CS0000: not checked"]) for r in results]

    def close(self) -> None:
        with self._lock:
            for s in self._servers:
                s.close()
            self._servers.clear()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> MonoCompiler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SyntaxChecker:
    """No compiler installed: parse with tree-sitter C# (syntax only, no type checking)."""

    name = "tree-sitter"
    compiles = False

    def __init__(self) -> None:
        self.parser = _parser()

    def check(self, sources: Sequence[str], keep_dir: str | Path | None = None) -> list[CheckResult]:
        out = []
        for src in sources:
            if not declares_class(src):
                out.append(NO_CLASS)
                continue
            tree = self.parser.parse(src.encode("utf-8"))
            if not tree.root_node.has_error and src.strip():
                out.append(CheckResult(True))
                continue
            node = _first_error(tree.root_node)
            line = node.start_point[0] + 1 if node is not None else 0
            out.append(CheckResult(False, ["SYNTAX: syntax error"], [line]))
        return out

    def close(self) -> None:
        pass


def _first_error(node):
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error:
            found = _first_error(child)
            if found is not None:
                return found
    return None


def find_compiler(kind: str = "auto", workers: int = 1):
    """``auto``: mcs when installed, else tree-sitter; ``mcs`` insists; ``syntax`` never compiles."""
    if kind == "syntax" or (kind == "auto" and shutil.which("mcs") is None):
        return SyntaxChecker()
    return MonoCompiler(workers=workers)
