"""ViZDoom as an Almost Environment: named discrete actions, RGB frames, headless.

One component per scenario that the ``vizdoom`` wheel ships (``env/vizdoom-basic``,
``env/vizdoom-health_gathering``, ``env/vizdoom-freedoom1`` (E1M1), ...). Every scenario
gets the same action set, as in GameNGen: an explicit ``NOOP``, ``MOVE_LEFT``,
``MOVE_RIGHT`` (independent actions), ``MOVE_FORWARD``, ``MOVE_BACKWARD``, ``TURN_LEFT``,
``TURN_RIGHT``, ``ATTACK``, plus any combinations asked for (``"MOVE_FORWARD+ATTACK"``).

The game is driven through ViZDoom's own API (``vizdoom.DoomGame``) rather than its
gymnasium wrapper, because the wrapper's action set follows each scenario's config and we
want one action set everywhere. Frames are rendered at ``resolution`` and resized (PIL,
box filter) to ``height`` × ``width`` when those differ. ``info["game_variables"]`` carries
the counters that :mod:`almost_gamengen.data.shaping` turns into a reward.

Example::

    env = registry.create("env/vizdoom-basic", height=48, width=64, frame_skip=4)
    frame, info = env.reset(seed=0)      # (48, 64, 3) uint8
    frame, r, terminated, truncated, info = env.step(env.action_names.index("ATTACK"))
    env.close()
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from almost.errors import UserError, known_list

# which scenarios the wheel ships: a light module, so the plugin lists them without this one
from .scenarios import _MAPS, scenario_names, scenarios_dir

BASE_ACTIONS = (
    "NOOP",
    "MOVE_LEFT",
    "MOVE_RIGHT",
    "MOVE_FORWARD",
    "MOVE_BACKWARD",
    "TURN_LEFT",
    "TURN_RIGHT",
    "ATTACK",
)
BUTTONS = BASE_ACTIONS[1:]

# counters exposed to reward shaping (available in every scenario through the game API)
GAME_VARIABLES = (
    "KILLCOUNT",
    "ITEMCOUNT",
    "SECRETCOUNT",
    "HITCOUNT",
    "HITS_TAKEN",
    "DAMAGECOUNT",
    "HEALTH",
    "ARMOR",
    "SELECTED_WEAPON_AMMO",
    "DEAD",
    "POSITION_X",
    "POSITION_Y",
)



# labels that are not objects in the room: the player's own weapon sprite (``DoomPlayer``,
# always on screen) and effects that come and go in a few tics (bullet puffs, blood splats)
NOT_OBJECTS = frozenset({"DoomPlayer", "BulletPuff", "Blood", "BloodSplatter", "TeleportFog", "ItemFog",
                         "RocketSmokeTrail"})


def object_boxes(labels, frame_shape: tuple[int, int], out_shape: tuple[int, int]) -> np.ndarray:
    """ViZDoom's labels (one per visible object) → int16 boxes (n, 4) ``x0, y0, x1, y1`` in
    ``out_shape`` pixels, end-exclusive, clipped to the frame; empty boxes and
    labels in :data:`NOT_OBJECTS` are dropped."""
    sy, sx = out_shape[0] / frame_shape[0], out_shape[1] / frame_shape[1]
    boxes = []
    for lab in labels or ():
        if lab.object_name in NOT_OBJECTS:
            continue
        x0, y0 = int(np.floor(lab.x * sx)), int(np.floor(lab.y * sy))
        x1 = int(np.ceil((lab.x + lab.width) * sx))
        y1 = int(np.ceil((lab.y + lab.height) * sy))
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(out_shape[1], x1), min(out_shape[0], y1)
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1, y1))
    return np.asarray(boxes, np.int16).reshape(-1, 4)


def action_table(combos: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Action names and their button vectors: the base set, then ``combos`` like ``A+B``."""
    names = list(BASE_ACTIONS)
    for c in combos:
        parts = [p.strip().upper() for p in c.split("+")]
        bad = [p for p in parts if p not in BUTTONS]
        if bad or len(parts) < 2:
            raise UserError(
                f"action combination {c!r} must join two or more of {', '.join(BUTTONS)} with '+'"
            )
        name = "+".join(parts)
        if name not in names:
            names.append(name)
    table = np.zeros((len(names), len(BUTTONS)), np.float64)
    for i, name in enumerate(names[1:], start=1):
        for p in name.split("+"):
            table[i, BUTTONS.index(p)] = 1.0
    return names, table


