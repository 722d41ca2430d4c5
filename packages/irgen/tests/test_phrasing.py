"""Phrasing families: every op and trigger asked for many ways; held-out families never trained on.

The tiny model learnt one template ("Make a Unity script X that every frame, rotate around y by
90 degrees per second.") and got 6 of 24 sentences written by hand right. These tests pin that
the training requests now come in many families, that each request still means its IR (the
words it uses say the key, tag, axis, number), and that a held-out family's sentence never
reaches the training split.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from almost.testing import run_cli
from almost_irgen.ir import ACTION_SCHEMAS, validate
from almost_irgen.phrasing import (
    ACTIONS,
    ALL_FAMILIES,
    FRAMES,
    HELDOUT,
    TRIGGERS,
    conjugate,
    number_words,
    phrase,
)
from almost_irgen.sentence_eval import generated_mismatches
from almost_irgen.synthgen import TRIGGER_KINDS, Size, random_ir


@pytest.fixture(scope="module")
def drawn():
    rng = random.Random(3)
    specs = [random_ir(rng, Size(2, 2, 2)) for _ in range(400)]
    return [(ir, *phrase(ir, rng)) for ir in specs], [(ir, *phrase(ir, rng, heldout=True)) for ir in specs[:200]]


def test_every_op_and_trigger_has_training_and_held_out_families():
    assert set(ACTIONS) == set(ACTION_SCHEMAS)
    assert set(TRIGGERS) == {e for events in TRIGGER_KINDS.values() for e in events} | {"on_disable"}
    for op, fams in ACTIONS.items():
        if op != "custom":
            assert sum(not h for _, h, _ in fams) >= 2 and any(h for _, h, _ in fams), op
    assert {"script_for", "need"} <= HELDOUT and "legacy" not in HELDOUT and HELDOUT < ALL_FAMILIES
    assert sum(not h for h, _, _ in FRAMES.values()) >= 4


def test_training_draws_use_no_held_out_family_and_vary(drawn):
    train, _ = drawn
    used = Counter(f for _, _, fams in train for f in fams)
    assert not HELDOUT & set(used)
    assert {"legacy", "plain", "noun", "imperative", "class_colon", "typo"} <= set(used)
    sentences = [s for _, s, _ in train]
    assert len(set(sentences)) == len(sentences)
    assert sum(s.startswith("Make a Unity script") for s in sentences) < 0.3 * len(sentences)
    text = " ".join(sentences).lower()
    for words in ("deg/s", "°/s", "spacebar", "impulse", "anything tagged", "the player", "forward", "every frame"):
        assert words in text, words


def test_held_out_draws_use_a_held_out_frame(drawn):
    _, held = drawn
    assert all({"script_for", "need"} & set(fams) for _, _, fams in held)
    assert all(f in ALL_FAMILIES for _, _, fams in held for f in fams)


def test_a_request_says_what_its_ir_says(drawn):
    """The words carry the IR: each key, the timer's number, the axis; a noun frame conjugates."""
    train, held = drawn
    for ir, s, fams in train + held:
        if "typo" in fams:
            continue
        low = s.lower()
        for b in ir["behaviours"]:
            t = b["trigger"]
            if t["event"] == "timer" and t["interval_s"] not in (0.5, 1):
                n = t["interval_s"]
                assert str(n) in s or (float(n).is_integer() and number_words(int(n)) in low), (s, t)
            for a in b["actions"]:
                if a["op"] == "rotate":
                    assert re.search(rf"\b{a['axis']}\b", low), (s, a)
                if a["op"] == "log":
                    assert a["message"] in s
    assert conjugate("spin around y") == "spins around y" and conjugate("push it") == "pushes it"
    assert conjugate("apply a force") == "applies a force" and conjugate("destroy itself") == "destroys itself"
    assert number_words(360) == "three hundred sixty" and number_words(45) == "forty-five"


def test_the_generated_match_knows_when_the_class_name_was_given():
    rng = random.Random(0)
    ir = random_ir(rng, Size(1, 1, 1))
    other = {**ir, "class_name": "Zzz"}
    assert generated_mismatches(other, "a coin that spins", ir, ["noun"]) == []
    assert generated_mismatches(other, "Coin: spin", ir, ["class_colon"]) != []
    assert generated_mismatches(ir, "x", ir, ["plain"]) == []


def _run(out, *sets):
    code, o, e = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(out),
                          "--set", "synth.count=60", *[x for s in sets for x in ("--set", s)]])
    assert code == 0, o + e


def test_no_held_out_family_sentence_reaches_the_training_split(tmp_path):
    _run(tmp_path)
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    held = [json.loads(x) for x in (tmp_path / "prepare" / "heldout_phrasing.jsonl").read_text().splitlines()]
    assert len(held) == 16 and all(HELDOUT & set(r["families"]) for r in held)
    for r in held:
        validate(r["ir"])
    text = {r.get("prompt", "") for r in train} | {t["value"] for r in train for t in r["conversations"]}
    assert not {r["prompt"] for r in held} & text
    assert all(not HELDOUT & set(r.get("families", [])) for r in train)
    assert any(r.get("task") == "text2ir" for r in train)

    # a triplet whose request used a held-out family (however it got there) is dropped, not trained on
    trip = tmp_path / "synth" / "triplets.jsonl"
    rows = [json.loads(x) for x in trip.read_text().splitlines()]
    rows[0] = {**rows[0], "prompt": "script for a coin: SENTINEL spin", "families": ["script_for", "rotate.degrees"]}
    trip.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, o, e = run_cli(["run", "--plugin", "irgen", "prepare", "--out", str(tmp_path), "--force", "prepare",
                          "--set", "synth.count=60"])
    assert code == 0, o + e
    assert "SENTINEL" not in (tmp_path / "prepare" / "train.jsonl").read_text()
    assert json.loads((tmp_path / "metrics.json").read_text())["prepare"]["heldout_phrasing_dropped"] == 1


