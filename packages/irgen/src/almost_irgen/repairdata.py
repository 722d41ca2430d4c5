"""Repair conversations to train on: a spec, a broken program, the checker's words, the fixed program.

The generator sends a failing program back with its errors (:meth:`almost_irgen.generator.Generator.ir_to_code`);
a model never trained on that turn fixes nothing. Each conversation here starts from the rule
program of a *training* spec (:func:`almost_irgen.rules.generate`) and breaks it the way small
models do (:data:`MUTATIONS`: a missing ``using``, a wrong type, a misspelt member, an event name
as a ``KeyCode``, a lost ``* Time.deltaTime``, a wrong axis, a cut-off program ...). Every mutant
is run through the real checks (:meth:`Generator.check`: mcs, and the simulated Unity where mono
is): only those they reject are kept, and the user turn is what the generator would say of
them (:func:`almost_irgen.generator.repair_conversation`). The conversation is the generator's own::

    system, user (the IR), assistant (the broken program), user (its errors), assistant (the rule program)

and the loss is on the last answer only (:func:`almost_irgen.model.encode`).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence

from .generator import FAILS, MISBEHAVES, Generator, conversation, repair_conversation
from .rules import generate

Mutation = Callable[[str, random.Random], "str | None"]  # the rule program → a broken one (None: does not apply)


def _one(rng: random.Random, code: str, pattern: str, repl: Callable[[re.Match], str],
         statements: bool = False) -> str | None:
    """``code`` with one match of ``pattern`` (picked by ``rng``) replaced; None when none matches.
    ``statements``: only matches in a method's body (not a field's default)."""
    found = [m for m in re.finditer(pattern, code, re.M)
             if not statements or code[code.rfind("\n", 0, m.start()) + 1:].startswith("        ")]
    if not found:
        return None
    m = rng.choice(found)
    return code[:m.start()] + repl(m) + code[m.end():]


def no_using(code: str, rng: random.Random) -> str | None:
    return code.replace("using UnityEngine;\n\n", "", 1) if code.startswith("using UnityEngine;") else None


# words a small model writes after ``KeyCode.``: the event or a value instead of a key (CS0117)
_NOT_KEYS = ("Update", "Start", "Timer", "KeyDown", "Jump", "Fire", "Spawn", "Press", "Bullet", "Compare")
_KEYS = ("Space", "E", "F", "Q", "R", "W", "A", "D", "Mouse0", "Return", "LeftShift", "Alpha1")


def key_not_a_key(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"KeyCode\.(\w+)", lambda m: f"KeyCode.{rng.choice(_NOT_KEYS)}")


def wrong_key(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"KeyCode\.(\w+)",
                lambda m: f"KeyCode.{rng.choice([k for k in _KEYS if k != m.group(1)])}")


def key_held_or_pressed(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"Input\.GetKey(Down)?\(",
                lambda m: "Input.GetKey(" if m.group(1) else "Input.GetKeyDown(")


# member spellings small models get wrong: a letter lost, the case of a word, a near synonym
_MISSPELT = {
    "transform.Rotate(": ("transform.Rotat(", "transform.rotate(", "transform.Rotation("),
    "transform.Translate(": ("transform.Translat(", "transform.translate(", "transform.Move("),
    ".AddForce(": (".AddForse(", ".addForce(", ".ApplyForce("),
    ".SetActive(": (".setActive(", ".SetActivate(", ".Active("),
    ".PlayOneShot(": (".PlayOneshot(", ".playOneShot(", ".PlaySound("),
    "Instantiate(": ("Instanciate(", "Instantate(", "Spawn("),
    "Destroy(": ("Destory(", "destroy(", "Delete("),
    "Debug.Log(": ("Debug.log(", "Debug.Print(", "Console.Log("),
    "Time.deltaTime": ("Time.DeltaTime", "Time.delta", "Time.deltatime"),
    ".CompareTag(": (".compareTag(", ".CompareTags(", ".HasTag("),
    "GetComponent<": ("getComponent<", "GetComponents<", "FindComponent<"),
    "Input.GetKeyDown(": ("Input.GetkeyDown(", "Input.KeyDown(", "Input.GetKeyPressed("),
    "Input.GetKey(": ("Input.Getkey(", "Input.KeyHeld(", "Input.IsKeyDown("),
    "transform.position": ("transform.Position", "transform.pos", "gameObject.position"),
}


def misspelt_member(code: str, rng: random.Random) -> str | None:
    there = [k for k in _MISSPELT if k in code]
    if not there:
        return None
    name = rng.choice(there)
    return _one(rng, code, re.escape(name), lambda m: rng.choice(_MISSPELT[name]))


_RECEIVERS = {"GetComponent<AudioSource>().PlayOneShot(": "transform.PlayOneShot(",
              "GetComponent<Rigidbody>().AddForce(": "transform.AddForce(",
              "transform.Rotate(": "GetComponent<Rigidbody>().Rotate("}


def wrong_receiver(code: str, rng: random.Random) -> str | None:
    there = [k for k in _RECEIVERS if k in code]
    return code.replace(name := rng.choice(there), _RECEIVERS[name], 1) if there else None


# a field declared with a type its value or its use does not fit (CS0029, CS0266, CS1061 ...)
_WRONG_TYPE = {"float": ("int", "bool", "string"), "int": ("bool", "string", "Vector3"), "bool": ("int", "string"),
               "string": ("int", "float"), "Vector3": ("float", "Vector2"), "GameObject": ("AudioClip", "Transform"),
               "AudioClip": ("GameObject", "AudioSource")}


def wrong_type(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"^( +public )(\w+)( \w+)",
                lambda m: m.group(1) + rng.choice(_WRONG_TYPE.get(m.group(2), ("int",))) + m.group(3))


def missing_field(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"^ +public \w+ \w+( = [^;]*)?;\n", lambda m: "")


def no_delta_time(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r" \* Time\.(fixed)?[dD]eltaTime(?=\))", lambda m: "")


_AXES = ("Vector3.up", "Vector3.right", "Vector3.forward", "Vector3.down", "Vector3.left", "Vector3.back")


def wrong_axis(code: str, rng: random.Random) -> str | None:
    """Another unit axis, or a direction's components in another order."""
    axes = _one(rng, code, r"Vector3\.(up|right|forward|down|left|back)\b",
                lambda m: rng.choice([a for a in _AXES if a != m.group(0)]))
    vec = r"new Vector3\(([^,()]+), ([^,()]+), ([^,()]+)\)"

    def turned(m: re.Match) -> str:
        parts = list(m.groups())
        if len(set(parts)) == 1:
            return m.group(0)
        while parts == list(m.groups()):
            rng.shuffle(parts)
        return f"new Vector3({', '.join(parts)})"

    vecs = _one(rng, code, vec, turned) if re.search(r"(Translate|AddForce)\(" + vec, code) else None
    options = [c for c in (axes, vecs) if c is not None and c != code]
    return rng.choice(options) if options else None


