"""Scoring a compile check against a labelled corpus of single-file Unity scripts.

Each corpus file starts with ``// expect: LABEL`` and ``// why: ...`` (the justification, from
Unity's scripting reference): LABEL is ``compiles`` (Unity 2021+ compiles it), an error code
such as ``CS1612`` (Unity rejects it with that code; ``EMPTY``: not a script at all), or
``newer`` (Unity compiles it, but it uses C# newer than mono's mcs, so the check must say
"needs newer C#"). :func:`score` gives the false-accept rate (files Unity rejects that the
check passes), the false-reject rate (files Unity compiles that the check fails, including
ones it wrongly calls newer C#), how often a rejection names the expected code, and the
share of ``newer`` files recognised as such.

The behaviour corpus (:func:`read_corpus`, ``*.corpus``) is read here too: each file holds a
spec's IR JSON, then programs for it, each opened by ``//// ok|bad|ambiguous: what``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import attrs

_HEAD = re.compile(r"^// expect: (?P<label>\S+)\s*\n// why: (?P<why>.*)$", re.M)


@attrs.define
class Sample:
    name: str
    label: str  # compiles | CSxxxx | EMPTY | newer
    why: str
    source: str


def _files(folder: str | Path, suffix: str) -> list[tuple[Path, str]]:
    """A corpus folder's files with ``suffix``, in name order, with their text."""
    return [(path, path.read_text(encoding="utf-8")) for path in sorted(Path(folder).glob(f"*{suffix}"))]


def load(folder: str | Path) -> list[Sample]:
    """The compile corpus: ``*.cs`` files opened by ``// expect: LABEL`` and ``// why: ...``."""
    out = []
    for path, text in _files(folder, ".cs"):
        m = _HEAD.match(text)
        if m is None:
            raise ValueError(f"{path} does not start with '// expect: LABEL' and '// why: ...'")
        out.append(Sample(path.stem, m["label"], m["why"].strip(), text))
    return out


def score(samples: Sequence[Sample], results: Sequence) -> dict:
    """Rates and the names of the files each kind of mistake happened on."""
    accept = [(s, r) for s, r in zip(samples, results) if s.label == "compiles"]
    reject = [(s, r) for s, r in zip(samples, results) if s.label not in ("compiles", "newer")]
    newer = [(s, r) for s, r in zip(samples, results) if s.label == "newer"]
    false_accepts = [s.name for s, r in reject if r.ok]
    false_rejects = [s.name for s, r in accept if not r.ok]
    wrong_code = [f"{s.name}: expected {s.label}, got {','.join(r.codes) or '-'}" for s, r in reject
                  if not r.ok and s.label not in r.codes]
    newer_missed = [s.name for s, r in newer if r.verdict != "newer_csharp"]
    return {
        "files": len(samples), "compiles": len(accept), "rejects": len(reject), "newer": len(newer),
        "false_accept_rate": len(false_accepts) / max(len(reject), 1),
        "false_reject_rate": len(false_rejects) / max(len(accept), 1),
        "code_agreement": 1 - len(wrong_code) / max(len(reject), 1),
        "newer_recognised": 1 - len(newer_missed) / max(len(newer), 1),
        "false_accepts": false_accepts, "false_rejects": false_rejects, "wrong_code": wrong_code,
        "newer_missed": newer_missed,
    }


@attrs.define
class CorpusProgram:
    spec: str  # the corpus file's stem
    label: str  # "ok", "bad" or "ambiguous"
    what: str  # the one-line comment
    code: str
    ir: dict


def read_corpus(folder: str | Path) -> list[CorpusProgram]:
    """Programs of ``*.corpus`` files: a spec's JSON, then ``//// ok|bad|ambiguous: what`` + C#."""
    out = []
    for path, text in _files(folder, ".corpus"):
        head, _, rest = text.partition("\n////")
        ir = json.loads(head)
        for chunk in ("////" + rest).split("\n////"):
            chunk = chunk.removeprefix("////")
            first, _, code = chunk.partition("\n")
            label, _, what = first.strip().partition(":")
            if label.strip() not in ("ok", "bad", "ambiguous"):
                raise ValueError(f"{path.name}: a program must open with '//// ok|bad|ambiguous: ...', not {first!r}")
            out.append(CorpusProgram(path.stem, label.strip(), what.strip(), code, ir))
    return out
