"""Config: profiles, TOML files, --set parsing and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from almost import config as C
from almost.errors import ConfigError, UserError

from .conftest import ToyConfig, TrainSection

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
