"""Configuration as attrs classes, with profiles, TOML files and ``--set a.b=c`` overrides.

A pipeline's config is an ``attrs`` class (fields may be nested attrs classes). Its
profiles are callables returning an instance (``tiny`` is the default). On top of a profile
come, in order: a TOML file (``--config``) and ``--set key=value`` strings. Every value is
converted to the field's declared type and validated; a bad key or value raises a
:class:`~almost.errors.ConfigError` naming the key and what is allowed.

Use :func:`choice` for a field with a fixed set of values, so errors can list them::

    @attrs.define
    class TrainConfig:
        steps: int = field(200, help="optimizer steps")
        precision: str = choice("no", "no", "fp16", "bf16", help="mixed precision")
"""

from __future__ import annotations

import enum
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import ConfigError, UserError, known_list

_HELP = "almost.help"
_CHOICES = "almost.choices"


_RANGE = "almost.range"
_COMPONENT = "almost.component"
_FINITE = "almost.finite"
_KEY = "almost.key"  # the field's name in TOML and --set, where it cannot be the attribute's


@attrs.frozen
class _Bound:
    """A validator ``value OP bound`` whose failure reads "KEY must be >= 1, not -5"."""

    op: str
    bound: Any

    def __call__(self, inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return
        ok = {">=": value >= self.bound, ">": value > self.bound,
              "<=": value <= self.bound, "<": value < self.bound}[self.op]
        if not ok:  # NaN fails every comparison
            raise ValueError(f"'{attribute.name}' must be {self.op} {self.bound}: {value!r}")


def _finite(inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"'{attribute.name}' must be a finite number: {value!r}")


def field(
    default: Any = attrs.NOTHING,
    *,
    help: str = "",
    factory=None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    finite: bool | None = None,
    component: str | None = None,
    key: str | None = None,
    **kw,
) -> Any:
    """An attrs field with help text (shown by ``almost config``'s comments).

    Shorthands: ``ge=1`` / ``gt=0`` / ``le=1`` / ``lt=1`` bound a number (``None`` passes);
    ``finite=False`` lets a float be NaN or infinite (by default any float value given in a
    TOML file or ``--set`` must be finite); ``component="reward"`` says the value names a
    registered component of that kind (``reward/NAME`` or ``NAME``; empty means none), which
    :func:`resolve` checks against the registry before anything runs; ``key="with"`` names the
    field in TOML and ``--set`` where that name cannot be a Python attribute. Any other attrs
    ``validator=`` works too: a failure becomes "KEY must be >= 1, not -5" (a validator that raises
    :class:`ConfigError` speaks for itself).
    """
    md = dict(kw.pop("metadata", {}) or {})
    md[_HELP] = help
    if key is not None:
        md[_KEY] = key
    validators = []
    given = kw.pop("validator", None)
    if given is not None:
        validators.extend(given if isinstance(given, list | tuple) else [given])
    ranges = []
    for op, bound in ((">=", ge), (">", gt), ("<=", le), ("<", lt)):
        if bound is not None:
            validators.append(_Bound(op, bound))
            ranges.append(f"{op} {bound}")
    if ranges:
        md[_RANGE] = " and ".join(ranges)
    if finite is not None:
        md[_FINITE] = finite
        if finite:
            validators.append(_finite)
    if component is not None:
        from .protocols import PROTOCOLS

        if component not in PROTOCOLS:
            raise ValueError(f"component={component!r} is not a component kind; kinds are {known_list(PROTOCOLS)}")
        md[_COMPONENT] = component
    if validators:
        kw["validator"] = validators
    if factory is not None:
        return attrs.field(factory=factory, metadata=md, **kw)
    return attrs.field(default=default, metadata=md, **kw)


def choice(default: Any, *allowed: Any, help: str = "") -> Any:
    """A field whose value must be one of ``allowed``."""
    allowed = tuple(allowed)
    if default not in allowed:
        raise ValueError(f"default {default!r} not in {allowed!r}")
    return attrs.field(
        default=default,
        metadata={_HELP: help, _CHOICES: allowed},
        validator=attrs.validators.in_(allowed),
    )


# ---------------------------------------------------------------------------------------
# converting values
# ---------------------------------------------------------------------------------------
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) != len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return tp, optional
    return tp, False


def _describe(tp: Any) -> str:
    tp, opt = _unwrap_optional(tp)
    name = getattr(tp, "__name__", str(tp))
    if typing.get_origin(tp) in (list, tuple):
        inner = typing.get_args(tp)
        name = f"list of {_describe(inner[0]) if inner else 'values'}"
    return name + (" or none" if opt else "")


