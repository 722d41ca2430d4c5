"""Phrasing families: the ways people ask for each trigger, condition and op, in one table.

``synthgen.describe`` writes every spec one way ("Make a Unity script CoinSpinner that every
frame, rotate around y by 90 degrees per second."); a model trained on it alone got 6 of 24
sentences written by hand right. :data:`PHRASES` keeps, beside each trigger event, condition
kind and op, several *families* of wording (``rotate.spin``: "spin around the y axis at 90
deg/s"; ``apply_force.launch``: "launch it upward with an impulse of 5"), and :data:`FRAMES`
the ways a request is put together: noun phrases ("a coin that spins …"), imperatives ("make
the fan …"), "when X, do Y", "Fan: …", casual lower case with small typos, and the old template
(``legacy``). Numbers come as digits or words, keys as people name them ("spacebar", "the E
key"), tags as "the player" or "anything tagged Enemy", and field names as written or as
words ("hitSound" → "the hit sound").

Families in :data:`HELDOUT` are never drawn for training (:func:`phrase` with
``heldout=False``); ``synth`` phrases a separate set of specs with them, ``prepare`` keeps any
row that carries one out of the training split, and ``evaluate`` scores them alone
(``ir_match_heldout_phrasing``). :func:`phrase` returns the sentence and the ids of every
family it used, so that rule can be checked.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from .ops import TABLE, Fam

# re-exported: how keys, tags, numbers and names are said lives in almost_irgen.words
from .words import KEY_SAYS as KEY_SAYS
from .words import TAG_SAYS as TAG_SAYS
from .words import humanize as humanize
from .words import key_name, tag_name
from .words import number_words as number_words
from .words import say_field as _field
from .words import say_number as _num

# -- the table: kind → [(family id, held out, phrase function)] --------------------------------------
# a phrase function takes (the trigger / condition / action, rng) and returns words; an action's
# words (each op's ``phrases`` in almost_irgen.ops.TABLE) start with the verb in its base form
# ("spin …"), the frames conjugate it ("spins …")


def _who(b: dict, rng: random.Random) -> str:
    c = b.get("condition") or {}
    return tag_name(c["tag"], rng) if c.get("kind") == "tag" else rng.choice(["something", "anything"])


def _every(t: dict, rng: random.Random) -> str:
    n = t["interval_s"]
    if n == 1:
        return rng.choice(["every second", "once a second", "every 1 s", "each second"])
    if n == 0.5 and rng.random() < 0.3:
        return "every half second"
    return f"every {_num(n, rng)} {rng.choice(['seconds', 'seconds', 's', 'sec', 'secs'])}"


TRIGGERS: dict[str, list[Fam]] = {
    "update": [("update.frame", False, lambda b, r: r.choice(["every frame", "each frame", "every frame", "per frame",
                                                              "on every frame", "every single frame"])),
               ("update.method", False, lambda b, r: r.choice(["in Update", "in update", "on update"])),
               ("update.always", True, lambda b, r: r.choice(["all the time", "constantly", "continuously"]))],
    "fixed_update": [("fixed_update.physics", False, lambda b, r: r.choice(["every physics step", "each physics step"])),
                     ("fixed_update.method", False, lambda b, r: r.choice(["in FixedUpdate", "every fixed update"])),
                     ("fixed_update.tick", True, lambda b, r: "on every physics tick")],
    "start": [("start.game", False, lambda b, r: r.choice(["when the game starts", "at the start", "when the scene starts"])),
              ("start.method", False, lambda b, r: r.choice(["at start", "on start", "in Start"])),
              ("start.spawns", False, lambda b, r: r.choice(["when it spawns", "at the beginning", "when the level loads",
                                                             "on game start", "once at the start", "when it is created"])),
              ("start.begin", True, lambda b, r: "as soon as the level begins")],
    "awake": [("awake.method", False, lambda b, r: r.choice(["on awake", "in Awake", "on Awake"])),
              ("awake.wakes", False, lambda b, r: r.choice(["when it wakes up", "when it awakes"]))],
    "on_enable": [("on_enable.enabled", False, lambda b, r: r.choice(["when enabled", "when it is enabled", "on enable"])),
                  ("on_enable.switched", True, lambda b, r: "whenever it gets switched on")],
    "on_disable": [("on_disable.disabled", False, lambda b, r: r.choice(["when disabled", "when it is disabled", "on disable"])),
                   ("on_disable.switched", True, lambda b, r: "whenever it gets switched off")],
    "on_trigger_enter": [
        ("on_trigger_enter.enters", False, lambda b, r: f"when {_who(b, r)} enters {r.choice(['its trigger', 'the trigger zone', 'the trigger'])}"),
        ("on_trigger_enter.walks", False, lambda b, r: f"when {_who(b, r)} {r.choice(['walks into it', 'passes through it', 'goes through it'])}"),
        ("on_trigger_enter.touch", False, lambda b, r: f"when {_who(b, r)} {r.choice(['touches it', 'picks it up', 'collects it', 'grabs it', 'gets it', 'reaches it'])}"),
        ("on_trigger_enter.overlap", True, lambda b, r: f"the moment {_who(b, r)} overlaps its trigger")],
    "on_collision_enter": [
        ("on_collision_enter.collides", False, lambda b, r: f"when it collides with {_who(b, r)}"),
        ("on_collision_enter.hits", False, lambda b, r: r.choice([f"when {_who(b, r)} hits it", f"when it hits {_who(b, r)}",
                                                                  f"on collision with {_who(b, r)}"])),
        ("on_collision_enter.contact", False, lambda b, r: r.choice([f"on contact with {_who(b, r)}", f"when hit by {_who(b, r)}",
                                                                     f"when {_who(b, r)} crashes into it", f"when it touches {_who(b, r)}",
                                                                     f"if it collides with {_who(b, r)}"])),
        ("on_collision_enter.bumps", True, lambda b, r: f"when {_who(b, r)} bumps into it")],
    "key_down": [("key_down.pressed", False, lambda b, r: f"when {key_name(b['trigger']['key'], r)} is pressed"),
                 ("key_down.presses", False, lambda b, r: f"when the player presses {key_name(b['trigger']['key'], r)}"),
                 ("key_down.on", False, lambda b, r: f"on {key_name(b['trigger']['key'], r)}"),
                 ("key_down.if", False, lambda b, r: r.choice([f"if {key_name(b['trigger']['key'], r)} is pressed",
                                                               f"when I press {key_name(b['trigger']['key'], r)}",
                                                               f"each time {key_name(b['trigger']['key'], r)} is pressed",
                                                               f"when you press {key_name(b['trigger']['key'], r)}",
                                                               f"when {key_name(b['trigger']['key'], r)} is tapped"])),
                 ("key_down.hit", True, lambda b, r: f"whenever {key_name(b['trigger']['key'], r)} gets hit")],
    "timer": [("timer.every", False, lambda b, r: _every(b["trigger"], r)),
              ("timer.once_every", False, lambda b, r: f"{r.choice(['once every', 'each', 'every'])} {_num(b['trigger']['interval_s'], r)} "
                                                       f"{r.choice(['seconds', 'sec', 's', 'secs'])}"),
              ("timer.interval", True, lambda b, r: f"at an interval of {_num(b['trigger']['interval_s'], r)} seconds")],
}

_CMP_SAYS = {"<": ["is less than", "is below", "<", "drops below"], ">": ["is greater than", "is above", ">", "is more than"],
             "<=": ["is at most", "<="], ">=": ["is at least", ">="], "!=": ["is not", "isn't", "!="],
             "==": ["is", "equals", "=="]}
# more ways, with the number's place: "health is 0 or less", "lives drops below 1"
_CMP_PLACED = {"<": ["goes below {v}", "falls under {v}", "is under {v}", "is lower than {v}", "is smaller than {v}"],
               ">": ["goes above {v}", "goes over {v}", "exceeds {v}", "is over {v}", "is higher than {v}"],
               "<=": ["is {v} or less", "is {v} or lower", "is less than or equal to {v}", "<= {v}"],
               ">=": ["is {v} or more", "reaches {v}", "is {v} or higher", "is greater than or equal to {v}", ">= {v}"],
               "!=": ["is not equal to {v}", "is anything but {v}", "!= {v}"], "==": ["is exactly {v}", "equals {v}"]}


def _cmp_words(c: dict, r: random.Random) -> str:
    return f"{_field(c['field'], r)} {r.choice(_CMP_PLACED[c['cmp']]).format(v=_num(c['value'], r))}"

CONDITIONS: dict[str, list[Fam]] = {
    "compare": [("compare.if", False, lambda c, r: f"if {_field(c['field'], r)} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}"),
                ("compare.while", False, lambda c, r: f"while {_field(c['field'], r)} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}"),
                ("compare.when", False, lambda c, r: f"{r.choice(['when', 'if', 'whenever', 'once'])} {_cmp_words(c, r)}"),
                ("compare.only", True, lambda c, r: f"but only when {c['field']} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}")],
    "key_held": [("key_held.held", False, lambda c, r: f"while {key_name(c['key'], r)} is held{r.choice(['', ' down'])}"),
                 ("key_held.holding", False, lambda c, r: f"while holding {key_name(c['key'], r)}"),
                 ("key_held.with", False, lambda c, r: r.choice([f"with {key_name(c['key'], r)} held down",
                                                                  f"while pressing {key_name(c['key'], r)}",
                                                                  f"while {key_name(c['key'], r)} is pressed",
                                                                  f"while the player holds {key_name(c['key'], r)}"])),
                 ("key_held.aslong", True, lambda c, r: f"as long as {key_name(c['key'], r)} is down")],
}


ACTIONS: dict[str, list[Fam]] = {name: list(op.phrases) for name, op in TABLE.items()}
PHRASES = {"trigger": TRIGGERS, "condition": CONDITIONS, "action": ACTIONS}


def conjugate(words: str) -> str:
    """The first verb in the third person: "spin around …" → "spins around …"."""
    head, _, rest = words.partition(" ")
    if not head.replace("-", "").isalpha():
        return "does " + words
    if head == "do":
        return "does " + rest
    if re.search(r"(s|sh|ch|x|z|o)$", head):
        head += "es"
    elif re.search(r"[^aeiou]y$", head):
        head = head[:-1] + "ies"
    else:
        head += "s"
    return f"{head} {rest}".strip()


def _pick(fams: list[Fam], rng: random.Random, heldout: bool) -> Fam:
    if heldout and any(h for _, h, _ in fams):
        return rng.choice([f for f in fams if f[1]])
    return rng.choice([f for f in fams if not f[1]] or fams)


def _say(fams: list[Fam], thing: dict, rng: random.Random, heldout: bool, used: set[str]) -> str:
    """``thing`` (a trigger's behaviour, a condition, an action) in a family drawn from ``fams``."""
    fid, _, fn = _pick(fams, rng, heldout)
    used.add(fid)
    return fn(thing, rng)


LEAD = "^"  # a when-clause that must open its sentence, with no comma: "press E to hide the door"


def _special(b: dict, rng: random.Random, third: bool, lead: bool, used: set[str]) -> tuple[str, str] | None:
    """Training-only constructions that join trigger and action: "press E to …" (a key, leading
    a plain sentence) and "destroy itself 3 seconds after it spawns" (a delayed destroy at start)."""
    ev, acts, cond = b["trigger"]["event"], b["actions"], b.get("condition")
    if lead and ev == "key_down" and not cond and rng.random() < 0.3:
        used.add("key_down.press_to")
        what = rng.choice([" and ", " and "]).join(_say(list(TABLE[a["op"]].phrases), a, rng, False, used) for a in acts)
        return LEAD + f"{rng.choice(['press', 'press', 'hit', 'tap'])} {key_name(b['trigger']['key'], rng)} to", what
    if (ev == "start" and not cond and len(acts) == 1 and acts[0]["op"] == "destroy" and acts[0]["target"] == "self"
            and acts[0].get("delay_s") and rng.random() < 0.5):
        used.add("destroy.after_start")
        verb = rng.choice(["destroy itself", "self-destruct", "disappear", "destroy this object", "die"])
        when = rng.choice(["it spawns", "the game starts", "it is created", "start", "spawning"])
        d = _num(acts[0]["delay_s"], rng)
        return "", f"{conjugate(verb) if third else verb} {d} {rng.choice(['seconds', 's', 'sec'])} after {when}"
    return None


def _clauses(ir: dict, rng: random.Random, heldout: bool, used: set[str], third: bool,
             lead: bool = False) -> list[tuple[str, str]]:
    """Per behaviour: (when-words, action-words); ``lead``: the frame lets a clause open the sentence."""
    out = []
    for b in ir["behaviours"]:
        special = None if heldout else _special(b, rng, third, lead, used)
        if special is not None:
            out.append(special)
            continue
        acts = [_say(list(TABLE[a["op"]].phrases), a, rng, heldout, used) for a in b["actions"]]
        joiner = rng.choice([" and ", " and ", ", then ", " and also "])
        what = joiner.join(conjugate(x) for x in acts) if third else joiner.join(acts)
        ev, cond = b["trigger"]["event"], b.get("condition")
        continuous = all(TABLE[a["op"]].continuous for a in b["actions"])
        said_cond = cond and cond["kind"] != "tag"  # a tag is said in the contact trigger's words
        if ev == "update" and (continuous or said_cond) and rng.random() < 0.6:
            when = ""  # "a coin that spins at 90 deg/s", "if lives < 1, destroy it": per frame without saying so
        else:
            when = _say(TRIGGERS[ev], b, rng, heldout, used)
        if said_cond:
            when = f"{when} {_say(CONDITIONS[cond['kind']], cond, rng, heldout, used)}".strip()
        out.append((when, what))
    return out


def _join(parts: list[str], rng: random.Random) -> str:
    return rng.choice(["; ", ", and ", ". Also, "]).join(parts)


def _lead_or_trail(when: str, what: str, rng: random.Random) -> str:
    if not when:
        return what
    if when.startswith(LEAD):
        return f"{when[1:]} {what}"
    return f"{when}, {what}" if rng.random() < 0.5 else f"{what} {when}"


def _noun(ir: dict) -> str:
    words = humanize(ir["class_name"]).split()
    return words[0] if words else "object"


def _a_noun(ir: dict, rng: random.Random) -> str:
    """"a coin", "an orb" or "the coin"."""
    noun = _noun(ir)
    return f"{'the' if rng.random() < 0.4 else 'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _plain(ir, rng, heldout, used):
    return _join([_lead_or_trail(w, a, rng) for w, a in _clauses(ir, rng, heldout, used, False, lead=True)], rng)


def _noun_frame(ir, rng, heldout, used):
    parts = [f"{a} {w}".strip() for w, a in _clauses(ir, rng, heldout, used, True)]
    return f"{_a_noun(ir, rng)} that " + " and ".join(parts)


def _imperative(ir, rng, heldout, used):
    parts = [f"{a} {w}".strip() for w, a in _clauses(ir, rng, heldout, used, False)]
    subject = rng.choice([f"make the {_noun(ir)}", "make it", f"I want the {_noun(ir)} to"])
    return f"{subject} " + " and ".join(parts)


def _class_colon(ir, rng, heldout, used):
    name = ir["class_name"]
    return f"{rng.choice([f'{name}: ', f'{name} - ', f'class {name}: '])}{_plain(ir, rng, heldout, used)}"


def _script_for(ir, rng, heldout, used):
    return f"script for {_a_noun(ir, rng)}: {_plain(ir, rng, heldout, used)}"


def _need(ir, rng, heldout, used):
    parts = [f"{a} {w}".strip() for w, a in _clauses(ir, rng, heldout, used, False)]
    return "I need something that will " + " and ".join(parts) + f", for {_a_noun(ir, rng)}"


def _legacy(ir, rng, heldout, used):
    from .synthgen import describe

    return describe(ir)


# frame id → (held out, weight in the training draw, function); "legacy" is synthgen.describe
FRAMES: dict[str, tuple[bool, float, Callable]] = {
    "legacy": (False, 0.15, _legacy), "plain": (False, 0.25, _plain), "noun": (False, 0.25, _noun_frame),
    "imperative": (False, 0.15, _imperative), "class_colon": (False, 0.2, _class_colon),
    "script_for": (True, 1.0, _script_for), "need": (True, 1.0, _need),
}
TYPO_P = 0.15  # a share of the non-legacy sentences gets lower case, no end punctuation and one typo



def _families() -> list[tuple[str, bool]]:
    """``(family id, held out)`` of every frame and every wording of :data:`PHRASES`."""
    return [(f, h) for f, (h, _, _) in FRAMES.items()] + [
        (fid, h) for table in PHRASES.values() for fams in table.values() for fid, h, _ in fams]


HELDOUT = frozenset(f for f, h in _families() if h)
ALL_FAMILIES = frozenset([f for f, _ in _families()] + ["typo"])

_TYPO_WORDS = frozenset("rotate around degrees second seconds pressed every forward destroy spawn player collides "
                        "enters impulse frame itself object sound press start starts enabled something anything "
                        "backward instantiate launch apply force while holding disappear trigger".split())


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower() in _TYPO_WORDS]
    if spots:
        i = rng.choice(spots)
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1:] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def phrase(ir: dict, rng: random.Random, heldout: bool = False) -> tuple[str, list[str]]:
    """``(sentence, family ids used)``: a request for ``ir`` in a frame and wordings drawn from the
    training families, or (``heldout=True``) from the held-out ones (each part's held-out wording
    where it has one)."""
    names = [f for f, (h, _, _) in FRAMES.items() if h == heldout]
    frame = rng.choices(names, weights=[FRAMES[f][1] for f in names])[0]
    used = {frame}
    text = FRAMES[frame][2](ir, rng, heldout, used)
    if frame != "legacy":
        if rng.random() < TYPO_P:
            text = _typo(text.lower() if rng.random() < 0.5 else text, rng)
            used.add("typo")
        else:
            text = text[0].upper() + text[1:] + rng.choice([".", "", "."])
    return text, sorted(used)
