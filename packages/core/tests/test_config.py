"""Config: profiles, TOML files, --set parsing and validation errors."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from almost import config as C
from almost.errors import ConfigError, UserError
from almost.testing import run_cli

from .conftest import ToyConfig, TrainSection
from .trusty import (
    _run,
)

PROFILES = {"tiny": ToyConfig, "full": lambda: ToyConfig(train=TrainSection(steps=10))}


def test_set_converts_to_the_declared_types():
    cfg = C.apply_sets(ToyConfig(), ["seed=7", "verbose=yes", "train.lr=1e-3", "tags=a, b", "out=/tmp/x",
                                     "train.precision=bf16"])
    assert cfg.seed == 7 and cfg.verbose is True and cfg.train.lr == 1e-3
    assert cfg.tags == ["a", "b"] and cfg.out == "/tmp/x" and cfg.train.precision == "bf16"
    assert C.apply_sets(cfg, ["out=none"]).out is None
    assert C.apply_sets(cfg, ["tags=[\"x\", \"y z\"]"]).tags == ["x", "y z"]
    assert C.apply_sets(cfg, ["name=a=b"]).name == "a=b"  # only the first '=' splits


@pytest.mark.parametrize(
    "item, message",
    [
        ("seed=seven", r"seed must be an int, not 'seven'"),
        ("train.precision=fp8", r"train.precision must be one of bf16, fp16, no, not 'fp8'"),
        ("train.stepz=3", r"unknown config key 'train.stepz'; known keys under 'train': train.lr, train.precision, train.steps"),
        ("nope=1", r"unknown config key 'nope'; known keys: name, out, seed, tags, train, verbose"),
        ("train=3", r"train is a section, not a value; set one of its keys"),
        ("verbose=maybe", r"verbose must be a bool"),
        ("seed", r"--set 'seed' must look like key=value"),
        ("=3", r"must look like key=value"),
        ("seed.x=1", r"is a value, not a section"),
    ],
)
def test_bad_set_names_the_key_and_what_is_allowed(item, message):
    with pytest.raises(ConfigError, match=message):
        C.apply_sets(ToyConfig(), [item])


def test_profiles_then_file_then_set(tmp_path: Path):
    f = tmp_path / "c.toml"
    f.write_text('seed = 3\n[train]\nsteps = 5\nlr = 0.5\n')
    cfg = C.resolve(PROFILES, "full", f, ["train.steps=6"])
    assert (cfg.seed, cfg.train.steps, cfg.train.lr) == (3, 6, 0.5)
    assert C.resolve(PROFILES, "full").train.steps == 10
    with pytest.raises(ConfigError, match="unknown profile 'huge'; profiles: full, tiny"):
        C.resolve(PROFILES, "huge")


def test_bad_toml_and_missing_file_are_user_errors(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 3\n")
    with pytest.raises(UserError, match=r"config file .*bad.toml is not valid TOML"):
        C.resolve(PROFILES, "tiny", bad)
    with pytest.raises(UserError, match=r"config file .*missing.toml does not exist"):
        C.resolve(PROFILES, "tiny", tmp_path / "missing.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text("[train]\nsteeps = 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'train.steeps'"):
        C.resolve(PROFILES, "tiny", typo)


def test_toml_round_trip(tmp_path: Path):
    cfg = C.apply_sets(ToyConfig(), ["seed=5", "tags=a,b", "train.precision=fp16"])
    f = tmp_path / "c.toml"
    f.write_text(C.to_toml(cfg, {"pipeline": "toy"}))
    assert C.resolve(PROFILES, "tiny", f) == cfg


def test_help_texts_are_collected():
    h = C.help_of(ToyConfig)
    assert h["train.lr"] == "learning rate" and h["seed"] == "seed"


# moved from test_trust*.py (issues 10 and 27)
@pytest.mark.parametrize("item, message", [
    ("steps=-5", "steps must be >= 1, not -5"),
    ("every=0", "every must be >= 1, not 0"),
    ("lr=0", "lr must be > 0, not 0.0"),
    ("lr=nan", "lr must be a finite number, not 'nan'"),
    ("keep=-1", "keep must be >= 0, not -1"),
    ("sleep=-1", "sleep must be >= 0, not -1.0"),
])
def test_out_of_range_values_are_one_sentence_before_anything_runs(app, tmp_path, item, message):
    with pytest.raises(ConfigError) as e:
        _run(app, tmp_path, sets=[item])
    assert str(e.value) == message
    assert not (tmp_path / "manifest.json").exists() and not (tmp_path / "prep").exists()


@pytest.mark.parametrize("plugin, item, message", [
    ("gamengen", "model.block_out_channels=[-32,64]", "model.block_out_channels must be >= 1"),
    ("gamengen", "model.block_out_channels=[]", "model.block_out_channels must list at least one size"),
    ("gamengen", "train.steps=1180591620717411303424", "train.steps must be <= 1000000000"),
    ("gamengen", "train.steps=1e12", "train.steps must be an int, not '1e12'"),
    ("gamengen", "train.batch_size=100000000", "train.batch_size must be <= 1048576"),
    ("gamengen", "train.warmup_steps=100000000000000000000", "train.warmup_steps must be <= 1000000000"),
    ("ddpo", "pretrain.image_size=33", "pretrain.image_size must be a multiple of 8"),
    ("ddpo", "generate.prompts=[]", "generate.prompts must be a list of at least one non-empty prompt"),
    ("irgen", "train.max_steps=99999999999", "train.max_steps must be <= 1000000000"),
])
def test_out_of_bound_settings_are_one_sentence(plugin, item, message):

    code, out, err = run_cli(["config", "--plugin", plugin, "--set", item])
    assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_config_given_a_folder_is_one_sentence(tmp_path):

    code, out, err = run_cli(["run", "--plugin", "gamengen", "--config", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err and "Usage:" not in err, err


@attrs.define
class _RetiringTrain:
    __almost_retired__ = {"backend": "one choice left"}
    steps: int = C.field(3, help="steps")


@attrs.define
class _RetiringCfg:
    seed: int = C.field(0, help="seed")
    train: _RetiringTrain = attrs.field(factory=_RetiringTrain)


def test_a_retired_key_in_a_file_is_read_without_it_but_set_is_refused():
    """A run made before a key went still opens and resumes; a user's --set of it is an unknown key."""
    cfgmod = C
    data = {"seed": 2, "train": {"steps": 5, "backend": "transformers"}}
    cfg = cfgmod.apply_mapping(_RetiringCfg(), data)
    assert cfg.train.steps == 5 and cfg.seed == 2
    assert cfgmod.drop_retired(_RetiringCfg(), data) == {"seed": 2, "train": {"steps": 5}}
    with pytest.raises(ConfigError, match="unknown config key 'train.backend'"):
        cfgmod.apply_sets(_RetiringCfg(), ["train.backend=transformers"])
    with pytest.raises(ConfigError, match="unknown config key 'train.other'"):
        cfgmod.apply_mapping(_RetiringCfg(), {"train": {"other": 1}})  # only the retired key is let through
