"""The ``almost`` command line.

    almost plugins [--json] [--verbose]  installed plugins, their components, broken ones
    almost components [KIND] [-v]        registered components by kind/name (and their options)
    almost new-plugin NAME               a new plugin package with passing tests
    almost stages --plugin P             the stages of a pipeline
    almost config --plugin P [...]       the resolved config as TOML
    almost run --plugin P [STAGE ...]    run a pipeline (skips finished stages)
    almost report RUN [RUN_B] [--open]   one self-contained report.html (curves, metrics, GIFs)

User mistakes print one sentence and exit with status 2 (no traceback).
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import UserError

_PROFILE = click.option("--profile", default=None, help="Config profile: tiny (default, CPU) or full (GPU).")
_CONFIG = click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                       help="A TOML file of config values (applied after the profile).")
_SET = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                    help="Override one config value, e.g. --set train.steps=100 (repeatable).")
_PLUGIN = click.option("--plugin", "-p", required=True, help="The pipeline to use (`almost plugins` lists them).")


def _app():
    from .plugins import get_app

    return get_app()


class AlmostGroup(click.Group):
    """Adds plugin commands (the ``almost_commands`` hook) on first use."""

    _loaded = False

    def _load_plugin_commands(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        app = _app()
        for name, plugin in app.pm.list_name_plugin():
            hook = getattr(plugin, "almost_commands", None)
            if hook is None:
                continue
            try:
                hook(cli=self)
            except Exception as e:  # a plugin's broken command must not break the CLI, nor hide
                import traceback

                info = app.plugins[name]
                info.error = f"almost_commands failed: {type(e).__name__}: {e}"
                info.traceback = "".join(traceback.format_exception(e))
                click.echo(f"warning: plugin {name!r} could not add its commands ({info.error}); "
                           "see 'almost plugins --verbose'", err=True)

    def list_commands(self, ctx):
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, name)
        return cmd


@click.group(cls=AlmostGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="almost")
def cli() -> None:
    """Almost: train generative models from interaction and feedback.

    Pipelines come from plugins (the built-in ones and any you install).
    Start with `almost plugins`, then `almost run --plugin NAME`.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON: distribution, version, hooks, components, "
              "pipelines, status and the full error of each plugin.")
@click.option("--verbose", "-v", is_flag=True, help="Show the full traceback of each broken plugin.")
def plugins(as_json: bool, verbose: bool) -> None:
    """List installed plugins, their versions and what they register."""
    from .hookspecs import HOOK_API

    app = _app()
    if as_json:
        import json

        data = {"almost_core": __version__, "hook_api": HOOK_API,
                "plugins": [info.as_dict() for _, info in sorted(app.plugins.items())]}
        click.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    from .observe.console import console

    table = Table(title=f"Almost plugins (almost-core {__version__}, hook API {HOOK_API})")
    for col in ("plugin", "distribution", "version", "pipelines", "components", "status"):
        table.add_column(col, overflow="fold")
    for pid, info in sorted(app.plugins.items()):
        status = (
            f"[red]broken: {info.error}[/]" if info.broken
            else f"[yellow]skipped: {info.skipped}[/]" if info.skipped else "[green]ok[/]"
        )
        for w in info.warnings:
            status += f"\n[yellow]warning: {w}[/]"
        table.add_row(pid, info.distribution or "-", info.version or "-", ", ".join(info.pipelines) or "-",
                      "\n".join(info.components) or "-", status)
    console.print(table)
    broken = [i for i in app.plugins.values() if i.broken]
    if verbose:
        for info in broken:
            console.rule(f"[red]{info.id}[/] ({info.distribution or info.value})")
            console.print(info.traceback or info.error, markup=False, highlight=False)
    elif broken:
        console.print("[dim]almost plugins --verbose shows the tracebacks; --json the full records[/]")
    _warn_import_name_clash(console)


def _warn_import_name_clash(console) -> None:
    """The unrelated PyPI distribution `almost` installs a module of our import name."""
    import importlib.metadata

    try:
        importlib.metadata.distribution("almost")
    except importlib.metadata.PackageNotFoundError:
        return
    console.print("[yellow]warning: the unrelated distribution 'almost' is installed and shares the import "
                  "name 'almost' with almost-core; uninstall it (pip uninstall almost)[/]")


@cli.command()
@click.argument("kind", required=False)
@click.option("--verbose", "-v", is_flag=True, help="Also show each component's options (imports its module).")
def components(kind: str | None, verbose: bool) -> None:
    """List registered components (optionally of one KIND: env, dataset, sampler, reward, trainer)."""
    import inspect

    from rich.table import Table

    from .errors import UnknownNameError, UserError, known_list
    from .observe.console import console
    from .protocols import PROTOCOLS

    if kind is not None and kind not in PROTOCOLS:
        raise UnknownNameError(f"unknown component kind {kind!r}; kinds are {known_list(PROTOCOLS)}")
    table = Table(title="Almost components")
    for col in ("component", "plugin", "help", *(("options",) if verbose else ())):
        table.add_column(col, overflow="fold")
    for c in _app().registry:
        if kind is None or c.kind == kind:
            row = [c.key, c.plugin or "-", c.help]
            if verbose:
                try:
                    opts = c.options()
                    row.append(", ".join(("**kwargs" if k == "**" else k if d is inspect.Parameter.empty
                                          else f"{k}={d!r}") for k, d in opts.items()) or "-")
                except UserError as e:
                    row.append(f"[red]{e}[/]")
            table.add_row(*row)
    console.print(table)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder in which to create almost-NAME/.")
