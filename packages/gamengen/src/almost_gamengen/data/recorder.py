"""A gymnasium wrapper that records every finished episode into an episode folder.

It sits directly on the game (inside any reward shaping), so the ``reward`` column is the
game's own reward. Frames are PNG-encoded as they arrive and an episode is written as its
own shard the moment it ends (``terminated`` or ``truncated``), following the alignment
convention of :mod:`almost_gamengen.data.episodes`: row ``t`` holds the frame seen, the action
then taken and the reward it earned. An episode cut short by a ``reset()`` before it ended
is dropped, so every stored episode is complete.

Frames are encoded on a helper thread (``zlib`` releases the GIL), so where a core is
free the encoding overlaps the game's own work; at most ``max_pending`` raw frames wait.

A game whose ``info`` carries ``"objects"`` (ViZDoom with ``env.labels``: the object boxes of
each frame) gets the optional ``objects`` column too.

Each recorder writes shards named ``<prefix>-NNNNN.parquet`` and takes episode ids from
``ids`` (an iterator), so several processes can share a folder without clashing.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np

from .episodes import EncodedEpisode, EpisodeWriter
from .png import encode_png

BATCH = 8  # frames per hand-over to the helper thread


def _warm_up() -> None:
    """Write a one-row table to memory: the first parquet write imports ~360 modules (pandas,
    dateutil, ...; 0.3–0.6 s), which would otherwise land in the middle of the first episode."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"x": pa.array([1])}).replace_schema_metadata({b"k": b"v"})
    pq.write_table(table, pa.BufferOutputStream(), compression="none")


def _encode_many(frames: list[np.ndarray], level: int) -> list[bytes]:
    return [encode_png(f, level) for f in frames]


