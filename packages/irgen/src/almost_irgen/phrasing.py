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

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0 … 999 in words ("three hundred sixty")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))


def _num(v, rng: random.Random, words: float = 0.2) -> str:
    """A number as people write it: digits, or words for a small whole number."""
    if isinstance(v, str):
        return v
    if float(v).is_integer():
        v = int(v)
        if 0 <= v < 1000 and rng.random() < words:
            return number_words(v)
    return str(v)


def humanize(name: str) -> str:
    """``hitSound`` → ``hit sound``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()


def _field(name: str, rng: random.Random) -> str:
    return name if rng.random() < 0.6 else f"the {humanize(name)}"


KEY_SAYS = {"Space": ["space", "spacebar", "the space key", "the space bar", "Space"],
            "Return": ["enter", "return", "the enter key", "Return"], "Escape": ["escape", "esc", "the escape key"],
            "LeftShift": ["shift", "left shift", "the shift key"],
            "Mouse0": ["the left mouse button", "left click", "the mouse button"],
            "UpArrow": ["the up arrow", "up arrow", "the up arrow key"],
            "DownArrow": ["the down arrow", "down arrow", "the down arrow key"],
            "LeftArrow": ["the left arrow", "left arrow", "the left arrow key"],
            "RightArrow": ["the right arrow", "right arrow", "the right arrow key"]}
TAG_SAYS = {"Player": ["the player", "the Player", "anything tagged Player", "an object tagged Player"],
            "Enemy": ["an enemy", "an Enemy", "anything tagged Enemy", "something with the Enemy tag"],
            "Bullet": ["a bullet", "a Bullet", "anything tagged Bullet", "an object tagged Bullet"],
            "Pickup": ["a pickup", "a Pickup", "anything tagged Pickup", "something with the Pickup tag"],
            "Ground": ["the ground", "the Ground", "anything tagged Ground", "an object tagged Ground"]}


def key_name(key: str, rng: random.Random) -> str:
    return rng.choice(KEY_SAYS.get(key, [key, f"the {key} key", key.lower()]))


def tag_name(tag: str, rng: random.Random) -> str:
    return rng.choice(TAG_SAYS.get(tag, [f"anything tagged {tag}", f"an object tagged {tag}"]))


_DIRS = {(0, 0, 1): (["forward", "forwards", "ahead"], "forward"), (0, 0, -1): (["backward", "back"], "backward"),
         (1, 0, 0): (["right", "to the right"], "rightward"), (-1, 0, 0): (["left", "to the left"], "leftward"),
         (0, 1, 0): (["up", "upward", "upwards"], "upward"), (0, -1, 0): (["down", "downward"], "downward")}


def _vec(v) -> str:
    return "(" + ", ".join(str(int(x)) if float(x).is_integer() else str(x) for x in v) + ")"


def _unit(v) -> tuple[tuple | None, float]:
    """A vector as (axis-aligned unit direction, magnitude), or (None, 0) when it is not on one axis."""
    nz = [i for i, x in enumerate(v) if x]
    if len(nz) != 1:
        return None, 0
    m = abs(v[nz[0]])
    return tuple(int(x / m) for x in v), m


# -- the table: kind → [(family id, held out, phrase function)] --------------------------------------
# a phrase function takes (the trigger / condition / action, rng) and returns words; an action's
# words start with the verb in its base form ("spin …"), the frames conjugate it ("spins …")
Fam = tuple[str, bool, Callable]


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
    "update": [("update.frame", False, lambda b, r: r.choice(["every frame", "each frame", "every frame"])),
               ("update.method", False, lambda b, r: r.choice(["in Update", "in update", "on update"])),
               ("update.always", True, lambda b, r: r.choice(["all the time", "constantly", "continuously"]))],
    "fixed_update": [("fixed_update.physics", False, lambda b, r: r.choice(["every physics step", "each physics step"])),
                     ("fixed_update.method", False, lambda b, r: r.choice(["in FixedUpdate", "every fixed update"])),
                     ("fixed_update.tick", True, lambda b, r: "on every physics tick")],
    "start": [("start.game", False, lambda b, r: r.choice(["when the game starts", "at the start", "when the scene starts"])),
              ("start.method", False, lambda b, r: r.choice(["at start", "on start", "in Start"])),
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
        ("on_trigger_enter.overlap", True, lambda b, r: f"the moment {_who(b, r)} overlaps its trigger")],
    "on_collision_enter": [
        ("on_collision_enter.collides", False, lambda b, r: f"when it collides with {_who(b, r)}"),
        ("on_collision_enter.hits", False, lambda b, r: r.choice([f"when {_who(b, r)} hits it", f"when it hits {_who(b, r)}",
                                                                  f"on collision with {_who(b, r)}"])),
        ("on_collision_enter.bumps", True, lambda b, r: f"when {_who(b, r)} bumps into it")],
    "key_down": [("key_down.pressed", False, lambda b, r: f"when {key_name(b['trigger']['key'], r)} is pressed"),
                 ("key_down.presses", False, lambda b, r: f"when the player presses {key_name(b['trigger']['key'], r)}"),
                 ("key_down.on", False, lambda b, r: f"on {key_name(b['trigger']['key'], r)}"),
                 ("key_down.hit", True, lambda b, r: f"whenever {key_name(b['trigger']['key'], r)} gets hit")],
    "timer": [("timer.every", False, lambda b, r: _every(b["trigger"], r)),
              ("timer.interval", True, lambda b, r: f"at an interval of {_num(b['trigger']['interval_s'], r)} seconds")],
}

_CMP_SAYS = {"<": ["is less than", "is below", "<", "drops below"], ">": ["is greater than", "is above", ">", "is more than"],
             "<=": ["is at most", "<="], ">=": ["is at least", ">="], "!=": ["is not", "isn't", "!="],
             "==": ["is", "equals", "=="]}

CONDITIONS: dict[str, list[Fam]] = {
    "compare": [("compare.if", False, lambda c, r: f"if {_field(c['field'], r)} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}"),
                ("compare.while", False, lambda c, r: f"while {_field(c['field'], r)} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}"),
                ("compare.only", True, lambda c, r: f"but only when {c['field']} {r.choice(_CMP_SAYS[c['cmp']])} {_num(c['value'], r)}")],
    "key_held": [("key_held.held", False, lambda c, r: f"while {key_name(c['key'], r)} is held{r.choice(['', ' down'])}"),
                 ("key_held.holding", False, lambda c, r: f"while holding {key_name(c['key'], r)}"),
                 ("key_held.aslong", True, lambda c, r: f"as long as {key_name(c['key'], r)} is down")],
}


def _deg(a: dict, r: random.Random) -> str:
    return _num(a["degrees_per_second"], r)


def _move(a: dict, r: random.Random, words: list[str]) -> str:
    d, m = _unit(a["direction"])
    where = r.choice(_DIRS[d][0]) if d in _DIRS and m == 1 else f"along {_vec(a['direction'])}"
    return r.choice(words).format(dir=where, s=_num(a["speed"], r))


def _force(a: dict, r: random.Random, impulse: list[str], push: list[str], vec: list[str]) -> str:
    d, m = _unit(a["force"])
    if d not in _DIRS:
        return r.choice(vec).format(v=_vec(a["force"]), kind="an impulse" if a.get("mode") == "Impulse" else "a force")
    words, adj = _DIRS[d]
    pick = impulse if a.get("mode") == "Impulse" else push
    return r.choice(pick).format(dir=r.choice(words), adj=adj, m=_num(m, r), an="an" if adj[0] in "aeiou" else "a")


def _destroy(a: dict, r: random.Random, self_words: list[str], other_words: list[str]) -> str:
    text = r.choice(self_words if a["target"] == "self" else other_words)
    if a.get("delay_s"):
        d = _num(a["delay_s"], r)
        text += r.choice([f" after {d} seconds", f" after {d} s", f" {d} seconds later"])
    return text


def _set(a: dict, r: random.Random, style: str) -> str:
    f, v = _field(a["field"], r), a["value"]
    vt = str(v).lower() if isinstance(v, bool) else _num(v, r)
    if a.get("mode") == "add":
        if style == "code":
            return f"do {a['field']} += {v}"
        if style == "change" and isinstance(v, int | float) and v != 0:
            return f"increase {f} by {_num(v, r)}" if v > 0 else f"decrease {f} by {_num(-v, r)}"
        return f"add {vt} to {f}"
    if style == "code":
        return f"do {a['field']} = {str(v).lower() if isinstance(v, bool) else v}"
    return f"make {f} {vt}" if style == "change" else f"set {f} to {vt}"


ACTIONS: dict[str, list[Fam]] = {
    "rotate": [("rotate.degrees", False, lambda a, r: f"rotate around {r.choice(['', 'the '])}{a['axis']}{r.choice(['', ' axis'])} at {_deg(a, r)} degrees per second"),
               ("rotate.spin", False, lambda a, r: f"spin around the {a['axis']} axis at {_deg(a, r)} {r.choice(['deg/s', 'deg per sec', 'degrees a second'])}"),
               ("rotate.turn", False, lambda a, r: f"turn on {a['axis']} at {_deg(a, r)} {r.choice(['degrees/s', '°/s', 'degrees each second'])}"),
               ("rotate.symbol", True, lambda a, r: f"rotate {_deg(a, r)}°/s about the {a['axis']} axis")],
    "translate": [("translate.move", False, lambda a, r: _move(a, r, ["move {dir} at speed {s}", "move {dir} at {s} units per second"])),
                  ("translate.slide", False, lambda a, r: _move(a, r, ["slide {dir} at a speed of {s}", "travel {dir}, speed {s}"])),
                  ("translate.go", True, lambda a, r: _move(a, r, ["go {dir} with speed {s}"]))],
    "apply_force": [
        ("apply_force.launch", False, lambda a, r: _force(a, r, ["launch it {dir} with an impulse of {m}", "apply an impulse of {m} {dir}"],
                                                          ["push it {dir} with force {m}", "apply a force of {m} {dir}"],
                                                          ["apply {kind} of {v}", "push it with {kind} of {v}"])),
        ("apply_force.adjective", False, lambda a, r: _force(a, r, ["apply {an} {adj} impulse of {m}", "add {an} {adj} impulse of {m}"],
                                                             ["apply {an} {adj} force of {m}", "add {an} {adj} force of {m}"],
                                                             ["add {kind} {v}"])),
        ("apply_force.give", True, lambda a, r: _force(a, r, ["give it {an} {adj} kick of {m} at once"], ["give it a steady {adj} push of {m}"],
                                                       ["give it {kind} of {v}"]))],
    "spawn": [("spawn.spawn", False, lambda a, r: f"spawn {_field(a['prefab_field'], r)}"),
              ("spawn.instantiate", False, lambda a, r: f"{r.choice(['instantiate', 'create'])} {_field(a['prefab_field'], r)}"),
              ("spawn.copy", True, lambda a, r: f"make a copy of {a['prefab_field']}")],
    "destroy": [("destroy.destroy", False, lambda a, r: _destroy(a, r, ["destroy itself", "destroy this object", "destroy the game object"],
                                                                ["destroy the other object", "destroy whatever it touched"])),
                ("destroy.disappear", False, lambda a, r: _destroy(a, r, ["disappear", "get destroyed", "self-destruct"],
                                                                  ["destroy the thing that hit it", "destroy the other thing"])),
                ("destroy.remove", True, lambda a, r: _destroy(a, r, ["remove itself from the scene"], ["remove the other object from the scene"]))],
    "play_sound": [("play_sound.play", False, lambda a, r: f"play {_field(a['clip_field'], r)}"),
                   ("play_sound.sound", False, lambda a, r: f"play the {humanize(a['clip_field'])} {r.choice(['sound', 'clip', 'audio'])}"),
                   ("play_sound.ring", True, lambda a, r: f"make a noise with {a['clip_field']}")],
    "set_active": [("set_active.show", False, lambda a, r: f"{'show' if a['active'] else 'hide'} {_field(a['target_field'], r)}"),
                   ("set_active.enable", False, lambda a, r: f"{r.choice(['enable', 'activate']) if a['active'] else r.choice(['disable', 'deactivate'])} {_field(a['target_field'], r)}"),
                   ("set_active.turn", True, lambda a, r: f"switch {a['target_field']} {'on' if a['active'] else 'off'}")],
    "set_field": [("set_field.to", False, lambda a, r: _set(a, r, "to")),
                  ("set_field.change", False, lambda a, r: _set(a, r, "change")),
                  ("set_field.code", True, lambda a, r: _set(a, r, "code"))],
    "log": [("log.log", False, lambda a, r: r.choice([f"log '{a['message']}'", f'log "{a["message"]}"', f"log {a['message']}"])),
            ("log.print", False, lambda a, r: r.choice([f"print {a['message']}", f"print '{a['message']}'", f'print "{a["message"]}"'])),
            ("log.console", True, lambda a, r: f"write '{a['message']}' to the console")],
    "custom": [("custom.text", False, lambda a, r: a["text"])],
}
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


def _clauses(ir: dict, rng: random.Random, heldout: bool, used: set[str], third: bool) -> list[tuple[str, str]]:
    """Per behaviour: (when-words, action-words)."""
    out = []
    for b in ir["behaviours"]:
        acts = []
        for a in b["actions"]:
            fid, _, fn = _pick(ACTIONS[a["op"]], rng, heldout)
            used.add(fid)
            acts.append(conjugate(fn(a, rng)) if third else fn(a, rng))
        joiner = rng.choice([" and ", " and ", ", then ", " and also "])
        what = joiner.join(acts)
        ev, cond = b["trigger"]["event"], b.get("condition")
        continuous = all(a["op"] in ("rotate", "translate") for a in b["actions"])
        if ev == "update" and continuous and rng.random() < 0.5:
            when = ""  # "a coin that spins at 90 deg/s": per frame without saying so
        else:
            fid, _, fn = _pick(TRIGGERS[ev], rng, heldout)
            used.add(fid)
            when = fn(b, rng)
        if cond and cond["kind"] != "tag":  # a tag is said in the contact trigger's words
            fid, _, fn = _pick(CONDITIONS[cond["kind"]], rng, heldout)
            used.add(fid)
            when = f"{when} {fn(cond, rng)}".strip()
        out.append((when, what))
    return out


def _join(parts: list[str], rng: random.Random) -> str:
    return rng.choice(["; ", ", and ", ". Also, "]).join(parts)


def _lead_or_trail(when: str, what: str, rng: random.Random) -> str:
    if not when:
        return what
    return f"{when}, {what}" if rng.random() < 0.5 else f"{what} {when}"


def _noun(ir: dict) -> str:
    words = humanize(ir["class_name"]).split()
    return words[0] if words else "object"


def _a_noun(ir: dict, rng: random.Random) -> str:
    """"a coin", "an orb" or "the coin"."""
    noun = _noun(ir)
    return f"{'the' if rng.random() < 0.4 else 'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _plain(ir, rng, heldout, used):
    return _join([_lead_or_trail(w, a, rng) for w, a in _clauses(ir, rng, heldout, used, False)], rng)


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

HELDOUT = frozenset([f for f, (h, _, _) in FRAMES.items() if h] +
                    [fid for table in PHRASES.values() for fams in table.values() for fid, h, _ in fams if h])
ALL_FAMILIES = frozenset(list(FRAMES) + ["typo"] +
                         [fid for table in PHRASES.values() for fams in table.values() for fid, _, _ in fams])

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
