"""The episode format: parquet shards of recorded play, plus a ``manifest.json``.

An episode folder (``<run>/agent/episodes``, ``<run>/collect/episodes``) holds::

    manifest.json                 action names, no-op id, frame shape, one entry per shard
    shard-w00-00000.parquet       one or more complete episodes, rows in step order
    ...

Each row of a shard is one step of one episode:

=============  ===================  ==================================================
column         type                 meaning
=============  ===================  ==================================================
episode_id     int64                unique within the folder
step           int32                0, 1, ... within the episode
frame          struct{bytes,path}   frame ``t`` as PNG bytes (a ``datasets`` Image)
action         int64                action id taken after seeing frame ``t``
reward         float32              reward received for that action
done           bool                 true on the episode's last row only
objects        list<int16>          optional: the game's object boxes on frame ``t``,
                                    ``x0, y0, x1, y1`` (end-exclusive pixels) per object
=============  ===================  ==================================================

**Alignment.** ``action[t]`` is chosen after seeing ``frame[t]`` and leads to
``frame[t+1]``; ``reward[t]`` is what that action earned. The last row of an episode
(``done``) holds the action that ended it (the game terminated or the step budget ran
out): its resulting frame is not recorded, because a finished ViZDoom game has no screen
to show. So every recorded action is a real one, and a window ``frames[t-k:t+1],
actions[t-k:t]`` never needs padding inside an episode.

Action names, the no-op id and the frame shape are in the manifest and in each shard's
parquet key-value metadata (key ``almost``), so a single shard describes itself. The
``huggingface`` metadata key declares ``frame`` as an ``Image`` feature, so
``datasets.load_dataset("parquet", data_files=...)`` decodes frames to PIL images.

Shards are written atomically (temp file, fsync, rename) and never rewritten; the manifest
can always be rebuilt from the shards (:func:`rebuild_manifest`). A corrupt or truncated
shard raises a :class:`~almost.errors.UserError` naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from almost.errors import UserError
from almost.io import atomic_path, atomic_write_json, read_json

from .png import decode_png, encode_png  # noqa: F401  (re-exported: the format's frame codec)

MANIFEST = "manifest.json"
FORMAT = "almost-gamengen-episodes/1"
_META_KEY = b"almost"
_HF_FEATURES = {
    "episode_id": {"dtype": "int64", "_type": "Value"},
    "step": {"dtype": "int32", "_type": "Value"},
    "frame": {"_type": "Image"},
    "action": {"dtype": "int64", "_type": "Value"},
    "reward": {"dtype": "float32", "_type": "Value"},
    "done": {"dtype": "bool", "_type": "Value"},
}


@attrs.define(eq=False)
class Episode:
    """One recorded episode; ``actions[t]`` is taken after ``frames[t]`` (see module doc)."""

    episode_id: int
    frames: np.ndarray  # (T, H, W, 3) uint8
    actions: np.ndarray  # (T,) int64
    rewards: np.ndarray  # (T,) float32
    dones: np.ndarray  # (T,) bool, True on the last step only
    # optional: per frame, the game's object boxes (n, 4) int16 x0, y0, x1, y1 (ViZDoom labels)
    objects: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.actions)

    @classmethod
    def build(cls, episode_id: int, frames, actions, rewards=None, dones=None, objects=None) -> Episode:
        """Make an episode from lists/arrays; ``dones`` defaults to the last step only."""
        frames = np.asarray(frames, dtype=np.uint8)
        actions = np.asarray(actions, dtype=np.int64)
        t = len(actions)
        rewards = np.zeros(t, np.float32) if rewards is None else np.asarray(rewards, np.float32)
        if dones is None:
            dones = np.zeros(t, bool)
            if t:
                dones[-1] = True
        if objects is not None:
            objects = [np.asarray(b, np.int16).reshape(-1, 4) for b in objects]
        return cls(int(episode_id), frames, actions, rewards, np.asarray(dones, bool), objects)

    def check(self) -> None:
        t = len(self.actions)
        if t == 0:
            raise ValueError(f"episode {self.episode_id} has no steps")
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(
                f"episode {self.episode_id}: frames must be (T, H, W, 3) uint8, "
                f"not {self.frames.shape} {self.frames.dtype}"
            )
        for name in ("frames", "rewards", "dones") + (("objects",) if self.objects is not None else ()):
            if len(getattr(self, name)) != t:
                raise ValueError(
                    f"episode {self.episode_id}: {len(getattr(self, name))} {name} for {t} actions"
                )


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def _shard_meta(
    action_names: Sequence[str], noop_action: int, frame_shape: Sequence[int], extra: dict | None
) -> dict:
    return {
        "format": FORMAT,
        "action_names": list(action_names),
        "noop_action": int(noop_action),
        "frame_shape": [int(x) for x in frame_shape],
        **(extra or {}),
    }


@attrs.define
class EncodedEpisode:
    """An episode whose frames are already PNG bytes (what recorders keep in memory)."""

    episode_id: int
    pngs: list[bytes]
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    frame_shape: tuple[int, int, int]
    objects: list[np.ndarray] | None = None  # optional object boxes per frame (see Episode)

    @classmethod
    def from_episode(cls, ep: Episode, compress_level: int = 1) -> EncodedEpisode:
        ep.check()
        return cls(
            ep.episode_id,
            [encode_png(f, compress_level) for f in ep.frames],
            ep.actions,
            ep.rewards,
            ep.dones,
            tuple(int(x) for x in ep.frames.shape[1:]),
            ep.objects,
        )

    def __len__(self) -> int:
        return len(self.actions)


def write_shard(
    path: Path,
    episodes: Sequence[EncodedEpisode],
    action_names: Sequence[str],
    noop_action: int,
    metadata: dict | None = None,
) -> dict:
    """Write complete ``episodes`` to one parquet file atomically; returns its manifest entry."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not episodes:
        raise ValueError("a shard needs at least one episode")
    n = len(action_names)
    shape = tuple(episodes[0].frame_shape)
    with_objects = all(e.objects is not None for e in episodes)  # optional column: all or none
    boxes: list[list[int]] = []
    cols: dict[str, list] = {
        k: [] for k in ("episode_id", "step", "png", "action", "reward", "done")
    }
    for ep in episodes:
        t = len(ep)
        if tuple(ep.frame_shape) != shape:
            raise ValueError(
                f"episode {ep.episode_id} frames {ep.frame_shape} != {shape} in one shard"
            )
        if t == 0 or not len(ep.pngs) == len(ep.rewards) == len(ep.dones) == t:
            raise ValueError(f"episode {ep.episode_id} has mismatched or empty columns")
        if ep.actions.min() < 0 or ep.actions.max() >= n:
            raise ValueError(f"episode {ep.episode_id} has actions outside 0..{n - 1}")
        cols["episode_id"].append(np.full(t, ep.episode_id, np.int64))
        cols["step"].append(np.arange(t, dtype=np.int32))
        cols["png"].extend(ep.pngs)
        cols["action"].append(np.asarray(ep.actions, np.int64))
        cols["reward"].append(np.asarray(ep.rewards, np.float32))
        cols["done"].append(np.asarray(ep.dones, bool))
        if with_objects:
            if len(ep.objects) != t:
                raise ValueError(f"episode {ep.episode_id} has {len(ep.objects)} object lists for {t} frames")
            boxes.extend(np.asarray(b, np.int16).reshape(-1).tolist() for b in ep.objects)
    frame = pa.StructArray.from_arrays(
        [pa.array(cols["png"], pa.binary()), pa.nulls(len(cols["png"]), pa.string())],
        names=["bytes", "path"],
    )
    table = pa.table(
        {
            "episode_id": pa.array(np.concatenate(cols["episode_id"])),
            "step": pa.array(np.concatenate(cols["step"])),
            "frame": frame,
            "action": pa.array(np.concatenate(cols["action"])),
            "reward": pa.array(np.concatenate(cols["reward"])),
            "done": pa.array(np.concatenate(cols["done"])),
            **({"objects": pa.array(boxes, pa.list_(pa.int16()))} if with_objects else {}),
        }
    )
    meta = _shard_meta(action_names, noop_action, shape, metadata)
    table = table.replace_schema_metadata(
        {
            _META_KEY: json.dumps(meta).encode(),
            b"huggingface": json.dumps({"info": {"features": {**_HF_FEATURES, **(
                {"objects": {"feature": {"dtype": "int16", "_type": "Value"}, "_type": "Sequence"}}
                if with_objects else {})}}}).encode(),
        }
    )
    with atomic_path(path, suffix=".parquet.tmp") as tmp:
        pq.write_table(table, tmp, compression="none")  # PNG bytes do not compress further
    return {
        "file": path.name,
        "episodes": [int(e.episode_id) for e in episodes],
        "frames": int(sum(len(e) for e in episodes)),
        "returns": [round(float(np.sum(e.rewards)), 4) for e in episodes],
    }