class EpisodeRecorder(gym.Wrapper):
    """Record play into ``root``; ``ids`` yields the episode ids to use, in order.

    With ``background=True`` (the default) one helper thread PNG-encodes frames in groups of
    ``BATCH`` and then writes each finished episode's shard, in order, so neither the
    encoding nor the shard's fsync holds up the game. ``close()`` waits for every finished
    episode to be on disk, and raises if writing one failed. ``shard_frames`` groups short
    episodes into shards of about that many frames (see :class:`EpisodeWriter`).
    """

    def __init__(
        self,
        env: gym.Env,
        root: str | Path,
        prefix: str,
        ids: Iterator[int] | None = None,
        metadata: dict | None = None,
        compress_level: int = 1,
        background: bool = True,
        max_queued_episodes: int = 2,
        shard_frames: int = 0,
        writer=None,
    ):
        super().__init__(env)
        self.action_names = list(env.action_names)
        self.noop_action = int(env.noop_action)
        # ``writer``: anything with add(EncodedEpisode) and flush() instead of shards in ``root``
        # (collect's Ray actors keep finished episodes in memory for the driver to write)
        self.writer = writer if writer is not None else EpisodeWriter(
            root,
            self.action_names,
            self.noop_action,
            prefix=prefix,
            metadata=metadata,
            update_manifest=False,
            compress_level=compress_level,
            shard_frames=shard_frames,
        )
        self.compress_level = compress_level
        self.ids = ids if ids is not None else itertools.count()
        self.max_queued_episodes = max(1, max_queued_episodes)
        self.episodes_written = 0  # finished episodes handed to the writer
        self.frames_written = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="recorder") if background else None
        # the writer's one-time imports happen on the helper thread, off the stepping path
        self._warm = self._pool.submit(_warm_up) if self._pool is not None else None
        self._encoding: list[Future] = []  # this episode's frame groups, in order
        self._writes: deque[Future] = deque()  # queued episode writes
        self._pngs: list[bytes] = []  # this episode's frames (inline mode)
        self._batch: list[np.ndarray] = []
        self._actions: list[int] = []
        self._rewards: list[float] = []
        self._objects: list[np.ndarray] | None = None  # boxes of each recorded frame, when the game gives them
        self._frame: np.ndarray | None = None
        self._frame_objects: np.ndarray | None = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    # -- frames -------------------------------------------------------------------------
    def _encode(self, frame: np.ndarray) -> None:
        if self._pool is None:
            self._pngs.append(encode_png(frame, self.compress_level))
            return
        # a copy: some games hand out one buffer and overwrite it on the next step
        self._batch.append(frame.copy())
        if len(self._batch) >= BATCH:  # hand frames over in groups: fewer thread switches
            self._submit_batch()

    def _submit_batch(self) -> None:
        if self._batch:
            self._encoding.append(self._pool.submit(_encode_many, self._batch, self.compress_level))
            self._batch = []

    def _forget_episode(self) -> None:
        for f in self._encoding:
            f.cancel()
        self._encoding, self._batch, self._pngs, self._actions, self._rewards = [], [], [], [], []
        self._objects = None

    # -- gymnasium ----------------------------------------------------------------------
    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._forget_episode()  # an unfinished episode is not recorded
        self._frame = np.asarray(obs)
        self._frame_objects = _boxes(info)
        return obs, info

    def step(self, action):
        if self._frame is None:
            raise RuntimeError("call reset() before step()")
        self._encode(self._frame)  # frame t, seen before a_t
        if self._frame_objects is not None:
            if self._objects is None:
                self._objects = []
            self._objects.append(self._frame_objects)
        self._actions.append(int(action))
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._rewards.append(float(reward))
        self._frame = np.asarray(obs)
        self._frame_objects = _boxes(info)
        if terminated or truncated:
            self._finish()
        return obs, reward, terminated, truncated, info

    def close(self):
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            super().close()

    def ready(self) -> None:
        """Block until the helper thread has done its one-time imports (benchmarks call this)."""
        if self._warm is not None:
            self._warm.result()
        else:
            _warm_up()

    def wait(self) -> None:
        """Block until every finished episode is on disk (re-raises a failed write)."""
        while self._writes:
            self._writes.popleft().result()

    def flush(self) -> None:
        """:meth:`wait`, then write the episodes gathered for a shard (``shard_frames``)."""
        self.wait()
        self.writer.flush()

    # -- episodes -----------------------------------------------------------------------
    def _finish(self) -> None:
        t = len(self._actions)
        eid = next(self.ids, None) if t else None
        if eid is not None:
            dones = np.zeros(t, bool)
            dones[-1] = True
            args = (
                int(eid),
                np.asarray(self._actions, np.int64),
                np.asarray(self._rewards, np.float32),
                dones,
                tuple(int(x) for x in self._frame.shape),
                self._objects if self._objects is not None and len(self._objects) == t else None,
            )
            if self._pool is None:
                self._write(self._pngs, *args)
            else:
                self._submit_batch()
                # FIFO on one thread: this runs after the episode's frames are encoded
                self._writes.append(self._pool.submit(self._write, list(self._encoding), *args))
                self._encoding = []
                while len(self._writes) > self.max_queued_episodes:
                    self._writes.popleft().result()
                while self._writes and self._writes[0].done():
                    self._writes.popleft().result()
            self.episodes_written += 1
            self.frames_written += t
        self._forget_episode()
        self._frame = None

    def _write(self, pngs, episode_id, actions, rewards, dones, shape, objects=None) -> None:
        if pngs and isinstance(pngs[0], Future):
            pngs = [p for f in pngs for p in f.result()]
        self.writer.add(EncodedEpisode(episode_id, pngs, actions, rewards, dones, shape, objects))


def _boxes(info) -> np.ndarray | None:
    """The frame's object boxes from a game's ``info`` (None when the game gives none)."""
    b = info.get("objects") if isinstance(info, dict) else None
    return None if b is None else np.asarray(b, np.int16).reshape(-1, 4)
