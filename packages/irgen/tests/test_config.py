"""The irgen config: ranges checked in one sentence, and no train.backend setting."""

from __future__ import annotations

import pytest

from almost.testing import run_cli


@pytest.mark.parametrize("setting, words", [
    ("synth.count=0", "synth.count must be >= 1"),
    ("prepare.eval_fraction=1.5", "prepare.eval_fraction must be > 0 and < 1, not 1.5"),
    ("train.lr=nan", "train.lr"),
    ("train.lr=-1", "train.lr must be > 0"),
    ("train.batch_size=0", "train.batch_size must be >= 1"),
    ("train.eval_every=0", "train.eval_every must be >= 1"),
    ("evaluate.k=0", "evaluate.k must be >= 1"),
    ("synth.on_bad_item=maybe", "synth.on_bad_item"),
])
def test_config_ranges_are_one_sentence(setting, words):
    code, out, err = run_cli(["config", "--plugin", "irgen", "--set", setting])
    assert code == 2 and words in out + err and "Traceback" not in out + err


def test_train_has_no_backend_setting():
    """unsloth was a choice once and never wired in; then train.backend had one choice and no
    reader, so it is gone: any value of it, the old default too, is an unknown key."""
    from almost.testing import run_cli

    for value in ("unsloth", "transformers"):
        code, out, err = run_cli(["config", "--plugin", "irgen", "--set", f"train.backend={value}"])
        assert code != 0 and "backend" in out + err and "Traceback" not in out + err


def test_a_run_made_when_train_backend_existed_still_opens(tmp_path):
    """Old runs' config.toml hold train.backend = "transformers": read without it (a retired key)."""
    import almost
    from almost import config as cfgmod

    cfg = almost.config_for("irgen")
    text = cfgmod.to_toml(cfg, {"pipeline": "irgen", "profile": "tiny"})
    assert "[train]" in text
    (tmp_path / "config.toml").write_text(text.replace("[train]\n", '[train]\nbackend = "transformers"\n', 1))
    run = almost.open_run(tmp_path, "irgen")
    assert run.config == cfg
