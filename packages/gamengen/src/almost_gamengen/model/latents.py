"""The latent store (safetensors shards + an index) and the training-window dataset.

Layout of a store folder (written by the ``encode`` stage)::

    index.json                 shapes, dtype, VAE scaling factor, action names, no-op action,
                               shards [{file, frames}], episodes [{id, shard, start, length}]
    shard-00000.safetensors    "latents" (N, 4, h, w) already × scaling factor, "actions" (N,)

Latents of one episode are consecutive rows of one shard. :class:`LatentStore` memory-maps
each shard's tensors straight from the safetensors file (an 8-byte header length, a JSON
header, then raw little-endian data), so reading one window touches only its bytes. Opened with
its run folder, it also loads the recorded episode behind each latent episode
(:meth:`LatentStore.recording`, :meth:`LatentStore.pixels`): an index entry names the stage that
recorded it (``source``, e.g. ``collect``) and its id there, read from ``<run>/<source>/episodes``.

:class:`WindowDataset` yields ``context`` past latents + their actions + the target latent.
Targets are all frames t ≥ 1 of the chosen episodes (frame 0 has no action leading to it),
each equally likely. A window never crosses an episode boundary: for t < context the oldest
positions hold the **pad latent (all zeros)** and the **no-op action**, with ``mask`` 0 there
and 1 on real frames.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from almost.errors import UserError
from almost.io import atomic_write_json, read_json

INDEX = "index.json"
_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "I64": np.int64, "I32": np.int32}


def shard_name(i: int) -> str:
    return f"shard-{i:05d}.safetensors"


def plan_shards(lengths: Sequence[int], shard_frames: int) -> list[list[int]]:
    """Group episode positions into shards of about ``shard_frames`` frames (whole episodes)."""
    shards: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, n in enumerate(lengths):
        if current and size + n > shard_frames:
            shards.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    if current:
        shards.append(current)
    return shards


def write_shard(path: Path, latents, actions) -> None:
    """One shard: ``latents`` (N, 4, h, w) and ``actions`` (N,) int64, written atomically."""
    import torch

    from almost.train.checkpoint import save_safetensors

    save_safetensors({"latents": latents, "actions": torch.as_tensor(actions, dtype=torch.int64)}, path)


def write_index(root: Path, *, latent_shape: Sequence[int], dtype: str, scaling_factor: float,
                action_names: Sequence[str], noop_action: int, frame_shape: Sequence[int],
                shards: list[dict], episodes: list[dict], **extra: Any) -> Path:
    return atomic_write_json(Path(root) / INDEX, {
        "format_version": 1, "latent_shape": list(latent_shape), "dtype": dtype,
        "scaling_factor": float(scaling_factor), "action_names": list(action_names),
        "noop_action": int(noop_action), "frame_shape": list(frame_shape),
        "pad_latent": "zeros", "shards": shards, "episodes": episodes, **extra,
    })


_INDEX_FIX = "re-run the encode stage with --force (it writes the index)"


def read_index(path: Path) -> dict:
    """The latent store's ``index.json``, checked entry by entry (one sentence naming the file,
    the entry and the fix; never a KeyError)."""
    from almost.io import check_fields

    index = read_json(path, "latent store index", _INDEX_FIX, expect=dict)
    check_fields(index, path, "latent store index", {
        "latent_shape": "posints", "scaling_factor": "number", "action_names": "strs", "noop_action": "count",
        "frame_shape": "posints", "shards": "list", "episodes": "list"}, _INDEX_FIX)
    if len(index["latent_shape"]) != 3 or len(index["frame_shape"]) != 3:
        raise UserError(f"latent store index {path} has a latent_shape or frame_shape that is not 3 numbers; "
                        f"{_INDEX_FIX}")
    if not index["action_names"] or index["noop_action"] >= len(index["action_names"]):
        raise UserError(f"latent store index {path} has noop_action {index['noop_action']} outside its "
                        f"{len(index['action_names'])} action names; {_INDEX_FIX}")
    for i, s in enumerate(index["shards"]):
        check_fields(s, path, "latent store index", {"file": "str", "frames": "count"}, _INDEX_FIX,
                     entry=f"shard {i + 1}")
        if "/" in s["file"] or "\\" in s["file"] or s["file"].startswith("."):
            raise UserError(f"latent store index {path}, shard {i + 1}, names {s['file']!r}, not a file of the "
                            f"store; {_INDEX_FIX}")
    for i, e in enumerate(index["episodes"]):
        check_fields(e, path, "latent store index", {"id": "int|str", "length": "count", "shard": "count",
                                                     "start": "count"}, _INDEX_FIX, entry=f"episode {i + 1}")
        if e["shard"] >= len(index["shards"]) or e["start"] + e["length"] > index["shards"][e["shard"]]["frames"]:
            raise UserError(f"latent store index {path}, episode {i + 1}, points outside its shard; {_INDEX_FIX}")
    return index


def _memmap_tensors(path: Path) -> dict[str, np.memmap]:
    """Memory-map every tensor of a safetensors file without reading its data."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except (OSError, struct.error, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"latent shard {path} is missing or unreadable ({e}); delete it and re-run the "
                        "encode stage") from None
    if not isinstance(header, dict):
        raise UserError(f"latent shard {path} is not a safetensors file; delete it and re-run the encode stage")
    import os

    size = os.path.getsize(path)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise UserError(f"latent shard {path} stores {name} as {info['dtype']}, which is not supported")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if 8 + n + end > size:
            raise UserError(
                f"latent shard {path} is truncated ({size} bytes, its header needs {8 + n + end}); "
                "delete it and re-run the encode stage (it re-encodes only missing shards)"
            )
        if end == begin:
            out[name] = np.zeros(shape, dtype=dt)
            continue
        out[name] = np.memmap(path, dtype=dt, mode="r", offset=8 + n + begin, shape=shape)
    return out