def convert(value: Any, tp: Any, key: str) -> Any:
    """Convert a TOML value or a ``--set`` string to the type ``tp``; errors name ``key``."""
    inner, optional = _unwrap_optional(tp)
    if optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
        return None
    tp = inner
    desc = _describe(tp)
    article = "an" if desc[:1] in "aeiou" else "a"
    bad = ConfigError(f"{key} must be {article} {desc}, not {value!r}")
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                raise bad from None
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise bad
    if tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise bad
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigError(
                f"{key} must be one of {known_list(m.value for m in tp)}, not {value!r}"
            ) from None
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        item_tp = args[0] if args else Any
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = tomllib.loads(f"v = {text}")["v"]
                except tomllib.TOMLDecodeError:
                    raise ConfigError(f"{key} must be a list like [1, 2] or a,b; got {value!r}") from None
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise bad
        items = [convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if isinstance(value, dict):
            return dict(value)
        raise bad
    if attrs.has(tp):
        raise ConfigError(
            f"{key} is a section, not a value; set one of its keys: "
            f"{known_list(f'{key}.{_key(f)}' for f in attrs.fields(tp))}"
        )
    return value


# ---------------------------------------------------------------------------------------
# applying overrides
# ---------------------------------------------------------------------------------------
def _key(f: attrs.Attribute) -> str:
    return f.metadata.get(_KEY, f.name)


def _fields(obj: Any) -> dict[str, attrs.Attribute]:
    """The fields of a config object by their config key (usually the attribute's name)."""
    cls = type(obj)
    attrs.resolve_types(cls)
    return {_key(f): f for f in attrs.fields(cls)}


def _literal(text: str) -> Any:
    """A ``--set`` value for a free-form options table: a TOML literal (``8``, ``0.5``, ``true``,
    ``[1, 2]``, ``"x"``) when it parses as one, else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set_path(cfg: Any, parts: list[str], value: Any, key: str, from_string: bool) -> Any:
    """Return a copy of ``cfg`` with ``parts`` set to ``value`` (converted and validated)."""
    fields = _fields(cfg)
    name = parts[0]
    prefix = key[: len(key) - len(".".join(parts))].rstrip(".")
    if name not in fields:
        where = f" under {prefix!r}" if prefix else ""
        raise ConfigError(
            f"unknown config key {key!r}; known keys{where}: "
            f"{known_list(((prefix + '.') if prefix else '') + n for n in fields)}"
        )
    f = fields[name]
    current = getattr(cfg, f.name)
    if len(parts) == 2 and isinstance(current, dict):  # an options table: --set env.options.size=8
        new = {**current, parts[1]: _literal(value) if from_string else value}
    elif len(parts) > 1:
        if not attrs.has(type(current)):
            raise ConfigError(f"config key {'.'.join([*prefix.split('.'), name]).strip('.')!r} is a value, not a section")
        new = _set_path(current, parts[1:], value, key, from_string)
    elif attrs.has(type(current)) and isinstance(value, Mapping):
        new = apply_mapping(current, value, prefix=key)
    else:
        new = convert(value, f.type, key)
        if isinstance(new, float) and not math.isfinite(new) and f.metadata.get(_FINITE) is not False:
            raise ConfigError(f"{key} must be a finite number, not {value!r}")
    try:
        return attrs.evolve(cfg, **{f.alias or f.name: new})
    except ConfigError:
        raise
    except (ValueError, TypeError) as e:
        raise _validation_error(key, f, value, new, e) from None


_ATTRS_MSG = re.compile(r"^'[^']*' must be (.+?)(?::| \(got) .*$", re.S)


def _validation_error(key: str, f: attrs.Attribute, value: Any, new: Any, e: Exception) -> ConfigError:
    """One sentence "KEY must be RANGE, not VALUE" from an attrs validator failure."""
    allowed = f.metadata.get(_CHOICES)
    if allowed is not None:
        return ConfigError(f"{key} must be one of {known_list(map(str, allowed))}, not {value!r}")
    shown = new if isinstance(new, int | float) and not isinstance(new, bool) else value
    msg = str(e.args[0]) if e.args else str(e)
    m = _ATTRS_MSG.match(msg)
    rng = f.metadata.get(_RANGE)
    if m:
        said = m.group(1)
        if rng and said in rng.split(" and "):  # one of this field's bounds: name them all
            said = rng
        return ConfigError(f"{key} must be {said}, not {shown!r}")
    if rng:
        return ConfigError(f"{key} must be {rng}, not {shown!r}")
    return ConfigError(f"{key} is not allowed to be {shown!r} ({msg})")


RETIRED = "__almost_retired__"
"""A config section class may name keys it no longer has: ``__almost_retired__ = {"backend":
"why"}``. A file that still holds one (the ``config.toml`` of a run made before the key went) is
read without it, and a run compares configs without it, so old runs open and resume; ``--set``
of a retired key is refused like any unknown key."""


def drop_retired(cfg: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a nested mapping for ``cfg``'s class) without the keys its sections retired."""
    retired = getattr(type(cfg), RETIRED, {})
    fields = _fields(cfg) if attrs.has(type(cfg)) else {}
    out = {}
    for k, v in data.items():
        if k in retired and k not in fields:
            continue
        f = fields.get(k)
        sub = getattr(cfg, f.name) if f is not None else None
        out[k] = drop_retired(sub, v) if attrs.has(type(sub)) and isinstance(v, Mapping) else v
    return out


def apply_mapping(cfg: Any, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Apply a nested mapping (e.g. a parsed TOML file) onto ``cfg`` (retired keys skipped)."""
    for k, v in drop_retired(cfg, data).items():
        key = f"{prefix}.{k}" if prefix else k
        fields = _fields(cfg)
        f = fields.get(k)
        if f is not None and attrs.has(type(getattr(cfg, f.name))) and isinstance(v, Mapping):
            cfg = attrs.evolve(cfg, **{f.alias or f.name: apply_mapping(getattr(cfg, f.name), v, key)})
        else:
            cfg = _set_path(cfg, [k], v, key, from_string=False)
    return cfg


def parse_set(item: str) -> tuple[str, str]:
    """Split ``"a.b=c"`` into ``("a.b", "c")``."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r} must look like key=value, e.g. --set train.steps=100")
    return key, value.strip()


def apply_sets(cfg: Any, items: Iterable[str]) -> Any:
    """Apply ``--set key=value`` strings onto ``cfg``."""
    for item in items:
        key, value = parse_set(item)
        cfg = _set_path(cfg, key.split("."), value, key, from_string=True)
    return cfg


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file; a missing or malformed file is a one-sentence UserError."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config file {path} is not valid TOML ({e}); fix it or remove it") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text (a binary or damaged file); fix it or remove it") from None
    except IsADirectoryError:
        raise UserError(f"config file {path} is a folder, not a TOML file") from None
    except OSError as e:
        raise UserError(f"config file {path} cannot be read ({e.strerror or e})") from None


