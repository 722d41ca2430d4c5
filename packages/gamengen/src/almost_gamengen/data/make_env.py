"""Build any registered Environment from the ``env`` config section, in any process.

Nothing in the data stages assumes ViZDoom: ``env.name`` names any ``env/...`` component
(the example plugin's ``gridchase``, a trained ``worldmodel``, yours). Two kinds of options
reach the component's factory:

* the shared fields of the ``env`` section (``height``, ``width``, ``frame_skip``,
  ``max_steps``, ...), when the factory's signature accepts them;
* the game's own options table, ``env.options`` — any keyword its factory takes::

      [env]
      name = "worldmodel"
      [env.options]
      run_dir = "runs/gamengen/tiny"
      steps = 2

  or ``--set env.options.run_dir=runs/gamengen/tiny``. Unknown and missing options are
  reported with the options the game has (``almost components env -v`` lists them).

A game that cannot limit its own episode length gets a ``gymnasium`` ``TimeLimit`` of
``env.max_steps``.

:class:`EnvSpec` is a small picklable recipe, so worker processes (``SubprocVecEnv``,
``collect``'s workers) build their own copy of the game without needing the registry.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs

from almost.errors import UserError

# env-section fields that may be forwarded to a factory
OPTIONS = (
    "height",
    "width",
    "resolution",
    "frame_skip",
    "max_steps",
    "combos",
    "doom_skill",
    "render_hud",
    "labels",
)


@attrs.frozen
class EnvSpec:
    """A picklable recipe for one game: the factory plus the keyword arguments it takes."""

    key: str
    factory: Any
    kwargs: dict
    time_limit: int = 0  # applied with gymnasium's TimeLimit when the factory has no max_steps

    def make(self):
        import gymnasium as gym

        env = self.factory(**self.kwargs)
        if self.time_limit > 0:
            names, noop = env.action_names, env.noop_action
            env = gym.wrappers.TimeLimit(env, max_episode_steps=self.time_limit)
            env.action_names, env.noop_action = names, noop
        return env


def _accepts(factory: Any) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return set(), False
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def env_spec(registry: Any, env_cfg: Any) -> EnvSpec:
    """The recipe for ``env/<env_cfg.name>``: the section's shared options that its factory
    accepts, plus the game's own ``env.options`` table (checked against its signature: an
    unknown or missing option is a ConfigError naming it and the options that exist)."""
    comp = registry.get(env_cfg.name, "env")
    names, var_kw = _accepts(comp.factory)
    kwargs = {}
    for k in OPTIONS:
        if k == "max_steps" and not env_cfg.max_steps:
            continue  # 0: the game's own episode limit
        if k in names or var_kw:
            v = getattr(env_cfg, k)
            kwargs[k] = list(v) if isinstance(v, list | tuple) else v
    options = dict(getattr(env_cfg, "options", None) or {})
    registry.check_options(comp.key, options, "env", where="env.options", provided=tuple(kwargs))
    kwargs.update(options)
    limit = 0 if "max_steps" in kwargs or "max_steps" in names or var_kw else int(env_cfg.max_steps)
    return EnvSpec(key=comp.key, factory=comp.factory, kwargs=kwargs, time_limit=limit)


def describe(env) -> dict:
    """Action names, no-op and frame shape of a built env (checked: a clear error if odd)."""
    names = list(getattr(env, "action_names", []) or [])
    shape = tuple(getattr(env.observation_space, "shape", ()) or ())
    if not names or len(shape) != 3 or shape[2] != 3:
        raise UserError(
            f"environment {type(env).__name__} must have action_names and (H, W, 3) RGB "
            f"frames to be recorded (it has {len(names)} names, frames {shape})"
        )
    return {"action_names": names, "noop_action": int(env.noop_action), "frame_shape": list(shape)}
