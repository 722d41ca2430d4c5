"""The table of ops (almost_irgen.ops): each op defined once, and a new op is one table entry."""

from __future__ import annotations

import random
import shutil

import pytest

from almost_irgen import ops
from almost_irgen.conformance import check as conformance
from almost_irgen.ir import ACTION_SCHEMAS, OPS, SCHEMA, action_schemas, problems, schema, validate
from almost_irgen.irmatch import mismatches
from almost_irgen.ops import NUM, TABLE, Op, cs_float
from almost_irgen.phrasing import ACTIONS
from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, _action_text, random_ir
from almost_irgen.unitysim import expected, scenarios

# a new op, defined only here: "jump" moves the object up by `height` once
JUMP = Op(
    "jump",
    {"height": NUM},
    ("height",),
    csharp=lambda a, event: [f"transform.Translate(Vector3.up * {cs_float(a['height'])});"],
    describe=lambda a: f"jump {a['height']} units",
    phrases=(("jump.jump", False, lambda a, r: f"jump {a['height']} units up"),),
    draw=lambda d: {"op": "jump", "height": d.rng.choice([1, 2, 3])},
    interpret=lambda a, w, event, other, time: w.move((0, 1, 0), a["height"]),
    pattern=lambda a: r"\.Translate\s*\(",
)
JUMPER = {
    "ir_version": "1.0",
    "class_name": "Jumper",
    "behaviours": [{"trigger": {"event": "start"}, "actions": [{"op": "jump", "height": 2}]}],
}


def test_every_op_is_defined_once_in_the_table():
    assert tuple(TABLE) == OPS == tuple(ACTION_SCHEMAS) == tuple(ACTIONS)
    assert SCHEMA == schema() and ACTION_SCHEMAS == action_schemas()
    for name, op in TABLE.items():
        assert op.name == name
        assert op.schema()["properties"]["op"] == {"const": name}
        assert set(op.required) <= set(op.props)
        assert op.phrases and all(fid.startswith(f"{name}.") for fid, _, _ in op.phrases)
    # the free-text op is the one no run can check and no pattern looks for
    assert [n for n, op in TABLE.items() if op.interpret is None] == ["custom"]
    assert [n for n, op in TABLE.items() if op.pattern is None] == ["custom"]
    assert all(op.differs is not None for op in TABLE.values())


def test_every_drawn_action_is_valid_and_spoken():
    rng = random.Random(3)
    seen = set()
    for _ in range(300):
        for beh in random_ir(rng, Size(3, 2, 3))["behaviours"]:
            for a in beh["actions"]:
                seen.add(a["op"])
                assert _action_text(a)
    assert seen == set(TABLE)


def test_a_new_op_needs_only_its_table_entry(monkeypatch):
    """Schema, validation, C# rules, the reference interpreter (and the static check and the
    synthesised data) take a new op from its one entry in the table."""
    assert problems(JUMPER)  # not an op yet
    monkeypatch.setitem(ops.TABLE, "jump", JUMP)

    # the schema names it and validates its keys with its own schema
    assert (
        "jump"
        in schema()["properties"]["behaviours"]["items"]["properties"]["actions"]["items"][
            "properties"
        ]["op"]["enum"]
    )
    assert validate(JUMPER) is JUMPER
    bad = {
        **JUMPER,
        "behaviours": [
            {"trigger": {"event": "start"}, "actions": [{"op": "jump", "height": "high"}]}
        ],
    }
    assert problems(bad)[0][0] == "behaviours[0].actions[0].height"

    # rules: its C# goes in the trigger's method
    code = generate(JUMPER)
    assert "    void Start()\n    {\n        transform.Translate(Vector3.up * 2f);\n    }\n" in code
    assert conformance(JUMPER, code) == (1.0, [])

    # the reference interpreter: after Start the object is 2 units up and stays there
    exp = expected(JUMPER, scenarios(JUMPER)[0])
    assert exp["pose"][0][0] == (0.0, 0.0, 0.0)
    assert exp["pose"][1][0] == pytest.approx((0.0, 2.0, 0.0))
    assert exp["pose"][-1][0] == pytest.approx((0.0, 2.0, 0.0))

    # irmatch compares it key by key (it gives no differs of its own)
    higher = {
        **JUMPER,
        "behaviours": [{"trigger": {"event": "start"}, "actions": [{"op": "jump", "height": 3}]}],
    }
    assert mismatches(JUMPER, JUMPER) == []
    assert mismatches(higher, JUMPER)

    # and synthgen draws it
    rng = random.Random(0)
    assert any(
        a["op"] == "jump"
        for _ in range(100)
        for b in random_ir(rng)["behaviours"]
        for a in b["actions"]
    )


@pytest.mark.compiler
@pytest.mark.skipif(
    shutil.which("mcs") is None or shutil.which("mono") is None, reason="needs mono and mcs"
)
def test_a_new_ops_code_behaves_as_its_reference(monkeypatch):
    """The new op's C# compiles and, run in the simulated Unity, does what the reference
    interpreter says; code that jumps twice as high does not."""
    from almost_irgen.unitysim import BehaviourChecker

    monkeypatch.setitem(ops.TABLE, "jump", JUMP)
    checker = BehaviourChecker()
    try:
        good, wrong = checker.check(
            [JUMPER, JUMPER], [generate(JUMPER), generate(JUMPER).replace("2f", "4f")]
        )
    finally:
        checker.compiler.close()
    assert good.ok, good.failed
    assert good.did_something
    assert not wrong.ok and any("position" in f for f in wrong.failed), wrong.failed
