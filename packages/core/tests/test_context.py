"""almost.runs.context: what a stage gets (NaN checks, hints that keep the user's --out).

Uses ``trust_plugin.py``: a real (tiny) accelerate training stage with checkpoints between a
data stage and a report stage."""

from __future__ import annotations

import pytest

from almost.errors import NonFiniteError, UserError

from .trusty import (
    _run,
    _status,
    _strict,
)


def test_nan_loss_stops_with_stage_and_step_and_keeps_the_last_good_checkpoint(app, tmp_path):
    with pytest.raises(NonFiniteError, match=r"^train: loss became nan at step 4; the last good checkpoint step-00000002 is kept"):
        _run(app, tmp_path, sets=["steps=8", "nan_at=3"])
    assert _status(tmp_path)["train"] == "failed"
    ck = sorted(p.name for p in (tmp_path / "train" / "checkpoints").iterdir())
    assert ck == ["step-00000002"]  # step 4's NaN weights were never saved
    assert not (tmp_path / "train" / "weights.safetensors").exists()
    _strict(tmp_path / "metrics.json")
    _strict(tmp_path / "manifest.json")


def test_hints_keep_the_users_out(app, tmp_path):
    out = tmp_path / "my run"
    with pytest.raises(UserError) as e:
        _run(app, out, "train")
    assert f"run `almost run --plugin trainy prep --out '{out}'` first" in str(e.value)


def test_nan_message_claims_a_kept_checkpoint_only_when_there_is_one(app, tmp_path):
    with pytest.raises(NonFiniteError) as e:
        _run(app, tmp_path / "a", sets=["nan_at=1"])
    assert "no checkpoint was saved" in str(e.value) and "is kept" not in str(e.value)
    with pytest.raises(NonFiniteError) as e:
        _run(app, tmp_path / "b", sets=["nan_at=4"])
    assert "the last good checkpoint step-00000002 is kept" in str(e.value)