def wrong_amount(code: str, rng: random.Random) -> str | None:
    """A number in a statement (not a field's default) doubled, halved or negated."""
    def other(m: re.Match) -> str:
        v = float(m.group(1))
        w = rng.choice([v * 2, v / 2, -v, v + 1]) if v else rng.choice([1.0, 2.0])
        return f"{w:g}f"

    return _one(rng, code, r"(?<![\w.])(-?\d+(?:\.\d+)?)f(?=[);,])", other, statements=True)


def float_without_f(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"(?<![\w.])(\d+\.\d+)f\b", lambda m: m.group(1))


def lower_case_method(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"void (Update|Start|Awake|FixedUpdate|OnTriggerEnter|OnCollisionEnter|OnEnable)\(",
                lambda m: f"void {m.group(1)[0].lower()}{m.group(1)[1:]}(")


def wrong_event(code: str, rng: random.Random) -> str | None:
    """The contact method the spec did not ask for, or Start for Update."""
    swap = {"void OnTriggerEnter(Collider other)": "void OnCollisionEnter(Collision other)",
            "void OnCollisionEnter(Collision collision)": "void OnTriggerEnter(Collider collision)",
            "void Start()": "void Update()", "void Awake()": "void Update()"}
    there = [k for k in swap if k in code and swap[k] not in code]
    return code.replace(name := rng.choice(there), swap[name], 1) if there else None


def rotate_for_translate(code: str, rng: random.Random) -> str | None:
    swap = {"transform.Translate(": "transform.Rotate(", "transform.Rotate(": "transform.Translate("}
    there = [k for k in swap if k in code]
    return code.replace(name := rng.choice(there), swap[name], 1) if there else None


def missing_semicolon(code: str, rng: random.Random) -> str | None:
    return _one(rng, code, r"(?<=\S);$", lambda m: "", statements=True)


def cut_off(code: str, rng: random.Random) -> str | None:
    """The program ends early, as when the answer ran out of tokens."""
    lines = code.splitlines(keepends=True)
    body = [i for i, line in enumerate(lines) if line.startswith("        ")]
    return "".join(lines[:rng.choice(body) + 1]) if body else None


def class_name(code: str, rng: random.Random) -> str | None:
    """The class named otherwise than the spec says (upper case, lower case, a word lost)."""
    def renamed(m: re.Match) -> str:
        name = m.group(1)
        words = re.findall(r"[A-Z][a-z0-9]*", name)
        choices = {name.upper(), name.lower(), *(words[:1] + words[2:] if len(words) > 1 else [])} - {name}
        return f"public class {rng.choice(sorted(choices))} :"

    return _one(rng, code, r"public class (\w+) :", renamed)


