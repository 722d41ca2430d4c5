"""Experiment trackers through accelerate's own tracker classes: ``--set track.with=...``.

Every pipeline accepts a core ``[track]`` section besides its own config::

    almost run --plugin mine --set track.with=tensorboard          # runs/.../tensorboard/
    almost run --plugin mine --set track.with=tensorboard,wandb --set track.project=mine

``track.with`` names any of accelerate's trackers (``accelerate.tracking.LOGGER_TYPE_TO_CLASS``:
tensorboard, wandb, mlflow, trackio, comet_ml, aim, clearml, dvclive, swanlab); each needs its
package (``pip install 'almost-core[tensorboard]'``, ``'almost-core[wandb]'``, or the tracker's
own package). The default is none: a run writes only its local files and sends nothing
anywhere. Whatever a stage logs with :meth:`~almost.RunContext.log_step` goes to its
``history.jsonl`` (always) and to these trackers, as ``<stage>/<name>`` at the stage's step;
pictures and GIFs logged with ``log_media`` go where the tracker shows media (TensorBoard's
images tab plays GIFs, wandb gets ``Image``/``Video``, mlflow artifacts).

Each stage is one tracker run (``<run>/<stage>``): stages count their own steps. A tracker that
cannot start (no login, no server) is reported once and left out; the history is still written.
A resumed stage's TensorBoard run hides the steps a killed run logged after its checkpoint
(``purge_step``); a kill -9 can lose a tracker's last queued values, never the history's.
The ``track`` section is not part of the training config: changing it never asks for --force.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..config import apply_mapping, apply_sets, field, help_of, load_toml, parse_set, to_dict
from ..errors import ConfigError, known_list

SECTION = "track"

#: tracker name -> (modules any of which makes it available, how to install it)
TRACKERS: dict[str, tuple[tuple[str, ...], str]] = {
    "tensorboard": (("tensorboardX", "tensorboard"), "pip install 'almost-core[tensorboard]'"),
    "wandb": (("wandb",), "pip install 'almost-core[wandb]'"),
    "mlflow": (("mlflow",), "pip install mlflow"),
    "trackio": (("trackio",), "pip install trackio"),
    "comet_ml": (("comet_ml",), "pip install comet_ml"),
    "aim": (("aim",), "pip install aim"),
    "clearml": (("clearml",), "pip install clearml"),
    "dvclive": (("dvclive",), "pip install dvclive"),
    "swanlab": (("swanlab",), "pip install swanlab"),
}

def _tracker_names(names: Any) -> tuple[str, ...]:
    """``track.with`` as given (``["TensorBoard", "none"]``) -> the trackers' names, once each."""
    names = [str(n).strip().lower() for n in names]
    return tuple(dict.fromkeys(n for n in names if n and n != "none"))


def _installed(inst: Any, attribute: attrs.Attribute, names: tuple[str, ...]) -> None:
    for n in names:
        if n not in TRACKERS:
            raise ConfigError(f"track.with names an unknown tracker {n!r}; trackers: {known_list(TRACKERS)}")
        if not _available(n):
            raise ConfigError(f"track.with names {n}, but its package is not installed; {TRACKERS[n][1]}")


@attrs.frozen
class TrackConfig:
    """The ``[track]`` section, read by :mod:`almost.config` like any config (``with`` is a Python
    keyword, so the field is ``trackers``, named ``with`` in TOML and ``--set``)."""

    trackers: tuple[str, ...] = field(
        (), key="with", converter=_tracker_names, validator=_installed,
        help="trackers to send step values and media to: " + ", ".join(TRACKERS) + " (none: local files only)")
    project: str = field("", help="project / experiment name for wandb, mlflow, trackio... (default: almost-PIPELINE)")
    media: bool = field(True, help="send pictures and GIFs too (where the tracker shows them)")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@attrs.frozen
class _CoreSections:
    """The sections every pipeline accepts besides its own config."""

    track: TrackConfig = attrs.field(factory=TrackConfig)


