"""What a stage gets: :class:`RunContext`, its config, folders, registry and the run's records."""

from __future__ import annotations

import contextlib
import math
import shlex
from pathlib import Path
from typing import Any

import attrs

from ..errors import NonFiniteError, UserError
from ..observe.console import console
from .guards import is_main_process
from .rundir import RunDir, read_manifest
from .stage import Pipeline


@attrs.define
class RunContext:
    """What a stage gets: the config, its folders, the registry and the run's records."""

    pipeline: Pipeline
    config: Any
    run_dir: Path
    profile: str
    registry: Any
    round: int = 1
    force: bool = False
    stage_name: str = ""
    out: str | None = None  # the user's --out, kept in the hints this run prints
    track: Any = None  # the core [track] section (almost.observe.tracking.TrackConfig): trackers to send to
    _accelerator: Any = None
    _steplog: Any = None
    _accelerator_key: Any = None

    @property
    def rundir(self) -> RunDir:
        """The run directory's records (:class:`almost.runs.RunDir`)."""
        return RunDir(self.run_dir, [s.name for s in self.pipeline.stages], rounds=self.pipeline.rounds)

    # -- folders ------------------------------------------------------------------------
    def round_dir(self, round: int | None = None) -> Path:
        if not self.pipeline.rounds:
            return self.run_dir
        return self.run_dir / f"round-{(round or self.round):03d}"

    def stage_dir(self, name: str | None = None, round: int | None = None) -> Path:
        """The folder of stage ``name`` (default: the running stage), created on demand."""
        d = self.round_dir(round) / (name or self.stage_name)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def previous_stage_dir(self, name: str) -> Path | None:
        """The folder of stage ``name`` in the latest earlier round that finished it."""
        manifest = read_manifest(self.run_dir)
        for r in sorted((h["round"] for h in manifest.get("history", [])), reverse=True):
            if r < self.round:
                d = self.round_dir(r) / name
                if d.is_dir():
                    return d
        return None

    def find_stage_dir(self, name: str) -> Path:
        """Folder of an earlier stage's output; a clear error if that stage has not run."""
        d = self.round_dir() / name
        if not d.is_dir():
            raise UserError(f"stage {name!r} has not run in {self.run_dir}; run `{self.command(name)}` first")
        return d

    def command(self, *stages: str, force: bool = False) -> str:
        """The ``almost run`` command for ``stages`` of this run, keeping the user's --out and
        --profile: use it in hints (``f"run `{ctx.command('encode')}` first"``)."""
        parts = ["almost run --plugin", self.pipeline.name, *stages]
        if self.profile != self.pipeline.default_profile:
            parts.append(f"--profile {self.profile}")
        if self.out is not None:
            parts.append(f"--out {shlex.quote(str(self.out))}")
        if force:
            parts.append("--force")
        return " ".join(parts)

    # -- health -------------------------------------------------------------------------
    def check_finite(self, value: Any, step: int | None = None, what: str = "loss") -> float:
        """Stop the stage with one sentence if ``value`` (a number or tensor) is NaN or infinite.

        Call it where you log (every N steps), not every step: on a GPU it waits for the
        device. The last good checkpoint is left as it is. Returns ``value`` as a float (for a
        tensor of several values: their mean)."""
        if hasattr(value, "detach"):
            t = value.detach()
            bad = not bool(t.isfinite().all())
            v = float(t.float().mean()) if t.numel() else 0.0
            if bad and math.isfinite(v):
                v = float("nan")
        else:
            v = float(value)
            bad = not math.isfinite(v)
        if bad:
            where = f" at step {step}" if step is not None else ""
            stage = self.stage_name or "training"
            from ..train.checkpoint import latest_in

            last = latest_in(self.round_dir() / stage) if self.stage_name else None
            kept = f"the last good checkpoint {last.name} is kept" if last else "no checkpoint was saved"
            raise NonFiniteError(
                f"{stage}: {what} became {v}{where}; {kept}; lower the "
                "learning rate or check the data, then re-run with --force " + stage,
                stage=stage, step=step, value=v,
            )
        return v

    # -- records ------------------------------------------------------------------------
    def log_metrics(self, stage: str | None = None, /, **values: float) -> None:
        """Merge ``values`` into the metrics of ``stage`` (default: the running one).

        Numbers are stored as floats; NaN or infinity as ``null`` (the files stay strict JSON).
        They are kept in the stage's folder (so a resumed stage gets its earlier metrics back)
        and shown in the run's ``metrics.json``."""
        if not is_main_process():
            return
        name = stage or self.stage_name
        clean: dict[str, Any] = {}
        for k, v in values.items():
            if hasattr(v, "item") and getattr(v, "ndim", 0) == 0:
                v = v.item()  # a 0-d tensor or numpy scalar
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = float(v)
                if not math.isfinite(v):
                    console.print(f"[yellow]{name}: metric {k} is {v}; recorded as null[/]")
                    v = None
            clean[k] = v
        self.rundir.log_metrics(self.round_dir(), name, clean)

    def add_artifact(self, path: str | Path, label: str | None = None) -> None:
        """Record a file this stage produced (listed in the manifest and the summary)."""
        if not is_main_process():
            return
        with self.rundir.edit() as manifest:
            rec = manifest.setdefault("stages", {}).setdefault(self.stage_name, {})
            arts = rec.setdefault("artifacts", {})
            p = Path(path)
            try:
                rel = str(p.relative_to(self.run_dir))
            except ValueError:
                rel = str(p)
            arts[label or p.name] = rel
        if p.suffix.lower() in (".png", ".gif") and p.is_file():  # pictures: in the history, to trackers
            self._stage_log().log_media(None, {label or p.stem: p})

    # -- step history and trackers (almost.observe.history, almost.observe.tracking) ------
    def log_step(self, step: int, **values: Any) -> None:
        """Record ``values`` (``loss=..., lr=...``) at training ``step``: appended to the stage's
        ``history.jsonl`` (each step once, through kill -9 and resume) and sent to the trackers
        of ``track.with``. Call it where the stage already logs, with numbers already on the
        host (``loss.item()`` the progress bar shows): it adds no device sync of its own."""
        if is_main_process():
            self._stage_log().log(step, values)

    def log_media(self, step: int | None, **paths: str | Path) -> None:
        """Record pictures/GIFs this stage wrote (``rollout=path``) at ``step`` (``None``: the
        latest step logged): listed in the history, embedded by ``almost report``, sent to
        trackers that show media. A PNG/GIF given to :meth:`add_artifact` is recorded too."""
        if is_main_process():
            self._stage_log().log_media(step, paths)

    @property
    def history(self):
        """The running stage's :class:`almost.observe.history.History`; ``ctx.history.resume(step)``
        drops what a killed run logged after the checkpoint being resumed."""
        return self._stage_log().history

    def _stage_log(self):
        from ..observe.history import StageLog

        if self._steplog is None or self._steplog.folder != self.round_dir() / self.stage_name:
            self.close_logs()
            self._steplog = StageLog.for_context(self)
        return self._steplog

    def flush_logs(self) -> None:
        """Write out the step history and the trackers' queued events (TensorBoard's) up to now.
        :class:`almost.train.checkpoint.Checkpoints` calls it before a checkpoint counts; a stage
        that writes its own checkpoints calls it just before committing one, so a kill after the
        checkpoint loses no step that the resumed stage will not log again."""
        if self._steplog is not None:
            self._steplog.flush()

    def close_logs(self) -> None:
        """Close the stage's history file and finish its tracker runs (at the stage's end)."""
        if self._steplog is not None:
            self._steplog.close()
            self._steplog = None

    @contextlib.contextmanager
    def stage_logs(self):
        try:
            yield
        finally:
            self.close_logs()

    def accelerator(self, **kwargs):
        """The stage's ``accelerate.Accelerator`` (see :func:`almost.train.checkpoint.make_accelerator`).

        Within a stage, calls with the same arguments share one; a new stage (or new
        arguments) gets a fresh one with its own mixed precision and gradient accumulation
        (accelerate's state is a singleton, so it is reset; the process group is kept)."""
        key = (self.stage_name, tuple(sorted(kwargs.items())))
        if self._accelerator is None or self._accelerator_key != key:
            from accelerate.state import AcceleratorState

            from ..train.checkpoint import make_accelerator

            AcceleratorState._reset_state(reset_partial_state=False)
            self._accelerator = make_accelerator(**kwargs)
            self._accelerator_key = key
        return self._accelerator

    def component(self, key: str, kind: str | None = None, **kwargs) -> Any:
        """Build a registered component: ``ctx.component("reward/jpeg")``."""
        return self.registry.create(key, kind, **kwargs)