def dropped_action(code: str, rng: random.Random) -> str | None:
    """One action's statement left out (a timer's own bookkeeping stays)."""
    return _one(rng, code, r"^ {8,}(?=[^ ])(?!_timer)[^\n{}]*;\n", lambda m: "")


def dropped_condition(code: str, rng: random.Random) -> str | None:
    """A behaviour's condition left out: one part of an ``&&`` guard, or a lone guard and its braces."""
    lines = code.splitlines(keepends=True)
    ifs = [i for i, line in enumerate(lines)
           if line.lstrip().startswith("if (") and ("_timer" not in line or " && " in line)]
    if not ifs:
        return None
    i = rng.choice(ifs)
    head = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    parts = lines[i].strip()[4:-1].split(" && ")
    if len(parts) > 1:
        parts.pop(rng.randrange(1, len(parts)))
        return "".join([*lines[:i], f"{head}if ({' && '.join(parts)})\n", *lines[i + 1:]])
    end = next(j for j in range(i + 2, len(lines)) if lines[j] == head + "}\n")
    inner = [line[4:] for line in lines[i + 2:end]]
    return "".join([*lines[:i], *inner, *lines[end + 1:]])


# mutants that mcs rejects, and mutants that compile and misbehave (most of the tiny model's failing
# programs compile and misbehave): each kind drawn half the time. A misbehaving mutant is kept less
# often (the check passes one in four, and its longer messages leave more conversations over the
# length limit): a tiny prepare made 56 not compiling and 46 misbehaving (at 2:1 odds, 36 and 66)
NOT_COMPILING = (no_using, key_not_a_key, misspelt_member, wrong_receiver, wrong_type, missing_field, float_without_f,
                 missing_semicolon, cut_off)
MISBEHAVING = (wrong_key, key_held_or_pressed, no_delta_time, wrong_axis, wrong_amount, lower_case_method, wrong_event,
               rotate_for_translate, class_name, dropped_action, dropped_condition)
MUTATIONS: dict[str, Mutation] = {f.__name__: f for f in (*NOT_COMPILING, *MISBEHAVING)}


def mutate(code: str, rng: random.Random) -> tuple[str, str] | None:
    """``(mutation name, mutant)``: one mutation that applies to ``code`` and changes it, picked by
    ``rng`` (a kind first, either half the time; then one of that kind that applies)."""
    kinds = [list(MISBEHAVING), list(NOT_COMPILING)]
    rng.shuffle(kinds)
    for kind in kinds:
        rng.shuffle(kind)
        for f in kind:
            out = f(code, rng)
            if out is not None and out != code:
                return f.__name__, out
    return None


def repair_record(ir: dict, mutant: str, attempt, mutation: str) -> dict:
    """A training record: the generator's repair conversation and the rule program as the answer."""
    fixed = generate(ir)
    conv = [*repair_conversation(conversation(ir), mutant, attempt), {"from": "gpt", "value": fixed}]
    key = "\0".join(t["value"] for t in conv)
    return {"id": hashlib.sha1(key.encode()).hexdigest()[:16], "task": "repair", "prompt": "",
            "mutation": mutation, "verdict": attempt.verdict, "conversations": conv}


def chars(rec: dict) -> int:
    return sum(len(t["value"]) for t in rec["conversations"])


def repair_records(irs: Sequence[dict], count: int, seed: int, gen: Generator, max_chars: int = 0) -> list[dict]:
    """Up to ``count`` repair records from ``irs`` (training specs), each spec broken once per pass
    (the mutation drawn by ``seed``), each mutant checked by ``gen`` (:meth:`Generator.check`) and
    kept only when it does not compile or misbehaves; ``max_chars`` (0: no limit) leaves out
    conversations longer than that (text the training would drop as over its token limit)."""
    rng = random.Random(seed)
    out: list[dict] = []
    order = list(range(len(irs)))
    for _ in range(3):  # a spec may be broken again (another mutation) when the specs run out
        rng.shuffle(order)
        a = 0
        while a < len(order) and len(out) < count:
            n = min(64, 4 + (count - len(out)) * 5 // 4)  # about as many as are still needed (~85% are rejected)
            batch = [(irs[i], m) for i in order[a:a + n] if (m := mutate(generate(irs[i]), rng)) is not None]
            a += n
            if not batch:
                continue
            checked = gen.check([ir for ir, _ in batch], [mutant for _, (_, mutant) in batch])
            made = [repair_record(ir, mutant, att, name) for (ir, (name, mutant)), att in zip(batch, checked)
                    if att.verdict in (FAILS, MISBEHAVES)]
            out += [r for r in made if not max_chars or chars(r) <= max_chars][: count - len(out)]
    return out