class VizdoomEnv(gym.Env):
    """One ViZDoom game, headless, with named discrete actions and (H, W, 3) uint8 frames."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        scenario: str = "basic",
        height: int = 48,
        width: int = 64,
        resolution: str = "RES_160X120",
        frame_skip: int = 4,
        max_steps: int = 0,
        combos: Sequence[str] = (),
        doom_skill: int = 0,
        render_hud: bool = False,
        labels: bool = False,
    ):
        d = scenarios_dir()
        cfg = d / f"{scenario}.cfg" if d else None
        if cfg is None or not cfg.is_file():
            raise UserError(
                f"ViZDoom scenario {scenario!r} is not in the installed wheel; "
                f"choose one of {known_list(scenario_names())}"
            )
        if frame_skip < 1:
            raise UserError(f"env frame_skip must be at least 1, not {frame_skip}")
        self.scenario, self.cfg_path = scenario, cfg
        self.height, self.width = int(height), int(width)
        self.resolution, self.frame_skip, self.max_steps = (
            resolution,
            int(frame_skip),
            int(max_steps),
        )
        self.doom_skill, self.render_hud = int(doom_skill), bool(render_hud)
        self.labels = bool(labels)
        self._objects = np.zeros((0, 4), np.int16)
        self.action_names, self._buttons = action_table(combos)
        self.noop_action = 0
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        self.observation_space = gym.spaces.Box(0, 255, (self.height, self.width, 3), np.uint8)
        self.game = None
        self._frame = np.zeros((self.height, self.width, 3), np.uint8)
        self._t = 0

    # -- the game -----------------------------------------------------------------------
    def _make_game(self):
        import vizdoom as vzd

        res = getattr(vzd.ScreenResolution, self.resolution, None)
        if res is None:
            raise UserError(
                f"env resolution {self.resolution!r} is not a ViZDoom resolution "
                "(e.g. RES_160X120, RES_320X240, RES_640X480)"
            )
        # ViZDoom creates ./_vizdoom/ on start, racily: two games starting at once in a fresh
        # folder can make one of them exit. Creating it first (exist_ok) removes the race.
        os.makedirs("_vizdoom", exist_ok=True)
        game = vzd.DoomGame()
        game.load_config(str(self.cfg_path))
        if self.scenario in _MAPS:
            game.set_doom_map(_MAPS[self.scenario])
        game.set_window_visible(False)
        game.set_mode(vzd.Mode.PLAYER)
        game.set_screen_format(vzd.ScreenFormat.RGB24)
        game.set_screen_resolution(res)
        game.set_render_hud(self.render_hud)
        game.set_audio_buffer_enabled(False)
        game.set_automap_buffer_enabled(False)
        game.set_depth_buffer_enabled(False)
        game.set_labels_buffer_enabled(self.labels)
        game.set_sound_enabled(False)
        if self.doom_skill:
            game.set_doom_skill(self.doom_skill)
        game.set_available_buttons([getattr(vzd.Button, b) for b in BUTTONS])
        game.set_available_game_variables([getattr(vzd.GameVariable, v) for v in GAME_VARIABLES])
        return game

    def _observe(self) -> tuple[np.ndarray, dict]:
        state = self.game.get_state()
        if state is None:  # finished: keep showing the last frame
            self._vars["DEAD"] = float(self.game.is_player_dead())
            info = {"game_variables": self._vars}
            if self.labels:
                info["objects"] = self._objects.copy()
            return self._frame.copy(), info
        frame = state.screen_buffer
        if frame.shape[:2] != (self.height, self.width):
            from PIL import Image

            frame = np.asarray(Image.fromarray(frame).resize((self.width, self.height), Image.BOX))
        self._frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if state.game_variables is not None:
            self._vars = dict(
                zip(GAME_VARIABLES, (float(v) for v in state.game_variables), strict=False)
            )
        info = {"game_variables": dict(self._vars)}
        if self.labels:
            self._objects = object_boxes(state.labels, frame_shape=state.screen_buffer.shape[:2],
                                         out_shape=(self.height, self.width))
            info["objects"] = self._objects.copy()
        return self._frame.copy(), info

    # -- gymnasium ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.game is None:
            self.game = self._make_game()
            self.game.init()
        if seed is not None:
            # after init() on every reset: a seed set before init() gave the first episode
            # other content than a later reset with the same seed (replays must match)
            self.game.set_seed(int(seed) % (2**31))
        self.game.new_episode()
        self._t = 0
        self._vars = {}
        return self._observe()

    def step(self, action):
        a = int(action)
        if not 0 <= a < len(self.action_names):
            raise ValueError(f"action {action!r} is not one of 0..{len(self.action_names) - 1}")
        if self.game is None:
            raise RuntimeError("call reset() before step()")
        reward = float(self.game.make_action(self._buttons[a].tolist(), self.frame_skip))
        self._t += 1
        finished = self.game.is_episode_finished()
        frame, info = self._observe()
        timeout = self.game.get_episode_timeout()
        timed_out = finished and timeout > 0 and self.game.get_episode_time() >= timeout
        truncated = timed_out or (self.max_steps > 0 and self._t >= self.max_steps and not finished)
        terminated = finished and not timed_out
        return frame, reward, terminated, truncated, info

    def render(self):
        return self._frame.copy()

    def close(self):
        if self.game is not None:
            self.game.close()
            self.game = None
