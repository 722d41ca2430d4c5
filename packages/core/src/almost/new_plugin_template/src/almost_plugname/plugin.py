"""Registers this package's components and its pipeline with Almost (entry point `plugname`).

Factories are "module:attr" strings: their modules (and torch) are imported only when a run
builds the component, so `almost --help` and `almost plugins` stay fast.
"""

import almost

almost_hook_api = 1  # the Almost hook API this plugin was written for


@almost.hookimpl
def almost_register(registry):
    registry.add("reward", "plugname-sharpness", "almost_plugname.reward:Sharpness", help="prefers sharp images")
    registry.add("env", "plugname-catch", "almost_plugname.game:Catch", help="catch the falling ball; options: size, max_steps")
    registry.add("trainer", "plugname-reinforce", "almost_plugname.trainer:ReinforceTrainer",
                 help="REINFORCE on a table of logits; options: updates, episodes_per_update, lr, save_every")
    registry.add("sampler", "plugname-follow", "almost_plugname.stages:FollowPolicy",
                 help="plays the catch game, one episode per seed; options: follow, size")


@almost.hookimpl
def almost_pipelines(register):
    from .config import full, tiny  # attrs only: cheap to import

    register(almost.Pipeline(
        name="plugname",
        stages=[
            almost.Stage("play", "almost_plugname.stages:play", "play the catch game and record each episode's return"),
            almost.Stage("score", "almost_plugname.stages:score", "read the episodes back and report the mean return"),
            almost.Stage("learn", "almost_plugname.trainer:learn", "learn to catch with REINFORCE (learn.trainer)"),
        ],
        profiles={"tiny": tiny, "full": full},
        help="a small example: play a game, score the episodes, learn a policy",
    ))
