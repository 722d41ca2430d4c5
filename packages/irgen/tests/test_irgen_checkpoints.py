"""irgen's LoRA checkpoints are the core's: fsynced, checksummed, resume falls back to the newest intact one."""

from __future__ import annotations

import pytest
import torch

from almost.errors import UserError
from almost_irgen.stages.train import checkpoints


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.proj(x)


def _lora_and_opt(seed: int):
    """A LoRA on a tiny net after one optimizer step (B starts at zero: the step moves it), prepared."""
    from peft import LoraConfig, get_peft_model

    from almost.checkpoint import make_accelerator

    torch.manual_seed(seed)
    model = get_peft_model(_Net(), LoraConfig(r=2, lora_alpha=4, target_modules=["proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    acc = make_accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    return acc, model, opt


def _lora(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def test_resume_skips_a_torn_newest_checkpoint(tmp_path, capsys):
    ckdir = tmp_path / "train" / "checkpoints"
    acc, m2, _ = _lora_and_opt(2)
    checkpoints(ckdir, acc, m2).save(2, {"note": "two"})
    acc, m4, _ = _lora_and_opt(4)
    checkpoints(ckdir, acc, m4).save(4, {"note": "four"})
    assert sorted(p.name for p in ckdir.iterdir()) == ["step-00000002", "step-00000004"]
    saved = (ckdir / "step-00000004" / "adapter.safetensors")  # the LoRA alone, not the frozen base
    from almost.checkpoint import load_safetensors

    assert sorted(load_safetensors(saved)) == ["base_model.model.proj.lora_A.weight",
                                               "base_model.model.proj.lora_B.weight"]
    saved.write_bytes(saved.read_bytes()[:40])

    acc, fresh, _ = _lora_and_opt(9)
    state = checkpoints(ckdir, acc, fresh).load()
    assert state == {"step": 2, "note": "two"}
    got, want = _lora(fresh), _lora(m2)
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)
    assert not torch.equal(got["base_model.model.proj.lora_B.default.weight"],
                           _lora(m4)["base_model.model.proj.lora_B.default.weight"])
    out = capsys.readouterr().out
    assert "step-00000004 is damaged" in out and "adapter.safetensors has 40 bytes" in out


def test_every_checkpoint_damaged_is_one_sentence(tmp_path):
    ckdir = tmp_path / "train" / "checkpoints"
    acc, m, _ = _lora_and_opt(1)
    checkpoints(ckdir, acc, m).save(1, {})
    (ckdir / "step-00000001" / "optimizer.bin").write_bytes(b"x")
    acc, fresh, _ = _lora_and_opt(3)
    with pytest.raises(UserError, match="no intact checkpoint in .*optimizer.bin has 1 bytes.*--force train"):
        checkpoints(ckdir, acc, fresh).load()


def test_no_checkpoint_means_a_fresh_start(tmp_path):
    acc, m, _ = _lora_and_opt(0)
    assert checkpoints(tmp_path / "train" / "checkpoints", acc, m).load() is None
