"""irgen's LoRA checkpoints: fsynced, sizes recorded, resume falls back to the newest intact one."""

from __future__ import annotations

import pytest
import torch

from almost.errors import UserError
from almost_irgen.stages.train import load_checkpoint, save_checkpoint


def _model_and_opt(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    return model, opt


def test_resume_skips_a_torn_newest_checkpoint(tmp_path, capsys):
    ckdir = tmp_path / "checkpoints"
    m2, o2 = _model_and_opt(2)
    save_checkpoint(ckdir, 2, m2, o2, {"note": "two"})
    m4, o4 = _model_and_opt(4)
    save_checkpoint(ckdir, 4, m4, o4, {"note": "four"})
    torn = ckdir / "step-00000004" / "adapter.safetensors"
    torn.write_bytes(torn.read_bytes()[:40])

    fresh, opt = _model_and_opt(9)
    state = load_checkpoint(ckdir, fresh, opt)
    assert state == {"step": 2, "note": "two"}
    for a, b in zip(fresh.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    out = capsys.readouterr().out
    assert "step-00000004 is damaged" in out and "adapter.safetensors has 40 bytes" in out


def test_every_checkpoint_damaged_is_one_sentence(tmp_path):
    ckdir = tmp_path / "checkpoints"
    m, o = _model_and_opt(1)
    save_checkpoint(ckdir, 1, m, o, {})
    (ckdir / "step-00000001" / "optimizer.pt").write_bytes(b"x")
    with pytest.raises(UserError, match="every checkpoint .* is damaged.*--force train"):
        load_checkpoint(ckdir, *_model_and_opt(3))


def test_no_checkpoint_means_a_fresh_start(tmp_path):
    assert load_checkpoint(tmp_path / "none", *_model_and_opt(0)) is None