def is_track_key(key: str) -> bool:
    return key.split(".", 1)[0] == SECTION


def _available(name: str) -> bool:
    return importlib.util.find_spec("accelerate") is not None and any(
        importlib.util.find_spec(m) is not None for m in TRACKERS[name][0])


def resolve_track(config_file: str | os.PathLike | None = None, sets: Iterable[str] = ()) -> TrackConfig:
    """The ``[track]`` section from a config file's ``[track]`` table and ``--set track.*``."""
    core = _CoreSections()
    if config_file is not None:
        table = load_toml(config_file).get(SECTION)
        if table is not None:
            if not isinstance(table, Mapping):
                raise ConfigError("track in the config file must be a table: [track] with = [\"tensorboard\"]")
            core = apply_mapping(core, {SECTION: table})
    return apply_sets(core, [s for s in sets if is_track_key(parse_set(s)[0])]).track


def track_toml(track: TrackConfig) -> str:
    """The ``[track]`` section as TOML for ``almost config``: commented out when it is the
    default (so the output stays a valid --config file either way)."""
    import tomli_w

    body = tomli_w.dumps({SECTION: track.to_dict()})
    help_lines = [f"# track.{k}: {h}" for k, h in help_of(TrackConfig).items()]
    if track == TrackConfig():
        body = "".join(f"# {line}\n" if line else "#\n" for line in body.splitlines())
    return "\n# core section: experiment trackers (see the README, 'See a run')\n" + "\n".join(help_lines) + "\n" + body


# ---------------------------------------------------------------------------------------
# the trackers of one stage
# ---------------------------------------------------------------------------------------
def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG or GIF bytes, read from the header."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None


def _flat_config(cfg: Any) -> dict[str, Any]:
    from ..config import flat_items

    try:
        flat = flat_items(to_dict(cfg))
    except Exception:
        return {}
    return {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in flat.items()}


def _drain(writer: Any) -> None:
    """Flush a TensorBoard ``SummaryWriter`` with its queue drained. tensorboardX's ``flush()``
    flushes the file only: events still in its queue (its worker thread lags under load) would die
    with a killed process. Its worker is stopped (it writes everything queued before the stop
    signal, the queue being FIFO) and a new one started on the same file."""
    fw = writer._get_file_writer() if hasattr(writer, "_get_file_writer") else None
    efw = getattr(fw, "event_writer", None)
    worker = getattr(efw, "_worker", None)
    if worker is not None and type(efw).__module__.startswith("tensorboardX") and hasattr(worker, "stop"):
        worker.stop()
        efw._worker = type(worker)(efw._event_queue, efw._ev_writer, efw._flush_secs)
        efw._worker.start()
    writer.flush()


