"""Every hook is documented (docstring + README) and exercised through the real machinery."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest

import almost
from almost import hookspecs
from almost.testing import run_cli

HOOKS = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("almost_")]
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_there_are_few_prefixed_hooks():
    assert sorted(HOOKS) == ["almost_commands", "almost_pipelines", "almost_register"]


@pytest.mark.parametrize("name", HOOKS)
def test_each_hook_is_documented(name):
    fn = getattr(hookspecs, name)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 20
    params = ", ".join(inspect.signature(fn).parameters)
    assert f"`{name}({params})`" in README, f"README lacks a section for {name}({params})"


class CommandPlugin:
    @almost.hookimpl
    def almost_commands(self, cli):
        @cli.command(name="hello")
        @click.argument("who")
        def hello(who):
            """Say hello."""
            click.echo(f"hello {who}")


class BrokenCommandPlugin:
    @almost.hookimpl
    def almost_commands(self, cli):
        raise RuntimeError("no commands today")


def test_almost_commands_adds_verbs_and_a_broken_one_is_isolated(monkeypatch):
    from almost import plugins

    app = plugins.load(extra={"cmd": CommandPlugin(), "bad": BrokenCommandPlugin()}, env={"ALMOST_PLUGINS": "cmd,bad"})
    monkeypatch.setattr(plugins, "get_app", lambda: app)
    plugins.get_app.cache_clear = lambda: None
    code, out, err = run_cli(["hello", "world"])
    assert code == 0 and out.strip() == "hello world", err
    assert "no commands today" in app.plugins["bad"].error
    code, out, _ = run_cli(["plugins"])
    assert "broken" in out
