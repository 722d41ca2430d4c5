"""Fixtures for the core tests: a small pipeline plugin registered without entry points."""

from __future__ import annotations

import attrs
import pytest

import almost
from almost.config import choice, field


@attrs.define
class TrainSection:
    steps: int = field(3, help="optimizer steps")
    lr: float = field(0.1, help="learning rate")
    precision: str = choice("no", "no", "fp16", "bf16", help="mixed precision")


@attrs.define
class ToyConfig:
    seed: int = field(0, help="seed")
    name: str = field("toy", help="a name")
    verbose: bool = field(False, help="talk more")
    tags: list[str] = field(factory=list, help="free tags")
    out: str | None = field(None, help="optional path")
    train: TrainSection = attrs.field(factory=TrainSection)


CALLS: list[str] = []


def stage_a(ctx):
    CALLS.append("a")
    (ctx.stage_dir() / "a.txt").write_text(f"seed={ctx.config.seed}")
    ctx.log_metrics(value_a=1.5)


def stage_b(ctx):
    """Counts steps with a resumable counter file; raises KeyboardInterrupt once if asked."""
    CALLS.append("b")
    counter = ctx.stage_dir() / "step.txt"
    step = int(counter.read_text()) if counter.exists() else 0
    while step < ctx.config.train.steps:
        step += 1
        counter.write_text(str(step))
        if ctx.config.name == "interrupt" and step == 2 and not (ctx.stage_dir() / "interrupted").exists():
            (ctx.stage_dir() / "interrupted").write_text("1")
            raise KeyboardInterrupt
    ctx.log_metrics(steps_done=step)
    ctx.add_artifact(counter, "counter")


class ToyPlugin:
    """A plugin object with hook implementations (as a module would have)."""

    @almost.hookimpl
    def almost_pipelines(self, register):
        register(
            almost.Pipeline(
                name="toy",
                stages=[almost.Stage("a", stage_a, "first"), almost.Stage("b", stage_b, "second")],
                profiles={"tiny": ToyConfig, "full": lambda: ToyConfig(train=TrainSection(steps=10))},
            )
        )

    @almost.hookimpl
    def almost_register(self, registry):
        registry.add("reward", "toy-constant", lambda value=1.0: value, help="a constant")


class RoundsPlugin:
    @almost.hookimpl
    def almost_pipelines(self, register):
        def gen(ctx):
            prev = ctx.previous_stage_dir("gen")
            n = int((prev / "n.txt").read_text()) + 1 if prev else 1
            (ctx.stage_dir() / "n.txt").write_text(str(n))
            ctx.log_metrics(n=n)

        register(almost.Pipeline(name="loop", stages=[almost.Stage("gen", gen)], profiles={"tiny": ToyConfig},
                                 rounds=True))


@pytest.fixture
def toy_app():
    from almost.testing import load_app

    CALLS.clear()
    return load_app(extra={"toy": ToyPlugin(), "loop": RoundsPlugin()}, env={"ALMOST_PLUGINS": "toy,loop"})


@pytest.fixture(scope="module")
def app():
    """The ``trainy`` plugin of ``trust_plugin.py``: a real (tiny) accelerate training stage with
    checkpoints between a data stage and a report stage."""
    import trust_plugin

    from .trusty import HERE  # noqa: F401  (puts trust_plugin.py on sys.path)

    return trust_plugin.app()


@pytest.fixture
def trainy_cli(app, monkeypatch):
    """``almost ARGS`` in-process, with the trainy plugin as the installed one."""
    from almost import plugins
    from almost.testing import run_cli

    def get_app():
        return app

    get_app.cache_clear = lambda: None
    monkeypatch.setattr(plugins, "get_app", get_app)
    return run_cli