def new_plugin(name: str, parent: str) -> None:
    """Create almost-NAME/: a plugin package with a reward, a game and tests that pass."""
    from pathlib import Path

    from .observe.console import console
    from .template import write_plugin

    root = write_plugin(name, Path(parent))
    console.print(f"created {root}\n  install it where almost is installed: uv pip install -e {root}  "
                  f"(or pip install -e {root})\n  then: pytest {root / 'tests'}  and  almost plugins")


@cli.command()
@_PLUGIN
def stages(plugin: str) -> None:
    """List the stages of a plugin's pipeline, in order."""
    from .observe.console import console

    p = _app().pipeline(plugin)
    for i, s in enumerate(p.stages, 1):
        console.print(f"{i}. [bold]{s.name}[/]  {s.help}")


@cli.command()
@_PLUGIN
@_PROFILE
@_CONFIG
@_SET
def config(plugin: str, profile: str | None, config_file: str | None, sets: tuple[str, ...]) -> None:
    """Print the resolved config of a pipeline as TOML (a starting point for --config)."""
    from .config import to_toml

    app = _app()
    p = app.pipeline(plugin)
    cfg = p.resolve_config(profile, config_file, sets, registry=app.registry)
    from .observe.tracking import resolve_track, track_toml

    click.echo(to_toml(cfg) + track_toml(resolve_track(config_file, sets)), nl=False)


@cli.command()
@_PLUGIN
@click.argument("stage_names", nargs=-1, metavar="[STAGE]...")
@_PROFILE
@_CONFIG
@_SET
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default runs/PLUGIN/PROFILE).")
@click.option("--force", is_flag=True, help="Redo the named stages (all, if none is named) from scratch, even if "
              "finished or interrupted; their old folders are kept aside and every later stage becomes "
              "stale and runs again.")
def run(plugin, stage_names, profile, config_file, sets, out, force) -> None:
    """Run a pipeline: all its stages, or the STAGEs named, skipping finished ones."""
    from .errors import InterruptedRun
    from .runs import run_pipeline

    app = _app()
    try:
        run_pipeline(app.pipeline(plugin), app.registry, stages=stage_names, profile=profile,
                     config_file=config_file, sets=sets, out=out, force=force)
    except KeyboardInterrupt as e:  # before or after the stages (click would turn it into "Aborted!")
        from .runs.guards import _Terminated

        raise InterruptedRun("interrupted; re-run the same command to resume",
                             exit_code=143 if isinstance(e, _Terminated) else 130) from None


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("other", required=False, type=click.Path(file_okay=False), metavar="[RUN_B]")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the page (default RUN_DIR/report.html, or RUN_DIR/report-vs-B.html).")
@click.option("--open", "open_", is_flag=True, help="Open the page in a web browser.")
@click.option("--watch", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="Rewrite the page every SECONDS while the run trains (the page reloads itself); Ctrl-C stops.")
def report(run_dir, other, out, open_, watch) -> None:
    """Write one self-contained report.html of a run: config, stages, curves, metrics, pictures.

    With RUN_B, the two runs side by side: config differences, shared metrics, both curves."""
    from .observe.console import console
    from .observe.report import write_report

    path = write_report(run_dir, other, out, refresh=watch, strict=not watch)
    console.print(f"report: {path}")
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    if watch:
        import time

        console.print(f"rewriting it every {watch} s; Ctrl-C stops")
        try:
            while True:
                time.sleep(watch)
                write_report(run_dir, other, out, refresh=watch, strict=False)
        except KeyboardInterrupt:
            write_report(run_dir, other, out)  # the final page does not reload itself
            console.print(f"report: {path}")


_BASE_COMMANDS = dict(cli.commands)


def reset_plugin_commands() -> None:
    """Forget plugin-added commands so the next use loads them again (for tests)."""
    cli.commands = dict(_BASE_COMMANDS)
    cli._loaded = False


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``almost`` console script."""
    try:
        cli.main(args=argv, prog_name="almost", standalone_mode=False)
    except UserError as e:
        from .errors import InterruptedRun

        click.echo(str(e) if isinstance(e, InterruptedRun) else f"error: {e}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as e:  # one sentence, not click's usage block
        msg = " ".join(e.format_message().split())
        cmd = e.ctx.command_path if e.ctx is not None else "almost"
        click.echo(f"error: {msg} (see `{cmd} --help`)", err=True)
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("\ninterrupted: re-run the same command to resume from the last checkpoint", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
