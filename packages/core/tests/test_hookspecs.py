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
README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
HOOKS_DOC = (Path(__file__).resolve().parents[3] / "docs" / "hooks.md").read_text()


def test_there_are_few_prefixed_hooks():
    assert sorted(HOOKS) == ["almost_commands", "almost_pipelines", "almost_register"]


@pytest.mark.parametrize("name", HOOKS)
def test_each_hook_is_documented(name):
    fn = getattr(hookspecs, name)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 20
    params = ", ".join(inspect.signature(fn).parameters)
    assert f"`{name}({params})`" in README, f"README lacks a section for {name}({params})"


@pytest.mark.parametrize("name", HOOKS)
def test_each_hook_has_a_reference_section_with_arguments_return_and_example(name):
    params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    head = f"## `{name}({params})`"
    assert head in HOOKS_DOC, f"docs/hooks.md lacks {head}"
    section = HOOKS_DOC.split(head, 1)[1].split("\n## ", 1)[0]
    assert "**arguments**" in section and "**returns**" in section
    assert f"def {name}(" in section, "no example implementation"


def test_the_hook_api_version_is_documented():
    assert f"`almost.HOOK_API` is `{almost.HOOK_API}`" in HOOKS_DOC


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
    assert "warning: plugin 'bad' could not add its commands" in err  # said, not silent
    code, out, _ = run_cli(["plugins"])
    assert "broken" in out
