"""Semantic IR match: does a predicted IR say what the expected IR says?

Validity is not enough ("45 degrees per second" answered with a valid 360-second timer), and
neither is the op list alone. :func:`mismatches` compares what a script would *do*:

* the prediction must be valid IR (:func:`almost_irgen.ir.problems` finds nothing);
* behaviours are compared as a multiset (their order is free), and so are the actions of one
  behaviour (ops that run in the same frame);
* a trigger: its event, its key, its timer interval; a condition: its kind, comparison, value,
  tag, held key and field;
* ops (each op's ``differs`` in :data:`almost_irgen.ops.TABLE`): ``rotate`` axis and degrees
  per second; ``translate`` the velocity ``direction × speed`` (``[0, 0, 1]`` at 1.5 is
  ``[0, 0, 1.5]`` at 1); ``apply_force`` force and mode (Force when absent); ``destroy`` target
  and delay (0 when absent); ``set_active`` object and state; ``set_field`` field, value and
  mode (set when absent); ``log`` the message (case, quotes, end punctuation and spacing
  ignored); ``spawn`` / ``play_sound`` the field they name;
* an amount given as a field name (``"degrees_per_second": "speed"``) is matched as a field
  (see names) when both sides give a field, else as that field's default (C#'s 0 without one,
  the value the script starts with) against the other side's number;
* numbers agree within 0.1% (``90`` and ``90.0`` are equal); a tag matches case-insensitively;
* ``custom`` free text matches only a ``custom`` op with the same (normalised) text: never a typed
  op, and a typed op is never matched by a ``custom`` one.

**Names.** The class name is compared only when the sentence gives one (``class_name=True``).
A field name is compared only when the sentence says it (``names``: "add 10 to score" names
``score``; compared case-insensitively, underscores ignored). Otherwise the name is the model's
choice ("spawn an explosion effect" may be ``explosion`` or ``effectPrefab``), and fields are
matched up to a consistent renaming: one expected field is one predicted field everywhere in
the IR. Components (implied by the ops), field order, field defaults other than the amounts
above, and extra fields no op uses are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from .ir import problems
from .ops import TABLE

_REL, _ABS = 1e-3, 1e-6


def _num_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        return False
    return abs(a - b) <= _ABS + _REL * max(abs(a), abs(b))


def _vec_eq(a: Any, b: Any) -> bool:
    return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b) == 3
            and all(_num_eq(x, y) for x, y in zip(a, b)))


def norm_text(s: Any) -> str:
    """Lower case, no surrounding quotes or end punctuation, single spaces."""
    s = " ".join(str(s).lower().split())
    return re.sub(r"^[\s'\"`]+|[\s'\"`.!?,;:]+$", "", s)


def _norm_name(s: str) -> str:
    return s.replace("_", "").lower()


class _Fields:
    """A consistent renaming of expected field names to predicted ones (named ones fixed)."""

    def __init__(self, named: Collection[str]) -> None:
        self.named = {_norm_name(n) for n in named}
        self.fwd: dict[str, str] = {}
        self.back: dict[str, str] = {}

    def copy(self) -> _Fields:
        out = _Fields(())
        out.named, out.fwd, out.back = self.named, dict(self.fwd), dict(self.back)
        return out

    def bind(self, ref: Any, pred: Any) -> bool:
        """Bind expected name ``ref`` to predicted ``pred``; False where that breaks the renaming."""
        if not isinstance(ref, str) or not isinstance(pred, str):
            return False
        if _norm_name(ref) in self.named and _norm_name(ref) != _norm_name(pred):
            return False
        if self.fwd.get(ref, pred) != pred or self.back.get(pred, ref) != ref:
            return False
        self.fwd[ref], self.back[pred] = pred, ref
        return True


def _amount(ir: dict, v: Any) -> Any:
    """A number, or a field name resolved to the field's default (0 when it has none)."""
    if isinstance(v, str):
        f = next((f for f in ir.get("fields", []) if f.get("name") == v), None)
        d = f.get("default") if f else None
        return d if isinstance(d, int | float) and not isinstance(d, bool) else 0
    return v


