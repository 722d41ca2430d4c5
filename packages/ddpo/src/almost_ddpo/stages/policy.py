"""Stage ``policy``: fine-tune a UNet LoRA on the run's feedback with ``policy.trainer``.

The trainer is a registered component of kind ``trainer``, built with this stage's
:class:`~almost.runs.RunContext` (and the ``policy.trainer_options`` table, checked against
its factory): ``ddpo`` (:mod:`almost_ddpo.trainers.ddpo`, the default) maximises ``reward/NAME``
with DDPO; ``ddpo-d3po`` (:mod:`almost_ddpo.trainers.d3po`) learns from the pairwise preferences
in the ratings directly, without a reward model; a plugin may register its own. A trainer
checkpoints under the stage folder and resumes, logs each epoch with ``ctx.log_step`` and
returns the stage's metrics from ``fit()``.

Sampling and training use ``generate.steps`` and ``generate.guidance`` (the images the reward
model was trained on) unless ``policy.steps`` / ``policy.guidance`` are set on purpose. The
fresh LoRA is initialised from ``policy.seed``: the same config gives the same tensors. A loss
that stops being finite ends the stage with one sentence (the last good checkpoint is kept).
Every ``export.export_every`` epochs a kohya file ``kohya/ui_lora_epoch_NNN.safetensors`` is
written (the seed's fallback when a late epoch exploits the reward). Rewards before and after are
measured on the same prompts and seeds (``eval_seed``) and shown side by side in
``before_after.png``. The last round's exported LoRA, if any, is the starting point.
"""

from __future__ import annotations

from ..trainers.base import make_reward, sampler_settings

__all__ = ["make_reward", "run", "sampler_settings"]


def run(ctx) -> None:
    cfg = ctx.config.policy
    name = cfg.trainer if "/" in cfg.trainer else f"trainer/{cfg.trainer}"
    trainer = ctx.registry.build(name, cfg.trainer_options, "trainer", where="policy.trainer_options", ctx=ctx)
    ctx.log_metrics(**trainer.fit())
