"""Plugin discovery, isolation of broken plugins, and the registry."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import pytest

import almost
from almost.errors import UnknownNameError
from almost.registry import Registry
from almost.testing import check_component, load_app


def test_example_plugin_found_through_entry_points_alone():
    app = load_app()
    info = app.plugins["example"]
    assert info.distribution == "almost-example" and info.version == "0.1.0"
    assert not info.broken
    assert set(info.components) == {"env/gridchase", "reward/brightness", "reward/semicolons",
                                    "sampler/example-euler", "trainer/example-rwr"}
    comp = app.registry.get("reward/brightness")
    assert comp.plugin == "example"


def test_builtin_plugins_load_through_the_same_entry_points():
    app = load_app()
    for name in ("gamengen", "ddpo", "irgen"):
        assert name in app.plugins, f"{name} not found"
        assert not app.plugins[name].broken, app.plugins[name].error
        assert app.plugins[name].distribution == f"almost-{name}"


def test_example_components_pass_the_protocol_checks():
    app = load_app()
    rm = check_component(app.registry, "reward/brightness")
    import torch

    assert rm(torch.ones(2, 3, 4, 4), ["x", "y"]).tolist() == [1.0, 1.0]
    check_component(app.registry, "env/gridchase")


def _ep(name, value):
    return importlib.metadata.EntryPoint(name=name, value=value, group="almost")


class Good:
    @almost.hookimpl
    def almost_register(self, registry):
        registry.add("reward", "good", lambda: 1)


class RaisesInHook:
    @almost.hookimpl
    def almost_register(self, registry):
        registry.add("reward", "half-registered", lambda: 1)
        raise RuntimeError("boom in register")


class UnknownHook:
    @almost.hookimpl
    def almost_no_such_hook(self):
        pass


def test_broken_plugins_are_isolated_and_reported():
    eps = [_ep("missing", "almost_no_such_module_xyz"), _ep("attr", "almost:no_such_attribute")]
    from almost.plugins import load

    app = load(entry_points=eps, extra={"good": Good(), "raises": RaisesInHook(), "unknown": UnknownHook()}, env={})
    assert app.plugins["missing"].broken and "ModuleNotFoundError" in app.plugins["missing"].error
    assert app.plugins["attr"].broken and "AttributeError" in app.plugins["attr"].error
    assert app.plugins["raises"].broken and "boom in register" in app.plugins["raises"].error
    assert app.plugins["unknown"].broken and "almost_no_such_hook" in app.plugins["unknown"].error
    assert not app.plugins["good"].broken
    assert "reward/good" in app.registry
    assert "reward/half-registered" not in app.registry  # rolled back with its plugin
    assert app.pm.get_plugin("raises") is None


def test_env_variable_limits_and_disables_plugins():
    from almost.plugins import load

    app = load(extra={"good": Good()}, env={"ALMOST_PLUGINS": "good"})
    assert app.plugins["example"].skipped and "reward/brightness" not in app.registry
    assert "reward/good" in app.registry
    app = load(extra={"good": Good()}, env={"ALMOST_PLUGINS": ""})
    assert len(app.registry) == 0 and all(i.skipped for i in app.plugins.values())
    app = load(env={"ALMOST_DISABLE_PLUGINS": "example"})
    assert "reward/brightness" not in app.registry and "gamengen" in app.plugins


def test_unknown_component_lists_known_names():
    reg = Registry()
    reg.add("reward", "b", lambda: 1)
    reg.add("reward", "a", lambda: 2)
    with pytest.raises(UnknownNameError, match=r"unknown reward component 'c'; known reward components: a, b"):
        reg.get("reward/c")
    with pytest.raises(UnknownNameError, match="unknown component kind 'nope'"):
        reg.get("nope/a")
    assert reg.create("a", kind="reward") == 2
    with pytest.raises(ValueError, match="already registered"):
        reg.add("reward", "a", lambda: 3)
    with pytest.raises(ValueError, match="unknown component kind"):
        reg.add("rewards", "x", lambda: 3)


def test_unknown_plugin_error_lists_known_pipelines(toy_app):
    with pytest.raises(UnknownNameError, match=r"unknown plugin 'nope'; plugins with pipelines: loop, toy"):
        toy_app.pipeline("nope")


def test_console_script_lists_plugins_in_a_subprocess():
    """The installed `almost` script, in a fresh process, finds every plugin by entry point."""
    exe = os.path.join(os.path.dirname(sys.executable), "almost")
    out = subprocess.run([exe, "plugins"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("gamengen", "ddpo", "irgen", "example"):
        assert name in out.stdout
    assert "broken" not in out.stdout


def test_builtin_pipelines_list_every_profile_of_their_config():
    """The plugins name their profiles without importing their config module (lazy_profiles):
    the names must match the config's PROFILES, or a profile would be unreachable."""
    import importlib

    app = load_app()
    for name in ("gamengen", "ddpo", "irgen"):
        p = app.pipeline(name)
        real = importlib.import_module(f"almost_{name}.config").PROFILES
        assert set(p.profiles) == set(real), name
        assert type(p.profiles["tiny"]()) is type(real["tiny"]())


def test_a_component_built_with_keywords_it_does_not_take_is_one_sentence():
    from almost.errors import ConfigError
    from almost.registry import Registry

    def rules_sampler(seed: int = 0):
        return ("rules", seed)

    reg = Registry()
    reg.add("sampler", "rules", rules_sampler)
    assert reg.create("sampler/rules", seed=3) == ("rules", 3)
    with pytest.raises(ConfigError, match=r"sampler/rules cannot be used here: this stage builds it with "
                                          r"model, tokenizer, and it takes seed .*almost components sampler"):
        reg.create("sampler/rules", model=object(), tokenizer=object())
    with pytest.raises(ConfigError, match="sampler/rules cannot be used here"):
        reg.build("sampler/rules", {}, model=object())