class _Same:
    """The comparisons an op's ``differs`` (:data:`almost_irgen.ops.TABLE`) makes between a
    predicted action (of IR ``pir``) and an expected one (of ``rir``), with the field renaming
    ``names`` (extended as fields are matched)."""

    def __init__(self, pir: dict, rir: dict, names: _Fields) -> None:
        self.pir, self.rir, self.names = pir, rir, names

    num = staticmethod(_num_eq)
    vec = staticmethod(_vec_eq)

    def text(self, a: Any, b: Any) -> bool:
        return norm_text(a) == norm_text(b)

    def value(self, a: Any, b: Any) -> bool:
        """A set_field value: booleans by identity, numbers within tolerance, text normalised."""
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, int | float) and isinstance(b, int | float):
            return _num_eq(a, b)
        return isinstance(a, str) and isinstance(b, str) and norm_text(a) == norm_text(b)

    def field(self, ref: Any, pred: Any) -> bool:
        """Expected field ``ref`` is predicted field ``pred`` (binding the two)."""
        return self.names.bind(ref, pred)

    def pred_amount(self, v: Any) -> Any:
        return _amount(self.pir, v)

    def ref_amount(self, v: Any) -> Any:
        return _amount(self.rir, v)

    def amount(self, p: Any, r: Any) -> bool:
        """Two amounts: both fields (matched as fields), or else as numbers (a field's default)."""
        if isinstance(p, str) and isinstance(r, str):
            return self.names.bind(r, p)
        return _num_eq(_amount(self.pir, p), _amount(self.rir, r))


def _action_diff(p: dict, pir: dict, r: dict, rir: dict, names: _Fields) -> str | None:
    """Why predicted action ``p`` is not expected action ``r`` (None: it is; ``names`` is extended):
    the expected op's ``differs`` in :data:`almost_irgen.ops.TABLE`, or else every key equal."""
    if p["op"] != r["op"]:
        return f"{p['op']} instead of {r['op']}"
    differs = TABLE[r["op"]].differs
    if differs is None:
        return None if p == r else f"{r['op']} {p}, not {r}"
    return differs(p, r, _Same(pir, rir, names))


def _condition_diff(p: dict | None, r: dict | None, names: _Fields) -> str | None:
    if r is None or p is None:
        return None if p is r else ("a condition where none was asked" if r is None else "no condition")
    if p["kind"] != r["kind"]:
        return f"a {p['kind']} condition, not {r['kind']}"
    if r["kind"] == "tag":
        return None if p["tag"].lower() == r["tag"].lower() else f"tag {p['tag']!r}, not {r['tag']!r}"
    if r["kind"] == "key_held":
        return None if p["key"] == r["key"] else f"held key {p['key']}, not {r['key']}"
    if p["cmp"] != r["cmp"] or not _num_eq(p["value"], r["value"]):
        return f"condition {p['cmp']} {p['value']}, not {r['cmp']} {r['value']}"
    return None if names.bind(r["field"], p["field"]) else f"condition on {p['field']!r}, not {r['field']!r}"


def _trigger_diff(p: dict, r: dict) -> str | None:
    if p["event"] != r["event"]:
        return f"trigger {p['event']}, not {r['event']}"
    if r["event"] == "key_down" and p.get("key") != r.get("key"):
        return f"key {p.get('key')}, not {r.get('key')}"
    if r["event"] == "timer" and not _num_eq(p.get("interval_s"), r.get("interval_s")):
        return f"every {p.get('interval_s')} s, not {r.get('interval_s')}"
    return None


def _match_all(preds: list, refs: list, names: _Fields, pair) -> tuple[_Fields | None, str | None]:
    """Match ``refs`` one to one with ``preds`` in any order; ``pair(p, r, names)`` → (names, why)."""
    if len(preds) != len(refs):
        return None, f"{len(preds)} instead of {len(refs)}"
    if not refs:
        return names, None
    first_why = None
    for i, p in enumerate(preds):
        got, why = pair(p, refs[0], names.copy())
        if got is not None:
            done, why = _match_all(preds[:i] + preds[i + 1:], refs[1:], got, pair)
            if done is not None:
                return done, None
        first_why = first_why or why
    return None, first_why