def resolve(
    profiles: Mapping[str, Any],
    profile: str = "tiny",
    config_file: str | Path | None = None,
    sets: Iterable[str] = (),
    registry: Any = None,
) -> Any:
    """Build a config: the profile, then the TOML file, then ``--set`` items.

    With ``registry``, every ``component=`` field must name a registered component."""
    if profile not in profiles:
        raise ConfigError(f"unknown profile {profile!r}; profiles: {known_list(profiles)}")
    cfg = profiles[profile]()
    sets = list(sets)
    # the core's own [track] section (almost.observe.tracking.resolve_track reads it), unless the
    # pipeline has a field of that name
    core = "track" not in _fields(cfg)
    if config_file is not None:
        data = load_toml(config_file)
        data.pop("almost", None)  # run metadata written by `almost config`
        if core:
            data.pop("track", None)
        cfg = apply_mapping(cfg, data)
    cfg = apply_sets(cfg, [s for s in sets if not (core and parse_set(s)[0].split(".")[0] == "track")])
    check_sane(cfg)
    if registry is not None:
        check_components(cfg, registry)
    return cfg


# Bounds every config gets, by the name of the setting, where its own field states none: what no
# machine could ever run (a step count of 2^70) or what means nothing (a layer of -32 channels).
MAX_INT = 2**53  # exact in JSON and float64
_SANE: list[tuple[re.Pattern, int | None, int | None, str]] = [
    (re.compile(r"(^|_)(steps|epochs|episodes|frames|iterations|rounds)$|^max_steps$|_every$"), None, 10**9,
     "no machine runs more"),
    (re.compile(r"batch_size$|(^|_)batch$|batch_tokens$"), 1, 2**20, "a batch holds at least one item and fits a machine"),
    (re.compile(r"(^|_)(image_size|height|width|resolution)$"), 0, 2**14, "pixels per side"),
    (re.compile(r"(^|_)(channels|block_out_channels|sizes|dims)$"), 1, 2**16, "a layer's size is positive"),
]


