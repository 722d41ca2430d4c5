"""The IR schema and validator: clear errors with JSON paths, and property-based checks."""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almost_irgen.conformance import check as conformance
from almost_irgen.ir import IRError, loads, problems, validate
from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, describe, random_ir

GOOD = {"ir_version": "1.0", "class_name": "Spinner",
        "fields": [{"name": "speed", "type": "float", "default": 90}],
        "behaviours": [{"trigger": {"event": "update"},
                        "actions": [{"op": "rotate", "axis": "y", "degrees_per_second": "speed"}]}]}


def test_good_spec_is_valid():
    assert validate(copy.deepcopy(GOOD)) == GOOD


@pytest.mark.parametrize("mutate, path, words", [
    (lambda d: d.pop("class_name"), "$", "class_name"),
    (lambda d: d.update(class_name="spinner"), "class_name", "does not match"),
    (lambda d: d["behaviours"][0]["actions"][0].update(axis="w"), "behaviours[0].actions[0].axis", "'w'"),
    (lambda d: d["behaviours"][0]["actions"][0].pop("axis"), "behaviours[0].actions[0]", "'axis'"),
    (lambda d: d["behaviours"][0]["actions"][0].update(op="teleport"), "behaviours[0].actions[0].op", "teleport"),
    (lambda d: d["fields"][0].update(type="double"), "fields[0].type", "double"),
    (lambda d: d["fields"][0].update(default="fast"), "fields[0].default", "float"),
    (lambda d: d["behaviours"][0]["actions"][0].update(degrees_per_second="spin"),
     "behaviours[0].actions[0].degrees_per_second", "declared"),
    (lambda d: d["behaviours"][0]["actions"].append({"op": "apply_force", "force": [0, 1, 0]}),
     "behaviours[0].actions[1]", "Rigidbody"),
    (lambda d: d["behaviours"][0]["trigger"].update(event="key_down"), "behaviours[0].trigger", "key"),
    (lambda d: d.update(ir_version="0.9"), "ir_version", "1.0"),
])
def test_errors_name_the_path(mutate, path, words):
    ir = copy.deepcopy(GOOD)
    mutate(ir)
    with pytest.raises(IRError) as e:
        validate(ir)
    assert e.value.problems[0][0] == path
    assert words in str(e.value)
    assert f"at {path}" in str(e.value)


def test_loads_reports_bad_json_and_tolerates_fences():
    with pytest.raises(IRError, match="not valid JSON"):
        loads("{nope")
    import json

    assert loads("```json\n" + json.dumps(GOOD) + "\n```")["class_name"] == "Spinner"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_generated_specs_are_valid_and_rules_conform(seed, fields, behaviours, actions):
    ir = random_ir(random.Random(seed), Size(fields, behaviours, actions))
    assert problems(ir) == []
    code = generate(ir)
    assert code.count("{") == code.count("}")
    score, failed = conformance(ir, code)
    assert score == 1.0, failed
    assert ir["class_name"] in describe(ir)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_validator_never_crashes_on_arbitrary_json(value):
    try:
        validate(value)
    except IRError as e:
        assert e.problems and all(isinstance(p, str) for p, _ in e.problems)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.data())
def test_mutated_specs_fail_with_a_path_or_stay_valid(seed, data):
    """Replace one value anywhere in a valid spec: the validator either accepts it or names a path."""
    ir = random_ir(random.Random(seed), Size(3, 2, 2))
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(ir, ())
    path = data.draw(st.sampled_from(paths))
    target = ir
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = data.draw(st.sampled_from([None, -1, "x y", [], {}, True]))
    found = problems(ir)
    if found:
        assert found[0][0] == "$" or found[0][0].split(".")[0].split("[")[0] in ir
    else:
        assert conformance(ir, generate(ir))[0] == 1.0


def test_rules_sampler_component():
    from almost.testing import check_component, check_sampler, load_app

    app = load_app()
    sampler = check_component(app.registry, "sampler/rules")
    out = check_sampler(sampler, [GOOD, random_ir(random.Random(1))])
    assert "class Spinner : MonoBehaviour" in out[0]
    assert "transform.Rotate(Vector3.up * speed * Time.deltaTime);" in out[0]
