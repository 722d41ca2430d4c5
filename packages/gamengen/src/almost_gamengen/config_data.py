"""Config sections of the data half: the game, the PPO agent, episode collection.

Owned by the data stages (``agent``, ``collect``). Each section has ``tiny()`` and ``full()``.
``tiny`` plays ViZDoom's ``basic`` room at 48×64 so that the whole data half runs on a
2-core CPU in about a minute; ``full`` plays Freedoom's E1M1 at 320×240 (GameNGen's
setting), stored unpadded, with ``pad_height`` telling the model to pad to 256 rows.
"""

from __future__ import annotations

from typing import Any

import attrs

from almost.config import choice, field

FULL_COMBOS = [
    "MOVE_FORWARD+ATTACK",
    "MOVE_FORWARD+TURN_LEFT",
    "MOVE_FORWARD+TURN_RIGHT",
    "MOVE_LEFT+ATTACK",
    "MOVE_RIGHT+ATTACK",
]


@attrs.define
class EnvConfig:
    name: str = field(
        "vizdoom-basic",
        help="registered env component (env/NAME); any game works, "
        "e.g. gridchase from the example plugin",
        component="env",
    )
    options: dict[str, Any] = field(
        factory=dict,
        help="the game's own keyword options, passed to its factory ([env.options] in a --config "
        "file, --set env.options.KEY=VALUE); e.g. run_dir for env/worldmodel, size for gridchase",
    )
    height: int = field(48, ge=8, help="frame height in pixels (frames are resized to this)")
    width: int = field(64, ge=8, help="frame width in pixels")
    resolution: str = field("RES_160X120", help="ViZDoom render resolution before resizing")
    frame_skip: int = field(4, ge=1, help="game tics per agent step (ViZDoom runs at 35 tics/s)")
    max_steps: int = field(
        100, ge=0, help="steps before an episode is cut (truncated); 0: the game's own limit"
    )
    combos: list[str] = field(
        factory=list, help="extra actions that press several buttons, e.g. MOVE_FORWARD+ATTACK"
    )
    doom_skill: int = field(0, ge=0, le=5, help="ViZDoom difficulty 1-5; 0 keeps the scenario's")
    render_hud: bool = field(
        False, help="draw the status bar (GameNGen keeps it; small frames drop it)"
    )
    labels: bool = field(
        True,
        help="record each frame's object boxes from ViZDoom's labels buffer (the episodes' "
        "optional objects column; rollout scores PSNR inside them); costs ~0.07 ms per step",
    )
    pad_height: int = field(
        0,
        ge=0,
        help="the model pads frames at the bottom to this height (0: no padding); "
        "episodes are stored unpadded",
    )
    pad_width: int = field(
        0, ge=0, help="the model pads frames on the right to this width (0: no padding)"
    )

    @classmethod
    def tiny(cls) -> EnvConfig:
        return cls()

    @classmethod
    def full(cls) -> EnvConfig:
        return cls(
            name="vizdoom-freedoom1",
            height=240,
            width=320,
            resolution="RES_320X240",
            frame_skip=4,
            max_steps=2000,
            combos=list(FULL_COMBOS),
            render_hud=True,
            pad_height=256,
            pad_width=320,
        )


