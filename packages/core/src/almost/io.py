"""Files that a crash cannot leave half-written: write to a temp file, fsync, rename.

``os.replace`` is atomic on POSIX and Windows when source and target are on one file system,
so readers see either the old file or the new one, never a mix. Folders (a saved model, a
checkpoint) are built aside and swapped in the same way: :func:`atomic_dir`, :func:`replace_dir`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


_UMASK = _umask()


def _fsync(path: str | os.PathLike, *, strict: bool) -> None:
    """fsync ``path`` (a file or, where the platform allows, a folder); one that cannot be
    opened is skipped, and a failing fsync raises only when ``strict``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (after a rename) where the platform allows it."""
    _fsync(path, strict=False)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it onto ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if is_disk_full(e):
            raise disk_full_error(path) from None
        raise


_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "StorageFull", "QuotaExceeded")


def is_disk_full(e: BaseException) -> bool:
    """True for "no space left on device" (and "disk quota exceeded"), also when a library
    re-raised it as its own error (safetensors' ``SafetensorError``, torch's ``RuntimeError``)."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _FULL:
            return True
        if isinstance(e, Exception) and any(t in str(e) for t in _FULL_TEXT):
            return True
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return False


def disk_full_error(path: str | os.PathLike | None):
    """The one-sentence error for a full disk while writing ``path``."""
    from .errors import UserError

    where = f"while writing {path}" if path else "while writing"
    return UserError(f"no space left on the device {where}; free some space and re-run the same command "
                     "(the last complete file or checkpoint is kept)")


def fsync_tree(root: str | os.PathLike) -> None:
    """fsync every file under ``root`` and every folder (itself included), so a crash after a
    rename cannot leave a folder whose files are empty or torn."""
    root = Path(root)
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync(os.path.join(dirpath, name), strict=True)
        fsync_dir(Path(dirpath))