class LatentStore:
    """Read-only, memory-mapped view of an encoded store folder; with ``run_dir`` (the run that
    recorded the episodes) it loads their pixels too, the last 8 episodes kept in memory."""

    def __init__(self, root: str | Path, run_dir: str | Path | None = None) -> None:
        self.root = Path(root)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self._sources: dict[str, Any] = {}
        self._recordings = functools.lru_cache(maxsize=8)(self._load_recording)
        self.index = read_index(self.root / INDEX)
        self.latent_shape = tuple(self.index["latent_shape"])
        self.scaling_factor = float(self.index["scaling_factor"])
        self.action_names = list(self.index["action_names"])
        self.noop_action = int(self.index["noop_action"])
        self.frame_shape = tuple(self.index["frame_shape"])
        self._shards = []
        for s in self.index["shards"]:
            path = self.root / s["file"]
            t = _memmap_tensors(path)
            if "latents" not in t or "actions" not in t:
                raise UserError(f"latent shard {path} lacks latents/actions; re-run the encode stage")
            lat, act = t["latents"], t["actions"]
            if tuple(lat.shape[1:]) != self.latent_shape:
                raise UserError(
                    f"latent shard {path} holds latents of shape {tuple(lat.shape[1:])} but the "
                    f"index says {self.latent_shape}; the shards disagree, re-run encode with --force"
                )
            if lat.shape[0] != s["frames"] or act.shape[0] != s["frames"]:
                raise UserError(
                    f"latent shard {path} holds {lat.shape[0]} latents and {act.shape[0]} actions, "
                    f"not the {s['frames']} its index lists; re-run encode with --force"
                )
            self._shards.append((lat, act))
        self.episodes = list(self.index["episodes"])

    def __len__(self) -> int:
        return len(self.episodes)

    def episode_ids(self) -> list:
        return [e["id"] for e in self.episodes]

    def lengths(self) -> list[int]:
        return [int(e["length"]) for e in self.episodes]

    def latents(self, pos: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Latents [start:stop) of the episode at position ``pos`` (a memory-map view)."""
        e = self.episodes[pos]
        stop = e["length"] if stop is None else stop
        lat, _ = self._shards[e["shard"]]
        return lat[e["start"] + start: e["start"] + stop]

    def actions(self, pos: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        e = self.episodes[pos]
        stop = e["length"] if stop is None else stop
        _, act = self._shards[e["shard"]]
        return act[e["start"] + start: e["start"] + stop]

    def recording(self, pos: int):
        """The recorded :class:`~almost_gamengen.data.episodes.Episode` (frames, actions, object
        boxes) behind the latents of position ``pos``; the last 8 stay in memory."""
        return self._recordings(pos)

    def pixels(self, pos: int) -> np.ndarray:
        """The recorded frames (T, H, W, 3) uint8 of the episode at position ``pos``."""
        return self.recording(pos).frames

    def _load_recording(self, pos: int):
        from ..data.episodes import EpisodeStore

        if self.run_dir is None:
            raise ValueError("LatentStore(root) was opened without run_dir: it cannot find the recorded episodes")
        e = self.episodes[pos]
        if e["source"] not in self._sources:
            self._sources[e["source"]] = EpisodeStore(self.run_dir / e["source"] / "episodes")
        return self._sources[e["source"]].load(e["episode_id"])


class WindowDataset:
    """(context latents, actions, mask, target) windows over chosen episodes of a store."""

    def __init__(self, store: LatentStore, context: int, episodes: Sequence[int] | None = None) -> None:
        self.store = store
        self.context = int(context)
        self.episodes = list(range(len(store))) if episodes is None else list(episodes)
        lengths = [store.episodes[p]["length"] for p in self.episodes]
        if not lengths:
            raise UserError("no episodes to make training windows from; record more episodes")
        if self.context < 1:
            raise UserError(f"model.context is {self.context}; it must be at least 1")
        longest = max(lengths)
        if self.context >= longest:
            raise UserError(
                f"model.context {self.context} is longer than the data allows (the longest "
                f"episode has {longest} frames); lower model.context or record longer episodes"
            )
        counts = np.array([max(n - 1, 0) for n in lengths], dtype=np.int64)
        self._ends = np.cumsum(counts)
        self._starts = self._ends - counts

    def __len__(self) -> int:
        return int(self._ends[-1])

    def locate(self, i: int) -> tuple[int, int]:
        """Window ``i`` → (store episode position, target frame t ≥ 1)."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = int(np.searchsorted(self._ends, i, side="right"))
        return self.episodes[k], int(i - self._starts[k]) + 1

    def window(self, pos: int, t: int) -> dict[str, np.ndarray]:
        c = self.context
        lo = max(0, t - c)
        real = t - lo
        shape = self.store.latent_shape
        context = np.zeros((c, *shape), dtype=np.float32)
        actions = np.full((c,), self.store.noop_action, dtype=np.int64)
        mask = np.zeros((c,), dtype=np.float32)
        context[c - real:] = self.store.latents(pos, lo, t)
        actions[c - real:] = self.store.actions(pos, lo, t)
        mask[c - real:] = 1.0
        target = np.array(self.store.latents(pos, t, t + 1)[0], dtype=np.float32)
        return {"context": context, "actions": actions, "mask": mask, "target": target,
                "episode": np.int64(pos), "t": np.int64(t)}

    def __getitem__(self, i: int) -> dict[str, Any]:
        import torch

        w = self.window(*self.locate(int(i)))
        return {k: torch.from_numpy(np.asarray(v)) for k, v in w.items()}

    @property
    def root(self) -> Path:
        return self.store.root

    def schema(self) -> dict[str, Any]:
        """The fields of a window (a registered Dataset's schema)."""
        c, shape = self.context, list(self.store.latent_shape)
        return {"context": {"dtype": "float32", "shape": [c, *shape]}, "actions": {"dtype": "int64", "shape": [c]},
                "mask": {"dtype": "float32", "shape": [c]}, "target": {"dtype": "float32", "shape": shape},
                "episode": {"dtype": "int64", "shape": []}, "t": {"dtype": "int64", "shape": []}}


def windows(root: str | Path, context: int, episodes: Sequence[int] | None = None) -> WindowDataset:
    """``dataset/gamengen-windows``: the windows over the chosen ``episodes`` (store positions;
    all when None) of the latent store at ``root``."""
    return WindowDataset(LatentStore(root), context, episodes)


class StepBatches:
    """Batch sampler whose batch for step s depends only on (seed, rank, s): uniform over all
    windows, and a resumed run draws exactly the batches an uninterrupted one would."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int, steps: int, rank: int = 0) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_step, self.steps, self.rank = start_step, steps, rank

    def __len__(self) -> int:
        return max(self.steps - self.start_step, 0)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.steps):
            rng = np.random.default_rng([self.seed, self.rank, step])
            yield rng.integers(0, self.n, size=self.batch_size).tolist()


def split_episodes(ids: Sequence[Any], heldout_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Positions of training and held-out episodes (at least one of each when possible)."""
    n = len(ids)
    order = np.random.default_rng(seed).permutation(n).tolist()
    k = int(round(n * heldout_fraction))
    if heldout_fraction > 0 and n >= 2:
        k = min(max(k, 1), n - 1)
    held = sorted(order[:k])
    train = sorted(order[k:])
    return train, held