@attrs.define
class AgentConfig:
    num_envs: int = field(2, ge=1, help="games played in parallel (SubprocVecEnv processes)")
    total_steps: int = field(16384, ge=1, help="PPO environment steps in all (summed over the games)")
    n_steps: int = field(128, ge=2, help="steps per game between PPO updates")
    batch_size: int = field(64, ge=2, help="PPO minibatch size")
    n_epochs: int = field(4, ge=1, help="PPO passes over each rollout")
    learning_rate: float = field(1e-3, gt=0, help="Adam learning rate")
    gamma: float = field(0.99, gt=0, le=1, help="discount factor")
    ent_coef: float = field(0.01, ge=0, help="entropy bonus (higher: more varied play)")
    shaping: bool = field(
        True,
        help="GameNGen reward shaping from game variables (hits, kills, "
        "pick-ups, new areas, deltas, penalties)",
    )
    shaping_scale: float = field(0.01, ge=0, help="multiplier of the shaping points")
    reward_scale: float = field(
        0.01, gt=0, help="multiplier of the reward PPO learns from (after shaping; the logged "
        "returns keep the game's units): returns of order 1 keep the value loss from swamping "
        "the policy's gradient"
    )
    normalize_reward: bool = field(
        False, help="divide the reward PPO learns from by a running standard deviation of the "
        "discounted return (SB3 VecNormalize; on top of reward_scale)"
    )
    record: bool = field(True, help="record every episode played while training")
    record_frames: int = field(
        1024, ge=0, help="record only the first episodes, up to about this many frames in all "
        "(the world model's data stays the same size however long the agent trains); 0: all"
    )
    checkpoint_every: int = field(4096, ge=1, help="save the policy every this many steps (resume point)")
    start_method: str = choice(
        "forkserver",
        "forkserver",
        "spawn",
        "fork",
        help="how game processes start (fork can hang with torch threads)",
    )
    device: str = field("cpu", help="torch device for the policy (cpu, cuda, auto)")
    eval_episodes: int = field(
        20, ge=0, help="after training, games played by the policy and by a random policy on the "
        "same evaluation seeds (their own seed stream); 0: skip"
    )

    @classmethod
    def tiny(cls) -> AgentConfig:
        # benchmarks/README.md (agent study): 16k steps with rewards scaled to order 1 beat
        # random play on `basic` by ~7σ in about a minute; unscaled, PPO collapsed to one action
        return cls()

    @classmethod
    def full(cls) -> AgentConfig:
        return cls(
            num_envs=8,
            total_steps=10_000_000,
            n_steps=512,
            batch_size=256,
            n_epochs=4,
            learning_rate=1e-4,
            ent_coef=0.05,
            checkpoint_every=100_000,
            device="auto",
            # E1M1's shaped returns have no known scale: normalise them as they come (on basic
            # this matched the fixed 0.01 scale, benchmarks/README.md agent study); unmeasured on E1M1
            reward_scale=1.0,
            normalize_reward=True,
            record_frames=0,  # GameNGen: every episode the agent plays while training
        )


@attrs.define
class CollectConfig:
    episodes: int = field(6, ge=1, help="episodes to record in all (a re-run adds the missing ones)")
    workers: int = field(2, ge=1, help="processes that play and record in parallel")
    policy: str = choice(
        "agent",
        "agent",
        "random",
        "scripted",
        help="who plays: the agent stage's PPO policy, uniform random, or scripted",
    )
    policy_path: str = field("", help="a PPO zip to use instead of <run>/agent/policy.zip")
    deterministic: bool = field(
        False, help="take the policy's most likely action instead of sampling"
    )
    shard_frames: int = field(
        256,
        ge=0,
        help="gather short episodes into shards of about this many frames "
        "(fewer files and fsyncs); 0: one shard per episode",
    )
    gif_frames: int = field(120, ge=0, help="frames in the preview GIF (0: none)")
    gif_scale: int = field(3, ge=1, help="preview GIF upscale factor (nearest)")
    start_method: str = choice(
        "forkserver", "forkserver", "spawn", "fork", help="how worker processes start"
    )
    backend: str = choice(
        "local",
        "local",
        "ray",
        help="where episodes are played: processes on this machine, or a Ray cluster "
        "(pip install almost-gamengen[ray])",
    )
    ray_address: str = field(
        "",
        help="the Ray cluster to join (host:port of `ray start --head`, ray://host:port, auto); "
        "empty: RAY_ADDRESS, else a Ray started here with collect.workers CPUs",
    )
    ray_workers: int = field(
        0, ge=0, help="Ray actors that play (one CPU each); 0: one per CPU of the cluster"
    )
    ray_episodes_per_call: int = field(
        2, ge=1, help="episodes an actor plays per call (a killed actor's call is played again)"
    )
    write_on_workers: bool = field(
        False,
        help="Ray actors write their own shards (the run directory must be shared storage); "
        "otherwise episodes come back to this process, which writes them",
    )

    @classmethod
    def tiny(cls) -> CollectConfig:
        # uniform random play: actions independent of the frames are what a world model needs to
        # learn what each action does (benchmarks/README.md: 6 agent episodes gave sensitivity
        # ≈ 0; 120 random ones 0.48); the trained tiny agent (+85 vs random −185 on `basic`)
        # plays almost deterministically, so its play would tie actions to frames
        return cls(episodes=120, policy="random")

    @classmethod
    def full(cls) -> CollectConfig:
        return cls(episodes=2000, workers=8, shard_frames=0, gif_frames=300, gif_scale=1)
