"""A third-party Almost plugin, as a plugin author would write one.

It lives outside the Almost packages and is found through its entry point alone::

    [project.entry-points.almost]
    example = "almost_example"

It registers a reward model (``reward/brightness``: mean pixel brightness), a code reward
(``reward/semicolons``: a toy lint that irgen's ``refine`` can maximise) and a toy game
(``env/gridchase``: a 5-action dot-chasing game rendered as RGB frames), a sampler and a trainer
for ddpo's stages (``sampler/example-euler``, ``trainer/example-rwr``), using the same hook
the built-in plugins use. Both are registered lazily as ``"module:attr"`` strings: importing
this module imports neither torch nor gymnasium.
"""

from __future__ import annotations

import almost

almost_hook_api = 1


@almost.hookimpl
def almost_register(registry):
    registry.add("reward", "brightness", "almost_example.reward:BrightnessReward",
                 help="mean image brightness (example plugin)")
    registry.add("reward", "semicolons", "almost_example.lint:SemicolonReward",
                 help="share of ';' in a C# program, a toy lint for irgen's refine (example plugin)")
    registry.add("env", "gridchase", "almost_example.game:GridChase",
                 help="toy dot-chasing game; options size, cell, max_steps (example plugin)")
    # for ddpo's stages (they need almost-ddpo, imported only when a run builds them)
    registry.add("sampler", "example-euler", "almost_example.diffusion:EulerSampler",
                 help="ddpo generate with diffusers' Euler scheduler (example plugin)")
    registry.add("trainer", "example-rwr", "almost_example.diffusion:RewardWeightedTrainer",
                 help="reward-weighted regression on the ddpo policy's LoRA; option temperature (example plugin)")