class EpisodeWriter:
    """Writes episodes as shards into ``root`` and keeps ``manifest.json`` up to date.

    Several writers (one per process) may share a folder when each has its own ``prefix``
    and ``update_manifest=False``; the parent then calls :func:`rebuild_manifest`.
    ``episodes_per_shard=1`` (the default) puts each finished episode on disk at once, so a
    crash loses only the episode being played; ``shard_frames=N`` instead gathers episodes
    until a shard holds N frames (fewer files and fsyncs for short episodes; ``close()``
    writes what is gathered).
    """

    def __init__(
        self,
        root: str | Path,
        action_names: Sequence[str],
        noop_action: int,
        prefix: str = "shard",
        episodes_per_shard: int = 1,
        metadata: dict | None = None,
        update_manifest: bool = True,
        compress_level: int = 1,
        shard_frames: int = 0,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.action_names, self.noop_action = list(action_names), int(noop_action)
        self.prefix, self.episodes_per_shard = prefix, max(1, int(episodes_per_shard))
        self.metadata, self.compress_level = metadata, compress_level
        self.shard_frames = int(shard_frames)
        self._manifest = rebuild_manifest(self.root) if update_manifest else None
        self._buffer: list[EncodedEpisode] = []
        existing = [p.stem.rsplit("-", 1)[-1] for p in self.root.glob(f"{prefix}-*.parquet")]
        self._seq = 1 + max((int(s) for s in existing if s.isdigit()), default=-1)
        self.written: list[dict] = []

    def add(self, episode: Episode | EncodedEpisode) -> None:
        """Queue a complete episode; a shard is written once ``episodes_per_shard`` are queued."""
        if isinstance(episode, Episode):
            episode = EncodedEpisode.from_episode(episode, self.compress_level)
        self._buffer.append(episode)
        if self.shard_frames > 0:
            if sum(len(e) for e in self._buffer) >= self.shard_frames:
                self.flush()
        elif len(self._buffer) >= self.episodes_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        path = self.root / f"{self.prefix}-{self._seq:05d}.parquet"
        entry = write_shard(path, self._buffer, self.action_names, self.noop_action, self.metadata)
        self._seq += 1
        self.written.append(entry)
        if self._manifest is not None:  # append, rather than re-scan every shard
            m = self._manifest
            m.update(
                _shard_meta(
                    self.action_names, self.noop_action, self._buffer[0].frame_shape, self.metadata
                )
            )
            m["shards"].append(entry)
            m["episodes"] = sum(len(s["episodes"]) for s in m["shards"])
            m["frames"] = sum(s["frames"] for s in m["shards"])
            atomic_write_json(self.root / MANIFEST, m)
        self._buffer = []

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()


def write_episodes(
    root: str | Path,
    episodes: Iterable[Episode],
    action_names: Sequence[str],
    noop_action: int,
    episodes_per_shard: int = 4,
    metadata: dict | None = None,
) -> Path:
    """Write ``episodes`` to ``root`` (shards + manifest); handy for tests and converters."""
    with EpisodeWriter(
        root,
        action_names,
        noop_action,
        episodes_per_shard=episodes_per_shard,
        metadata=metadata,
        update_manifest=False,
    ) as w:
        for ep in episodes:
            w.add(ep)
    rebuild_manifest(root)
    return Path(root)


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
def _corrupt(path: Path, e: Exception) -> UserError:
    why = str(e).splitlines()[0] if str(e) else type(e).__name__
    if str(path) in why and ": " in why:
        why = why.split(": ", 1)[1]
    why = why.split(". ")[0].rstrip(".")
    return UserError(
        f"episode shard {path} is corrupt or truncated ({why}); "
        "delete it and run the stage again to re-record its episodes"
    )


def _read_table(path: Path, columns: list[str] | None = None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise UserError(
            f"episode shard {path} is missing; run `almost run ... collect` again "
            "or delete manifest.json to rebuild it"
        ) from None
    except (pa.ArrowException, OSError) as e:
        raise _corrupt(path, e) from None


def _shard_info(path: Path) -> tuple[dict, dict]:
    """(shard metadata, manifest entry) from a shard's footer and its id/step/reward columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        raw = (pf.schema_arrow.metadata or {}).get(_META_KEY)
        t = pf.read(columns=["episode_id", "reward"])
    except (pa.ArrowException, OSError) as e:
        raise _corrupt(path, e) from None
    if raw is None:
        raise UserError(
            f"{path} is not an episode shard (no 'almost' metadata); remove it from {path.parent}"
        )
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise UserError(f"{path} is not an episode shard (its 'almost' metadata is not a JSON object); "
                        f"remove it from {path.parent}")
    ids = t.column("episode_id").to_numpy()
    rewards = t.column("reward").to_numpy()
    order = list(dict.fromkeys(ids.tolist()))
    returns = [round(float(rewards[ids == i].sum()), 4) for i in order]
    return meta, {"file": path.name, "episodes": order, "frames": int(len(ids)), "returns": returns}


def rebuild_manifest(root: str | Path, extra: dict | None = None) -> dict:
    """Scan ``root``'s shards and write ``manifest.json``; returns it."""
    root = Path(root)
    shards, meta = [], None
    for p in sorted(root.glob("*.parquet")):
        m, entry = _shard_info(p)
        if meta is None:
            meta = m
        elif m["action_names"] != meta["action_names"] or m["frame_shape"] != meta["frame_shape"]:
            raise UserError(
                f"episode shard {p} has different actions or frame shape than the others "
                f"in {root}; keep one game per folder"
            )
        shards.append(entry)
    try:  # keep what earlier writers added (env, policy, ...); the shards are the truth
        old = read_json(root / MANIFEST, "episode manifest") if (root / MANIFEST).exists() else {}
    except UserError:
        old = {}
    manifest = {
        **{k: v for k, v in old.items() if k not in ("shards",)},
        **(meta or {}),
        **(extra or {}),
    }
    manifest["format"] = FORMAT
    manifest["episodes"] = sum(len(s["episodes"]) for s in shards)
    manifest["frames"] = sum(s["frames"] for s in shards)
    manifest["shards"] = shards
    atomic_write_json(root / MANIFEST, manifest)
    return manifest


class EpisodeStore:
    """Reads an episode folder: ``store.load(episode_id) -> Episode``.

    Also an Almost ``Dataset`` (``root``, ``schema()``, ``len``, ``store[i]``), registered
    as ``dataset/gamengen-episodes`` (``registry.create("dataset/gamengen-episodes", root=...)``).

    ``action_names``, ``noop_action`` and ``frame_shape`` (H, W, 3) come from the manifest.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(
                f"episode folder {self.root} does not exist; run the agent or collect stage first"
            )
        mpath = self.root / MANIFEST
        manifest = (
            read_json(mpath, "episode manifest", "delete it to rebuild it from the shards", expect=dict)
            if mpath.exists() else rebuild_manifest(self.root)
        )
        try:
            self.action_names: list[str] = list(manifest["action_names"])
            self.noop_action: int = int(manifest["noop_action"])
            self.frame_shape: tuple[int, int, int] = tuple(int(x) for x in manifest["frame_shape"])
            shards = manifest["shards"]
        except (KeyError, TypeError, ValueError):
            if not manifest.get("shards", True):
                raise UserError(
                    f"episode folder {self.root} holds no episodes; run the agent or "
                    "collect stage first"
                ) from None
            raise UserError(
                f"episode manifest {mpath} lacks action_names/noop_action/frame_shape/shards; "
                "delete it to rebuild it from the shards"
            ) from None
        from almost.io import check_fields

        if not isinstance(shards, list):
            raise UserError(f"episode manifest {mpath} has 'shards' that is not a list; delete it to rebuild it "
                            "from the shards")
        for i, s in enumerate(shards):
            check_fields(s, mpath, "episode manifest", {"file": "str", "episodes": "list", "frames": "count"},
                         "delete it to rebuild it from the shards", entry=f"shard {i + 1}")
            if not all(isinstance(e, int) and not isinstance(e, bool) for e in s["episodes"]):
                raise UserError(f"episode manifest {mpath}, shard {i + 1}, lists an episode id that is not a whole "
                                "number; delete it to rebuild it from the shards")
        self.manifest = manifest
        self._where: dict[int, str] = {}
        self._lengths: dict[int, int] = {}
        for s in shards:
            for eid in s["episodes"]:
                self._where[int(eid)] = s["file"]
        self._frames = int(sum(s["frames"] for s in shards))
        self._cache: tuple[str, Any] | None = None

    def episode_ids(self) -> list[int]:
        return sorted(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def num_frames(self) -> int:
        return self._frames

    def schema(self) -> dict:
        return {
            "frame": {"dtype": "uint8", "shape": list(self.frame_shape), "encoding": "png"},
            "action": {"dtype": "int64", "names": self.action_names, "noop": self.noop_action},
            "reward": {"dtype": "float32"},
            "done": {"dtype": "bool"},
            "episodes": len(self),
            "frames": self.num_frames(),
        }

    def _table(self, file: str):
        if self._cache is None or self._cache[0] != file:
            self._cache = (file, _read_table(self.root / file))
        return self._cache[1]

    def load(self, episode_id: int) -> Episode:
        """Decode one episode's frames and columns (rows sorted by step)."""
        import pyarrow.compute as pc

        try:
            file = self._where[int(episode_id)]
        except KeyError:
            raise UserError(
                f"episode {episode_id} is not in {self.root} (it holds {len(self)} episodes)"
            ) from None
        table = self._table(file)
        rows = table.filter(pc.equal(table.column("episode_id"), int(episode_id)))
        steps = rows.column("step").to_numpy()
        order = np.argsort(steps, kind="stable")
        if len(steps) == 0 or not np.array_equal(steps[order], np.arange(len(steps))):
            raise UserError(
                f"episode shard {self.root / file} has missing steps in episode {episode_id}; "
                "delete the shard and record it again"
            )
        pngs = rows.column("frame").combine_chunks().field("bytes").to_pylist()
        try:
            frames = np.stack([decode_png(pngs[i]) for i in order])
        except Exception as e:
            raise UserError(
                f"episode shard {self.root / file} holds an undecodable frame in episode "
                f"{episode_id} ({type(e).__name__}); delete it and record it again"
            ) from None
        if frames.shape[1:] != self.frame_shape:
            raise UserError(
                f"episode shard {self.root / file} has frames {frames.shape[1:]} but the "
                f"manifest declares {self.frame_shape}; delete manifest.json to rebuild it"
            )
        return Episode(
            episode_id=int(episode_id),
            frames=frames,
            actions=rows.column("action").to_numpy()[order].astype(np.int64),
            rewards=rows.column("reward").to_numpy()[order].astype(np.float32),
            dones=rows.column("done").to_numpy(zero_copy_only=False)[order].astype(bool),
            objects=_objects(rows, order),
        )

    def __getitem__(self, index: int) -> Episode:
        """The ``index``-th episode in id order (the Dataset protocol's view)."""
        return self.load(self.episode_ids()[index])

    def __iter__(self):
        for eid in self.episode_ids():
            yield self.load(eid)


def _objects(rows, order) -> list[np.ndarray] | None:
    """The optional ``objects`` column as one (n, 4) int16 array per frame, in step order."""
    if "objects" not in rows.column_names:
        return None
    col = rows.column("objects").to_pylist()
    return [np.asarray(col[i] or [], np.int16).reshape(-1, 4) for i in order]


def find_episode_dirs(run_dir: str | Path) -> list[Path]:
    """The episode folders the ``agent`` and ``collect`` stages wrote in ``run_dir``."""
    run_dir = Path(run_dir)
    out = []
    for stage in ("agent", "collect"):
        d = run_dir / stage / "episodes"
        if d.is_dir() and any(d.glob("*.parquet")):
            out.append(d)
    return out
