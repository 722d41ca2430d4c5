"""Human ratings: an append-only JSON-lines log, and the seed's ``scores.json``.

Every rating is one line appended (and fsynced) to ``ratings.jsonl`` the moment it is made:
``{"kind": "score", "image": "x.png", "score": 3, "annotator": "me", "time": ...}`` or
``{"kind": "pair", "left": ..., "right": ..., "winner": "left"|"right"|"tie", ...}`` or
``{"kind": "skip", "image": ...}``. The latest absolute score per image wins. A crash or a
closed tab loses nothing already rated. ``scores.json`` (the seed's format) is a flat object
``{image file name: integer score in -5..5}``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from almost.errors import UserError
from almost.io import atomic_write_json, read_json

SCORE_MIN, SCORE_MAX = -5, 5


class RatingLog:
    """Append-only ratings file; safe to call from the web server's threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        """A crash mid-append leaves a last line without its newline: cut it before appending."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                os.fsync(f.fileno())

    def append(self, record: dict) -> dict:
        record = {**record, "time": record.get("time", time.time())}
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return record

    def records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                if i == len(lines):  # a torn last line from a crash: ignore it
                    continue
                raise UserError(f"ratings file {self.path} line {i} is not JSON; fix or remove that line") from None
        return out

    def scores(self) -> dict[str, int]:
        """Latest absolute score per image (skips do not erase a score)."""
        out: dict[str, int] = {}
        for r in self.records():
            if r.get("kind") == "score":
                out[r["image"]] = int(r["score"])
        return out

    def pairs(self) -> list[tuple[str, str, str]]:
        return [(r["left"], r["right"], r["winner"]) for r in self.records() if r.get("kind") == "pair"]

    def rated(self) -> set[str]:
        done = set()
        for r in self.records():
            if r.get("kind") in ("score", "skip"):
                done.add(r["image"])
            elif r.get("kind") == "pair":
                done.update((r["left"], r["right"]))
        return done


def validate_score(image: str, score) -> int:
    """An integer in -5..5, or a UserError naming the image."""
    if isinstance(score, bool) or not isinstance(score, int | float) or int(score) != score:
        raise UserError(f"score of {image!r} must be an integer from {SCORE_MIN} to {SCORE_MAX}, not {score!r}")
    if not SCORE_MIN <= int(score) <= SCORE_MAX:
        raise UserError(f"score of {image!r} is {score}, outside {SCORE_MIN}..{SCORE_MAX}; fix it in the file")
    return int(score)


def read_scores_json(path: str | Path, known_images: set[str] | None = None) -> dict[str, int]:
    """Read and check a seed-format ``scores.json``; bad names or values are one-sentence UserErrors."""
    path = Path(path)
    data = read_json(path, "scores file")
    if not isinstance(data, dict):
        raise UserError(f"scores file {path} must be a JSON object of image file name → integer score")
    out = {}
    for name, score in data.items():
        out[name] = validate_score(name, score)
    if known_images is not None:
        unknown = sorted(set(out) - known_images)
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise UserError(
                f"scores file {path} names {len(unknown)} image(s) not in this round's samples ({shown}); "
                "remove them or import the file into the round that made them"
            )
    return out


def write_scores_json(path: str | Path, scores: dict[str, int]) -> Path:
    """Write the seed's format: a flat object, sorted by name."""
    return atomic_write_json(path, {k: int(v) for k, v in sorted(scores.items())})


def import_scores(log: RatingLog, scores: dict[str, int], annotator: str) -> int:
    now = time.time()
    for name, score in scores.items():
        log.append({"kind": "score", "image": name, "score": score, "annotator": annotator, "time": now,
                    "source": "import"})
    return len(scores)