def check_sane(cfg: Any, prefix: str = "") -> None:
    """Bounds for numeric settings that state none of their own (see ``_SANE``), and non-empty
    lists of sizes: one ConfigError naming the key."""
    for name, f in _fields(cfg).items():
        key = f"{prefix}.{name}" if prefix else name
        value = getattr(cfg, f.name)
        if attrs.has(type(value)):
            check_sane(value, key)
            continue
        own = (f.metadata.get(_RANGE) or "").split(" and ")
        values = value if isinstance(value, list | tuple) else [value]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if len(ints) != len(values) or not ints and not isinstance(value, list | tuple):
            continue
        for pattern, lo, hi, why in _SANE:
            if not pattern.search(name):
                continue
            if isinstance(value, list | tuple) and not value and lo:
                raise ConfigError(f"{key} must list at least one size, not []")
            for v in ints:
                if lo is not None and v < lo and not any(r.startswith(">") for r in own if r):
                    raise ConfigError(f"{key} must be >= {lo} ({why}), not {value!r}")
                if hi is not None and v > hi and not any(r.startswith("<") for r in own if r):
                    raise ConfigError(f"{key} must be <= {hi} ({why}), not {value!r}")
            break
        for v in ints:
            if abs(v) > MAX_INT:
                raise ConfigError(f"{key} must be within ±2^53, not {value!r}")


def component_fields(cfg: Any, prefix: str = "") -> dict[str, tuple[str, Any]]:
    """Dotted key → (kind, value) for every ``component=`` field of ``cfg`` (nested too)."""
    out: dict[str, tuple[str, Any]] = {}
    for name, f in _fields(cfg).items():
        key = f"{prefix}.{name}" if prefix else name
        value = getattr(cfg, f.name)
        if attrs.has(type(value)):
            out.update(component_fields(value, key))
        elif f.metadata.get(_COMPONENT):
            out[key] = (f.metadata[_COMPONENT], value)
    return out


def check_components(cfg: Any, registry: Any) -> None:
    """Every ``component=`` field names a registered component (empty: none chosen)."""
    from .errors import UnknownNameError

    for key, (kind, value) in component_fields(cfg).items():
        if value in (None, ""):
            continue
        text = str(value)
        k, _, n = text.rpartition("/")
        if k and k != kind:
            raise ConfigError(f"{key} must name a {kind} component, not {text!r} (a {k!r} one)")
        try:
            registry.get(n, kind)
        except UnknownNameError:
            raise ConfigError(
                f"{key} names no known {kind} component ({n!r}); known {kind} components: "
                f"{known_list(registry.names(kind))}"
            ) from None


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, TOML-ready dict of ``cfg`` (paths as strings, ``None`` values left out)."""

    def ser(inst, field, value):
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, tuple):
            return list(value)
        return value

    def drop_none(d):
        return {k: drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}

    def keyed(obj, d):  # attribute names -> config keys (field(key=...)), nested sections too
        if not attrs.has(type(obj)):
            return d
        return {_key(f): keyed(getattr(obj, f.name), d[f.name]) for f in attrs.fields(type(obj)) if f.name in d}

    return drop_none(keyed(cfg, attrs.asdict(cfg, value_serializer=ser)))


def to_toml(cfg: Any, header: Mapping[str, Any] | None = None) -> str:
    """Serialise ``cfg`` as TOML (plain values first, then sections)."""
    import tomli_w

    data = to_dict(cfg)
    if header:
        data = {"almost": dict(header), **data}
    return tomli_w.dumps(data)


def flat_items(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, Mapping):
            out.update(flat_items(v, key))
        else:
            out[key] = v
    return out


def identity(cfg: Any) -> tuple[str, dict[str, Any]]:
    """``(hash, flat dict)`` of a config (an attrs instance or its dict): what a stage's folder
    and checkpoints record, so a stage resumes only the work of the config it runs now."""
    import hashlib

    flat = flat_items(cfg if isinstance(cfg, Mapping) else to_dict(cfg))
    text = json.dumps(flat, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], flat


def describe_diff(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 4) -> str:
    """``train.lr 0.001 → 0.0005, model.x unset → 3``: what differs between two flat configs."""
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))

    def show(d, k):
        return json.dumps(d[k], default=str) if k in d else "unset"

    parts = [f"{k} {show(old, k)} → {show(new, k)}" for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"{len(keys) - limit} more")
    return ", ".join(parts) or "nothing visible"


def help_of(cls: type) -> dict[str, str]:
    """Dotted key → help text for every field of ``cls`` (nested too)."""
    attrs.resolve_types(cls)
    out: dict[str, str] = {}
    for f in attrs.fields(cls):
        out[_key(f)] = f.metadata.get(_HELP, "")
        if attrs.has(f.type) if isinstance(f.type, type) else False:
            for k, v in help_of(f.type).items():
                out[f"{_key(f)}.{k}"] = v
    return out