def test_more_phrasings_per_spec_are_more_sentence_to_ir_records(tmp_path):
    _run(tmp_path, "synth.phrasings=3")
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    code = [r for r in train if r.get("task") != "text2ir"]
    text = [r for r in train if r.get("task") == "text2ir"]
    assert len(text) > 2.5 * len(code) and not any("paraphrases" in r for r in train)
    by_ir: dict[str, set[str]] = {}
    for r in text:
        by_ir.setdefault(r["conversations"][2]["value"], set()).add(r["prompt"])
    assert sum(len(p) == 3 for p in by_ir.values()) > 0.8 * len(by_ir)  # three different requests per spec


def test_a_paraphrase_must_keep_every_number_and_key():
    from almost_irgen.stages.synth import says_the_numbers_and_keys

    ir = {"ir_version": "1.0", "class_name": "Fan", "behaviours": [
        {"trigger": {"event": "key_down", "key": "Space"}, "actions": [{"op": "rotate", "axis": "y", "degrees_per_second": 90}]}]}
    assert says_the_numbers_and_keys("on spacebar spin around y at ninety deg/s", ir)
    assert says_the_numbers_and_keys("When SPACE is pressed rotate 90 degrees a second", ir)
    assert not says_the_numbers_and_keys("on spacebar spin around y at 9 deg/s", ir)
    assert not says_the_numbers_and_keys("when E is pressed rotate at 90", ir)
    assert not says_the_numbers_and_keys("press space to spin at 190 deg/s", ir)
    log = {"ir_version": "1.0", "class_name": "L", "fields": [{"name": "hitSound", "type": "AudioClip"}],
           "components": ["AudioSource"], "behaviours": [{"trigger": {"event": "start"}, "actions": [
               {"op": "log", "message": "ready"}, {"op": "play_sound", "clip_field": "hitSound"}]}]}
    assert says_the_numbers_and_keys("at start print ready and play the hit sound", log)
    assert not says_the_numbers_and_keys("at start print ready and play a sound", log)
    assert not says_the_numbers_and_keys("at start log something and play hitSound", log)


def test_teacher_paraphrases_join_the_training_sentences(tmp_path):
    """synth.teacher_paraphrase: each request goes to the endpoint; a rewrite that still says every
    number and key becomes one more sentence → IR record, one that lost them is counted and dropped."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            request = body["messages"][-1]["content"]
            seen.append(request)
            # every other answer keeps the request's words (minus the template), the rest lose them
            text = request.split(" that ", 1)[-1].rstrip(".") + " pls" if len(seen) % 2 else "do the thing"
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": f'"{text}"'}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        _run(tmp_path, "synth.teacher_paraphrase=true", f"synth.teacher_url=http://127.0.0.1:{httpd.server_address[1]}/v1",
             "synth.teacher_requests_per_min=0")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert len(seen) == 60 and all(s.startswith("Make a Unity script") for s in seen)
    rows = [json.loads(x) for x in (tmp_path / "synth" / "triplets.jsonl").read_text().splitlines()]
    kept = [p["prompt"] for r in rows for p in r.get("paraphrases", []) if p["families"] == ["teacher"]]
    m = json.loads((tmp_path / "metrics.json").read_text())["synth"]
    assert m["teacher_paraphrases"] == len(kept) and m["teacher_paraphrases"] + m["teacher_paraphrases_rejected"] == 60
    assert 20 <= len(kept) <= 45  # the rewrites that lost a number, key, field or message are gone
    for r in rows:
        for p in r.get("paraphrases", []):
            if p["families"] != ["teacher"]:
                continue  # tiny's second generator phrasing of the spec
            assert p["prompt"].endswith(" pls") or {a["op"] for b in r["ir"]["behaviours"] for a in b["actions"]} <= {
                "destroy", "custom"}, p  # a spec with nothing of the kind left
    train = (tmp_path / "prepare" / "train.jsonl").read_text()
    assert sum(json.dumps(p)[1:-1] in train for p in kept) >= 0.7 * len(kept)  # those on the training side


def test_the_generator_draws_every_kind_of_thing_the_handwritten_set_asks_for():
    """Training covers the hand-written set's vocabulary (its sentences stay unseen): each trigger
    event, key, tag, op, axis-aligned direction and force axis it uses is one random_ir draws."""
    from almost_irgen.irmatch import load_handwritten

    rng = random.Random(5)
    specs = [random_ir(rng, Size(2, 2, 2)) for _ in range(1500)]

    def vocab(irs):
        out = set()
        for ir in irs:
            for b in ir["behaviours"]:
                t, c = b["trigger"], b.get("condition") or {}
                out |= {("event", t["event"]), ("key", t.get("key")), ("cond", c.get("kind")), ("tag", c.get("tag")),
                        ("held", c.get("key"))}
                for a in b["actions"]:
                    out.add(("op", a["op"]))
                    if a["op"] == "translate":
                        out.add(("dir", tuple(a["direction"])))
                    if a["op"] == "apply_force":
                        out.add(("force_axis", tuple(int(bool(x)) * (1 if x > 0 else -1) for x in a["force"]), a["mode"]))
        return out - {("key", None), ("cond", None), ("tag", None), ("held", None)}

    hand = vocab(e["ir"] for e in load_handwritten())
    missing = hand - vocab(specs)
    assert not missing, missing
