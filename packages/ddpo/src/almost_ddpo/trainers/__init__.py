"""Policy trainers (``trainer/NAME``) for the ``policy`` stage: :mod:`.ddpo` and :mod:`.d3po`."""

from __future__ import annotations


def register(registry) -> None:
    m = "almost_ddpo.trainers"
    registry.add("trainer", "ddpo", f"{m}.ddpo:DdpoTrainer",
                 help="DDPO (Black et al. 2023): PPO on the reward of sampled images (the policy stage's default)")
    registry.add("trainer", "ddpo-d3po", f"{m}.d3po:D3poTrainer",
                 help="D3PO (Yang et al. 2023): DPO on the denoising steps of preferred vs rejected images, "
                      "from the ratings directly (no reward model)")
