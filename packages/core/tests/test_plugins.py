"""The plugin platform as a plugin author meets it (issue 12): identity by distribution, lazy
components, `almost plugins --json`, behavioural checks, hook API bounds, the Python API,
the plugin template and the thread policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import almost
from almost.plugins import load
from almost.testing import check_component, check_sampler, check_trainer, load_app, run_cli


# -- fake installed distributions ----------------------------------------------------------
def make_dist(site: Path, dist: str, module: str, source: str, eps: dict[str, str],
              requires: tuple[str, ...] = ("almost-core>=0.1,<1",), version: str = "1.0") -> None:
    """Install ``dist`` into ``site`` the way an installer would: the module + a .dist-info."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    meta = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(meta) + "\n")
    (info / "entry_points.txt").write_text("[almost]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))


def entry_points(site: Path):
    import importlib.metadata as md

    return [ep for d in md.distributions(path=[str(site)]) for ep in d.entry_points if ep.group == "almost"]


PLUGIN_SRC = """
    import almost

    @almost.hookimpl
    def almost_register(registry):
        registry.add("reward", "{comp}", "{module}:Reward", help="{comp}")

    class Reward:
        name = "{comp}"

        def __call__(self, images, prompts):
            import torch
            return torch.zeros(len(images))
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    return d


def test_a_name_clash_loads_both_distributions_and_says_so(site):
    make_dist(site, "almost-mine-a", "mine_a", PLUGIN_SRC.format(comp="a", module="mine_a"), {"mine": "mine_a"})
    make_dist(site, "almost-mine-b", "mine_b", PLUGIN_SRC.format(comp="b", module="mine_b"), {"mine": "mine_b"})
    app = load(entry_points=entry_points(site), env={})
    assert set(app.plugins) == {"almost-mine-a:mine", "almost-mine-b:mine"}
    a, b = app.plugins["almost-mine-a:mine"], app.plugins["almost-mine-b:mine"]
    assert not a.broken and not b.broken  # neither disabled
    assert "reward/a" in app.registry and "reward/b" in app.registry
    assert app.registry.get("reward/a").distribution == "almost-mine-a"
    assert "also used by almost-mine-b" in a.warnings[0] and "also used by almost-mine-a" in b.warnings[0]
    # each can be chosen or disabled by its own id or distribution
    only_b = load(entry_points=entry_points(site), env={"ALMOST_DISABLE_PLUGINS": "almost-mine-a"})
    assert only_b.plugins["almost-mine-a:mine"].skipped and "reward/b" in only_b.registry


def test_a_component_clash_names_both_distributions(site):
    make_dist(site, "almost-one", "one", PLUGIN_SRC.format(comp="same", module="one"), {"one": "one"})
    make_dist(site, "almost-two", "two", PLUGIN_SRC.format(comp="same", module="two"), {"two": "two"})
    app = load(entry_points=entry_points(site), env={})
    assert not app.plugins["one"].broken
    assert app.plugins["two"].broken
    assert "reward/same is already registered by plugin 'one' of almost-one" in app.plugins["two"].error
    assert app.registry.get("reward/same").distribution == "almost-one"


def test_a_plugin_needing_another_core_or_hook_api_is_broken_with_the_fix(site):
    make_dist(site, "almost-future", "future", PLUGIN_SRC.format(comp="f", module="future"), {"future": "future"},
              requires=("almost-core>=7,<8",))
    src = textwrap.dedent(PLUGIN_SRC.format(comp="g", module="apitwo")) + "\nalmost_hook_api = 2\n"
    make_dist(site, "almost-apitwo", "apitwo", src, {"apitwo": "apitwo"})
    app = load(entry_points=entry_points(site), env={})
    err = app.plugins["future"].error
    assert "almost-future 1.0 needs almost-core<8,>=7 but almost-core 0.1.0 is installed" in err
    assert "written for Almost hook API 2" in app.plugins["apitwo"].error
    assert "reward/f" not in app.registry and "reward/g" not in app.registry
    assert almost.HOOK_API == 1


def test_components_load_lazily_and_a_bad_target_is_one_sentence(site):
    (site / "lazy_mod.py").write_text("LOADED = True\ndef make(size=3):\n    return size\n")
    from almost.registry import ComponentImportError, Registry

    reg = Registry()
    comp = reg.add("reward", "lazy", "lazy_mod:make")
    reg.add("reward", "missing", "no_such_module_xyz:make")
    assert not comp.loaded and "lazy_mod" not in sys.modules
    assert reg.create("reward/lazy", size=5) == 5 and comp.loaded
    assert comp.options() == {"size": 3}
    with pytest.raises(ComponentImportError, match=r"reward/missing cannot be loaded from 'no_such_module_xyz:make': "
                                                   r"ModuleNotFoundError"):
        reg.create("reward/missing")
    with pytest.raises(ValueError, match="must be a callable or 'package.module:attr'"):
        reg.add("reward", "bad", "not-a-target")


def test_importing_the_cli_and_listing_plugins_imports_no_torch():
    """`almost --help` and `almost plugins`, with every installed plugin (the example's reward
    module imports torch at its top), in a fresh process: torch stays unimported."""
    code = textwrap.dedent("""
        import sys
        import almost.cli
        assert "torch" not in sys.modules, "import almost.cli imported torch"
        from almost.cli import main
        assert main(["--help"]) == 0
        assert main(["plugins"]) == 0
        assert main(["components"]) == 0
        heavy = sorted(m for m in ("torch", "diffusers", "transformers", "vizdoom", "accelerate") if m in sys.modules)
        print("HEAVY", heavy, file=sys.stderr)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stderr
    assert "example" in out.stdout and "gamengen" in out.stdout


def test_plugins_json_and_verbose(monkeypatch):
    from almost import plugins

    class Broken:
        @almost.hookimpl
        def almost_register(self, registry):
            raise RuntimeError("a long explanation " + "x" * 300)

    app = plugins.load(extra={"broken": Broken()}, env={"ALMOST_PLUGINS": "example,broken,gamengen"})
    monkeypatch.setattr(plugins, "get_app", lambda: app)
    plugins.get_app.cache_clear = lambda: None
    code, out, _ = run_cli(["plugins", "--json"])
    assert code == 0
    data = json.loads(out)
    assert data["hook_api"] == 1 and data["almost_core"] == almost.__version__
    rows = {p["id"]: p for p in data["plugins"]}
    ex = rows["example"]
    assert ex["distribution"] == "almost-example" and ex["version"] == "0.1.0" and ex["status"] == "ok"
    assert ex["hooks"] == ["almost_register"] and ex["components"] == [
        "env/gridchase", "reward/brightness", "reward/semicolons", "sampler/example-euler", "trainer/example-rwr"]
    assert ex["requires_core"].startswith("almost-core")
    assert rows["gamengen"]["pipelines"] == ["gamengen"]
    assert rows["broken"]["status"] == "broken" and "x" * 300 in rows["broken"]["error"]  # whole, not cut
    assert "Traceback" in rows["broken"]["traceback"]
    assert rows["ddpo"]["status"] == "skipped"
    code, out, _ = run_cli(["plugins", "--verbose"])
    assert code == 0 and "Traceback" in out and "a long explanation" in out


# -- check_component catches real breakage ----------------------------------------------------
class _Env(gym.Env):
    action_names = ("NOOP", "GO")
    noop_action = 0

    def __init__(self):
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(0, 255, (4, 4, 3), np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros((4, 4, 3), np.uint8), {}

    def step(self, action):
        return self.frame(), 0.0, False, False, {}

    def frame(self):
        return self.np_random.integers(0, 255, (4, 4, 3)).astype(np.uint8)


class FloatFrames(_Env):
    def step(self, action):
        return self.frame().astype(np.float64) * 300, 0.0, False, False, {}


class IgnoresSeed(_Env):
    def frame(self):
        return np.random.randint(0, 255, (4, 4, 3)).astype(np.uint8)


class OneSample:
    def sample(self, conditions, *, generator=None):
        return ["only one"]


class StringFit:
    output_dir = Path(".")

    def fit(self):
        return "done"


class TensorOnlySharpness:
    """The README's old example: fails on a list of PIL images."""

    name = "sharpness"

    def __call__(self, images, prompts):
        return (images[..., 1:] - images[..., :-1]).abs().mean(dim=(1, 2, 3))


def _registry(**factories):
    from almost.registry import Registry

    reg = Registry()
    for key, f in factories.items():
        kind, _, name = key.partition("__")
        reg.add(kind, name, f)
    return reg


def test_check_component_catches_each_broken_component():
    reg = _registry(env__good=_Env, env__floats=FloatFrames, env__seedless=IgnoresSeed,
                    sampler__one=OneSample, trainer__str=StringFit, reward__tensor_only=TensorOnlySharpness)
    check_component(reg, "env/good")
    with pytest.raises(AssertionError, match="step 0 frame dtype is float64, but observation_space says uint8"):
        check_component(reg, "env/floats")
    with pytest.raises(AssertionError, match=r"reset\(seed=0\) then the same actions gave different frames"):
        check_component(reg, "env/seedless")
    with pytest.raises(AssertionError, match="1 samples for 3 conditions"):
        check_component(reg, "sampler/one")
    with pytest.raises(AssertionError, match="fit\\(\\) must return a mapping of metric name to float, not str"):
        check_component(reg, "trainer/str")
    with pytest.raises(AssertionError, match="fails on a list of PIL images"):
        check_component(reg, "reward/tensor_only")


def test_the_good_forms_pass():
    from almost.protocols import image_batch

    class Sharpness(TensorOnlySharpness):
        def __call__(self, images, prompts):
            return super().__call__(image_batch(images), prompts)

    class Fit(StringFit):
        def fit(self):
            return {"loss": 0.5, "steps": 3}

    class Echo:
        def sample(self, conditions, *, generator=None):
            return [f"{c}:{torch.randint(9, (1,), generator=generator).item()}" for c in conditions]

    class KeepsTraining(StringFit):  # no resume: every fit() trains a step further
        steps = 0

        def fit(self):
            self.steps += 1
            return {"loss": 1.0 / self.steps}

    check_component(_registry(reward__s=Sharpness), "reward/s")
    assert check_trainer(Fit()) == {"loss": 0.5, "steps": 3}
    with pytest.raises(AssertionError, match="must resume to the same metrics"):
        check_trainer(KeepsTraining())
    assert check_trainer(KeepsTraining(), resume=False) == {"loss": 1.0}
    assert len(check_sampler(Echo(), ["a", "b"])) == 2


# -- Python API -------------------------------------------------------------------------------
def test_python_api_runs_a_config_object_quietly(toy_app, tmp_path, capsys):
    import attrs

    cfg = almost.config_for("toy", app=toy_app)
    cfg = attrs.evolve(cfg, seed=7, train=attrs.evolve(cfg.train, steps=4))
    metrics = almost.run("toy", config=cfg, out=tmp_path, quiet=True, app=toy_app)
    assert metrics == {"a": {"value_a": 1.5}, "b": {"steps_done": 4.0}}
    assert (tmp_path / "a" / "a.txt").read_text() == "seed=7"
    assert "seed = 7" in (tmp_path / "config.toml").read_text()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    from almost.observe.console import console

    assert not console.quiet  # restored


# -- the plugin template ----------------------------------------------------------------------
@pytest.mark.slow
def test_new_plugin_generates_a_package_that_passes_its_own_tests(tmp_path):
    code, out, err = run_cli(["new-plugin", "catchy", "--dir", str(tmp_path)])
    assert code == 0, err
    root = tmp_path / "almost-catchy"
    assert (root / "pyproject.toml").is_file() and (root / "tests" / "test_plugin.py").is_file()
    assert 'catchy = "almost_catchy.plugin"' in (root / "pyproject.toml").read_text()
    # "install" it as an editable install would: its src on the path + a .dist-info with the entry point
    site = tmp_path / "site"
    info = site / "almost_catchy-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: almost-catchy\nVersion: 0.1.0\n"
                                   "Requires-Dist: almost-core>=0.1,<1\n")
    (info / "entry_points.txt").write_text("[almost]\ncatchy = almost_catchy.plugin\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(site)]), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                       capture_output=True, text=True, cwd=root, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "8 passed" in r.stdout
    code, _, err = run_cli(["new-plugin", "catchy", "--dir", str(tmp_path)])
    assert code == 2 and "already exists" in err
    code, _, err = run_cli(["new-plugin", "Bad Name!", "--dir", str(tmp_path)])
    assert code == 2 and "must be lowercase letters" in err


# -- the thread policy ------------------------------------------------------------------------
def test_thread_policy(monkeypatch):
    from almost.train import threads

    cores = threads.available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert threads.cpu_budget(env={"OMP_NUM_THREADS": "3"}) == 3
    assert threads.cpu_budget(env={"ALMOST_THREADS": "2", "OMP_NUM_THREADS": "5"}) == 2
    assert threads.cpu_budget(workers=4, env={"OMP_NUM_THREADS": "8"}) == 2
    assert threads.cpu_budget(env={"OMP_NUM_THREADS": "4", "LOCAL_WORLD_SIZE": "2"}) == 2
    assert 1 <= threads.cpu_budget(env={}) <= cores
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 0, 0))  # 4 cores busy beside us
    monkeypatch.setattr(threads, "_runnable_now", lambda: None)  # no /proc: the average decides
    assert threads.idle_cores() == 4
    monkeypatch.setattr(threads, "_runnable_now", lambda: 5.0)  # still busy right now
    assert threads.idle_cores() == 4
    monkeypatch.setattr(threads, "_runnable_now", lambda: 1.0)  # the load was our last stage's workers
    assert threads.idle_cores() == 8
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0, 0))
    monkeypatch.setattr(threads, "_runnable_now", lambda: 6.0)  # a burst now, idle over the minute
    assert threads.idle_cores() == 8
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    before = torch.get_num_threads()
    with threads.for_stage() as n:
        assert n == 3 and torch.get_num_threads() == 3
        assert os.environ["OMP_NUM_THREADS"] == "1"  # what worker processes of the stage inherit
        assert threads.cpu_budget() == 3  # the stage itself still reads the user's 3, not the workers' 1
        code = "import torch; print(torch.get_num_threads())"
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert child.stdout.strip() == "1"
    assert os.environ["OMP_NUM_THREADS"] == "3" and torch.get_num_threads() == before
    monkeypatch.delenv("OMP_NUM_THREADS")
    with threads.for_stage() as n:  # no user setting: a stage sizes itself from the idle cores
        assert n == 8 and threads.cpu_budget() == 8 and os.environ["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in os.environ and threads._USER_OMP not in os.environ
    threads.worker_init()
    assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    torch.set_num_threads(before)


def test_reward_options_reach_a_reward_factory():
    """ddpo's `reward_options` table goes to the reward's factory, checked against its signature."""
    from almost.errors import ConfigError
    from almost_ddpo.stages.policy import make_reward

    app = load_app()
    pipe = app.pipeline("ddpo")

    class Ctx:
        registry = app.registry

        def __init__(self, *sets):
            self.config = pipe.resolve_config("tiny", None, list(sets))

    r = make_reward(Ctx("reward=compressibility", "reward_options.quality=40"), pipe=None)
    assert r.quality == 40
    with pytest.raises(ConfigError, match=r"reward_options.qualty is not an option of reward/compressibility; "
                                          r"its options: quality"):
        make_reward(Ctx("reward=compressibility", "reward_options.qualty=40"), pipe=None)


def test_python_api_takes_track_settings_beside_a_config_object(toy_app, tmp_path, monkeypatch):
    # the [track] section is the core's, not the pipeline's: it must not be applied to the
    # config object ("unknown config key 'track'") nor silently dropped
    import attrs

    import almost.observe.tracking as tracking

    seen = []
    real = tracking.resolve_track
    monkeypatch.setattr(tracking, "resolve_track", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    cfg = attrs.evolve(almost.config_for("toy", app=toy_app), seed=3)
    metrics = almost.run("toy", config=cfg, out=tmp_path, quiet=True, app=toy_app,
                         sets=["track.with=tensorboard", "train.steps=2"])
    assert metrics["b"] == {"steps_done": 2.0}
    assert "seed = 3" in (tmp_path / "config.toml").read_text()
    assert [t.trackers for t in seen] == [("tensorboard",)]


def test_end_of_run_table_shows_cpu_per_wall_when_recorded():
    """Each stage's CPU-seconds ÷ wall-seconds (the pipeline records it) gets its own column."""
    from rich.console import Console

    from almost.observe.console import summary_table

    def render(records):
        c = Console(width=160, record=True)
        c.print(summary_table({"train": {"loss": 0.5}, "rollout": {"psnr": 30.0}}, records))
        return c.export_text()

    text = render({"train": {"seconds": 60, "cpu_per_wall": 1.93}, "rollout": {"seconds": 5}})
    assert "CPU÷wall" in text and "1.93" in text
    assert "CPU÷wall" not in render({"train": {"seconds": 60}})


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc (Linux)")
def test_stage_cpu_counts_grandchild_processes():
    """A worker's own child (a game, a forkserver's worker) is never waited for by the stage's
    process, so os.times() misses it; TreeCpu counts it."""
    from almost.train.threads import TreeCpu

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\ntime.sleep(0.5)"
    outer = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {burn!r}]); import time; time.sleep(3)"
    cpu = TreeCpu(every_s=0.1)
    try:
        child = subprocess.Popen([sys.executable, "-c", outer])  # its grandchild burns 0.6 CPU-s
        child.wait(timeout=60)
        assert cpu.seconds() >= 0.55
    finally:
        cpu.close()