class StageTrackers:
    """The trackers of one stage, started on the first value logged (so TensorBoard can be
    told where a resumed stage picks up: ``purge_step`` hides the replayed steps)."""

    def __init__(self, track: TrackConfig, run_dir: Path, label: str, run_name: str, project: str,
                 config: Any = None) -> None:
        self.track = track
        self.run_dir = Path(run_dir)
        self.label = label  # "train", or "round-002/policy"
        self.run_name = run_name
        self.project = track.project or project
        self.config = config
        self._started = False
        self.trackers: list[Any] = []

    def _start(self, first_step: int | None) -> None:
        self._started = True
        import torch
        from accelerate import PartialState

        from .console import console

        # accelerate's trackers log through its logger, which needs the state; cpu= as
        # make_accelerator will ask (the state is a singleton)
        PartialState(cpu=not torch.cuda.is_available())

        for name in self.track.trackers:
            try:
                t = self._make(name, first_step)
                t.main_process_only = False  # only the main process logs (RunContext checks)
                t.start()
                if name != "tensorboard" and self.config is not None:
                    t.store_init_configuration(_flat_config(self.config))
                self.trackers.append(t)
            except Exception as e:  # a tracker that cannot start must not stop training
                msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                console.print(f"[yellow]track: {name} could not start for {self.label} ({msg}); "
                              f"its values are still in {self.label}/history.jsonl[/]")

    def _make(self, name: str, first_step: int | None):
        from accelerate.tracking import LOGGER_TYPE_TO_CLASS

        cls = LOGGER_TYPE_TO_CLASS[name]
        title = f"{self.run_name}/{self.label}"
        if name == "tensorboard":
            kw = {}
            if first_step is not None and (self.run_dir / "tensorboard" / self.label).is_dir():
                kw["purge_step"] = first_step  # a resumed stage: hide the steps logged after the checkpoint
            return cls(self.label, str(self.run_dir / "tensorboard"), **kw)
        if name == "wandb":
            return cls(self.project, name=title, group=self.run_name, dir=str(self.run_dir))
        if name == "trackio":
            return cls(self.project, name=title)
        if name == "mlflow":
            return cls(experiment_name=self.project, run_name=title)
        if name == "aim":
            return cls(title, logging_dir=str(self.run_dir))
        return cls(title)

    def log(self, step: int, values: Mapping[str, Any], first_step: int | None = None) -> None:
        if not self._started:
            self._start(first_step)
        nums = {f"{self.label}/{k}": v for k, v in values.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
        if not nums:
            return
        for t in self.trackers:
            self._safe(t, "log", lambda t=t: self._log_one(t, step, nums))

    def _log_one(self, t, step: int, nums: dict[str, Any]) -> None:
        if t.name in ("wandb", "trackio"):  # their step must only grow within a run: keep ours as a value
            t.log({**nums, f"{self.label}/step": step})
        else:
            t.log(nums, step=step)

    def log_media(self, step: int, items: Mapping[str, Path], first_step: int | None = None) -> None:
        if not self.track.media or not self.track.trackers:
            return
        if not self._started:
            self._start(first_step)
        for t in self.trackers:
            for name, path in items.items():
                self._safe(t, "media", lambda t=t, name=name, path=path: self._media_one(t, step, name, Path(path)))

    def _media_one(self, t, step: int, name: str, path: Path) -> None:
        tag = f"{self.label}/{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_') or 'picture'}"
        if t.name == "tensorboard":
            data = path.read_bytes()
            size = _image_size(data)
            if size is None:
                return
            writer = t.writer
            if type(writer).__module__.startswith("tensorboardX"):
                from tensorboardX.proto.summary_pb2 import Summary
            else:
                from tensorboard.compat.proto.summary_pb2 import Summary
            # encoded as it is on disk: TensorBoard's images tab plays an animated GIF
            img = Summary.Image(height=size[1], width=size[0], colorspace=4, encoded_image_string=data)
            writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=img)]), step)
            writer.flush()
        elif t.name == "wandb":
            import wandb

            obj = wandb.Video(str(path), format="gif") if path.suffix.lower() == ".gif" else wandb.Image(str(path))
            t.log({tag: obj, f"{self.label}/step": step})
        elif t.name == "mlflow":
            import mlflow

            mlflow.log_artifact(str(path), artifact_path=f"media/{self.label}")

    def _safe(self, t, what: str, fn) -> None:
        try:
            fn()
        except Exception as e:  # one tracker's hiccup must not stop training
            from .console import console

            console.print(f"[yellow]track: {t.name} failed to {what} for {self.label} ({type(e).__name__}: {e}); "
                          "it is left out for the rest of this stage[/]")
            if t in self.trackers:
                self.trackers.remove(t)

    def flush(self) -> None:
        """Everything logged so far written out (TensorBoard's queue drained to its file): called
        before a checkpoint counts, so a kill after it loses no step that resume will not log again."""
        for t in list(self.trackers):
            writer = getattr(t, "writer", None)
            if writer is not None and hasattr(writer, "flush"):
                self._safe(t, "flush", lambda w=writer: _drain(w))

    def finish(self) -> None:
        for t in self.trackers:
            try:
                t.finish()
            except Exception:
                pass
        self.trackers = []