def mismatches(pred: Any, ref: dict, *, class_name: bool = False, names: Iterable[str] = ()) -> list[str]:
    """Why ``pred`` does not say what ``ref`` says; ``[]`` when it matches (see the module's rules).
    ``class_name``: the sentence gave the class name; ``names``: the field names it gave."""
    if pred is None:
        return ["no IR"]
    found = problems(pred)
    if found:
        return [f"not valid IR ({found[0][0]}: {found[0][1]})"]
    out = []
    if class_name and pred["class_name"] != ref["class_name"]:
        out.append(f"class {pred['class_name']}, not {ref['class_name']}")

    def pair_beh(p: dict, r: dict, fields: _Fields):
        why = _trigger_diff(p["trigger"], r["trigger"]) or _condition_diff(p.get("condition"), r.get("condition"), fields)
        if why:
            return None, why

        def pair_act(pa: dict, ra: dict, f2: _Fields):
            w = _action_diff(pa, pred, ra, ref, f2)
            return (None, w) if w else (f2, None)

        got, why = _match_all(p["actions"], r["actions"], fields, pair_act)
        return got, (f"actions: {why}" if why and why[0].isdigit() else why)

    got, why = _match_all(pred["behaviours"], ref["behaviours"], _Fields(names), pair_beh)
    if got is None:
        out.append(f"behaviours: {why}" if why and why[0].isdigit() else why or "behaviours differ")
    return out


def ir_match(pred: Any, ref: dict, *, class_name: bool = False, names: Iterable[str] = ()) -> bool:
    """Whether ``pred`` says what ``ref`` says (:func:`mismatches` is empty)."""
    return not mismatches(pred, ref, class_name=class_name, names=names)


def named_fields(sentence: str, ir: dict) -> list[str]:
    """The fields of ``ir`` whose names the sentence says as words ("add 5 to score" names ``score``):
    the names a generated sentence fixes; the others are the model's choice."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sentence.lower()))
    return [f["name"] for f in ir.get("fields", []) if f["name"].lower() in words]


# -- the hand-written sentences ------------------------------------------------------------------
def handwritten_path():
    from pathlib import Path

    return Path(__file__).parent / "data" / "handwritten_sentences.jsonl"


def fresh_path():
    """The second hand-written set (``data/handwritten_fresh.jsonl``, 50 requests): written after the
    phrasing families by someone who had not read them or the first set, so it measures the
    families' reach rather than their authors' memory of the first set."""
    return handwritten_path().with_name("handwritten_fresh.jsonl")


def load_handwritten(path=None) -> list[dict]:
    """The hand-written sentences with their expected IRs (``data/handwritten_sentences.jsonl``).

    One JSON object a line: ``sentence``, ``ir`` (the expected IR), optional ``alternatives``
    (other IRs the sentence allows: "touches" is a trigger or a collision), ``names`` (the field
    names the sentence gives), ``class_name_given`` and ``source``. Every IR is validated."""
    import json

    from almost.errors import UserError

    from .ir import IRError, validate

    path = path or handwritten_path()
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            if not isinstance(e.get("sentence"), str) or not e["sentence"].strip():
                raise UserError(f"{path} line {n} needs a non-empty 'sentence'")
            for ir in [e["ir"], *e.get("alternatives", [])]:
                validate(ir, f"{path} line {n}")
        except json.JSONDecodeError as err:
            raise UserError(f"{path} line {n} is not valid JSON ({err.msg})") from None
        except (KeyError, TypeError, AttributeError):
            raise UserError(f"{path} line {n} needs 'sentence' and 'ir'") from None
        except IRError:
            raise
        out.append(e)
    return out


def entry_mismatches(pred: Any, entry: dict) -> list[str]:
    """:func:`mismatches` against a hand-written entry: ``[]`` when ``pred`` matches its IR or one of
    its alternatives, else the reasons against the main IR."""
    kw = {"class_name": bool(entry.get("class_name_given")), "names": entry.get("names", ())}
    first = mismatches(pred, entry["ir"], **kw)
    if first and any(not mismatches(pred, alt, **kw) for alt in entry.get("alternatives", [])):
        return []
    return first