def replace_dir(tmp: str | os.PathLike, path: str | os.PathLike, *, synced: bool = False) -> Path:
    """Make the finished folder ``tmp`` the folder ``path``: fsync every file in it (``synced``: the
    caller already did), then rename it into place. An existing ``path`` is renamed to ``.NAME.old`` first and removed once the new
    folder is in place, so ``path`` never holds a mix of old and new files; a crash between the
    two renames leaves the old folder in ``.NAME.old`` (the next call clears it)."""
    tmp, path = Path(tmp), Path(path)
    if not synced:
        fsync_tree(tmp)  # every file on disk before the rename makes the folder visible
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside ``path`` to write a model or export into; when the block ends
    without an error it becomes ``path`` (:func:`replace_dir`). If the block raises, the folder is
    removed and ``path`` is left as it was; a full disk becomes the one-sentence error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # a crashed earlier attempt
    tmp.mkdir()
    try:
        yield tmp
        replace_dir(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(e):
            raise disk_full_error(path) from None
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (text is UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def strict_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None`` (strict JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as pretty, strict JSON atomically (NaN/infinity become ``null``)."""
    text = json.dumps(strict_json(obj), indent=2, sort_keys=False, default=str, allow_nan=False)
    return atomic_write(path, text + "\n")


def read_text(path: str | os.PathLike, what: str = "file", fix: str = "fix or remove it") -> str:
    """A text file's UTF-8 text; missing, a folder, unreadable or not UTF-8 is one sentence."""
    from .errors import UserError

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a file; {fix}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {e.start}); {fix}") from None
    except OSError as e:
        raise UserError(f"{what} {path} cannot be read ({e.strerror or e}); {fix}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text} is beyond a 64-bit float")
    return v


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers that overflow a float (ValueError)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def read_json(path: str | os.PathLike, what: str = "file", fix: str = "fix or remove it",
              expect: type | None = None) -> Any:
    """Read strict JSON (no NaN / Infinity / overflowing numbers), turning a missing, unreadable or
    malformed file into a one-sentence UserError naming it; ``expect=dict``: it must be an object."""
    from .errors import UserError

    path = Path(path)
    text = read_text(path, what, fix)
    try:
        data = loads_strict(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{what} {path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); {fix}") from None
    except (ValueError, RecursionError) as e:
        raise UserError(f"{what} {path} is not valid JSON ({str(e)[:80]}); {fix}") from None
    if expect is not None and not isinstance(data, expect):
        raise UserError(f"{what} {path} is valid JSON but not {_KIND.get(expect, expect.__name__)} "
                        f"(it holds {describe(data)}); {fix}")
    return data


_KIND = {dict: "an object {...}", list: "a list [...]"}


def split_jsonl(data: bytes) -> tuple[list[tuple[int, bytes]], tuple[int, bytes] | None]:
    """An append-only JSONL file's bytes as its complete lines and its torn tail.

    Returns ``([(line_no, raw), ...], tail)``: the non-blank lines that end in a newline,
    numbered from 1, and ``(line_no, raw)`` of a last line without its newline (a write cut off
    by kill -9), or None. What a reader does with the tail is its own rule (the step history
    drops it; the ratings log keeps a tail that is a whole record). Used by every JSONL log
    the core and the plugins append to, so the torn-tail rule is written once."""
    lines = data.split(b"\n")
    tail_raw = lines.pop()  # b"" when the file ends with a newline
    done = [(i, raw) for i, raw in enumerate(lines, 1) if raw.strip()]
    tail = (len(lines) + 1, tail_raw) if tail_raw.strip() else None
    return done, tail


def describe(v: Any) -> str:
    """A short description of a JSON value for an error message: ``"abc"``, ``3``, ``a list``."""
    if isinstance(v, dict | list):
        try:
            text = json.dumps(v)
        except (TypeError, ValueError):
            text = ""
        return text if text and len(text) <= 40 else ("an object" if isinstance(v, dict) else "a list")
    if v is None:
        return "null"
    text = json.dumps(v) if isinstance(v, str | int | float | bool) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _is(v: Any, kind: str) -> bool:
    num = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    return {
        "str": isinstance(v, str),
        "int": isinstance(v, int) and not isinstance(v, bool),
        "posint": isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "count": isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "number": num,
        "bool": isinstance(v, bool),
        "dict": isinstance(v, dict),
        "list": isinstance(v, list),
        "strs": isinstance(v, list) and all(isinstance(x, str) for x in v),
        "posints": isinstance(v, list) and bool(v) and all(_is(x, "posint") for x in v),
        "numbers": isinstance(v, list) and all(_is(x, "number") for x in v),
        "null": v is None,
    }[kind]


_KIND_TEXT = {"str": "a string", "int": "a whole number", "posint": "a positive whole number",
              "count": "a whole number >= 0", "number": "a finite number", "bool": "true or false",
              "dict": "an object", "list": "a list", "strs": "a list of strings",
              "posints": "a non-empty list of positive whole numbers", "numbers": "a list of finite numbers",
              "null": "null"}


def check_fields(data: Any, path: str | os.PathLike, what: str, fields: dict[str, str],
                 fix: str = "fix or remove it", entry: str = "") -> dict:
    """Check a JSON object against ``{key: kind}`` (kinds: ``str``, ``int``, ``posint``, ``count``,
    ``number``, ``bool``, ``dict``, ``list``, ``strs``, ``posints``, ``numbers``; ``"number?"`` may be
    absent, ``"number|null"`` either). The first mismatch is one sentence naming the file, the
    entry and the fix. Returns ``data``."""
    from .errors import UserError

    where = f"{what} {path}" + (f", {entry}," if entry else "")
    if not isinstance(data, dict):
        raise UserError(f"{where} holds {describe(data)}, not an object {{...}}; {fix}")
    for key, spec in fields.items():
        optional = spec.endswith("?")
        kinds = spec.rstrip("?").split("|")
        if key not in data:
            if optional:
                continue
            raise UserError(f"{where} has no {key!r}; {fix}")
        if not any(_is(data[key], k) for k in kinds):
            want = " or ".join(_KIND_TEXT[k] for k in kinds)
            raise UserError(f"{where} has {key!r} = {describe(data[key])}, not {want}; {fix}")
    return data
