"""Human ratings: one append-only JSON-lines store per run, and the seed's ``scores.json``.

Every rating is one line appended (and fsynced) to the run's ``ratings.jsonl`` the moment it is
made; every round adds to the same file, so labels accumulate:
``{"kind": "score", "image": KEY, "file": "round-001/generate/images/00003.png", "score": 3,
"annotator": "me", "time": ..., "source": "web"}``, ``{"kind": "pair", "left": KEY, "right": KEY,
"winner": "left"|"right"|"tie", ...}``, ``{"kind": "skip", "image": KEY, ...}`` or the page's
``{"kind": "undo", "undoes": KIND, "undoes_time": T, ...}`` (:func:`drop_undone`). ``KEY`` is
the image's content hash (:func:`image_key`), so a rating follows the picture wherever its
file lives or whatever it is called (the seed app's ``100123.png`` is the same image as this
run's ``00003.png``). The latest absolute score per image wins.

* :class:`RatingLog` is the raw file (append, read back; a valid last line without its newline
  is kept, a torn last line is reported and set aside, never silently dropped);
* :class:`RatingView` is one folder of images seen through the log, by file name: what the
  scoring page and the ``score`` stage use (same methods as :class:`RatingLog`);
* :func:`merge_seed_scores` imports a seed-format ``scores.json`` (``{file name: integer -5..5}``)
  by content, reporting added / updated / skipped and every bad entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import attrs

from almost.errors import UserError
from almost.io import atomic_write_json, loads_strict, read_json, split_jsonl

SCORE_MIN, SCORE_MAX = -5, 5
RATINGS_FILE = "ratings.jsonl"


def _warn(msg: str) -> None:
    from almost.observe.console import console

    console.print(f"[yellow]{msg}[/]", soft_wrap=True)


def image_key(path: str | Path) -> str:
    """The content hash that identifies an image in the ratings store (16 hex digits of sha256)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class RatingLog:
    """Append-only ratings file; safe to call from the web server's threads.

    Reading keeps a valid final line that lacks its newline. A final line that is not JSON (a
    crash mid-append) is reported each time the file is read; opening the log moves it to
    ``ratings.jsonl.torn`` (with a note) so appends start on a clean line.
    """

    _cache: tuple[tuple, list[dict]] | None = None  # (file stat, parsed records)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._repair_tail()

    @property
    def torn_path(self) -> Path:
        return self.path.with_name(self.path.name + ".torn")

    def _repair_tail(self) -> None:
        """Make the file end with a newline: finish a valid last line, set a torn one aside."""
        if not self.path.is_file():
            return
        with open(self.path, "rb") as f:  # the usual case, a clean end, costs one byte of I/O
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
        data = self.path.read_bytes()
        line, tail = split_jsonl(data)[1] or (0, b"")  # no tail: only blanks after the last newline
        valid = not tail or _whole_record(tail)
        with open(self.path, "r+b") as f:
            if valid:  # a whole record whose newline never made it: keep it
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
            else:
                with open(self.torn_path, "ab") as t:
                    t.write(tail + b"\n")
                    os.fsync(t.fileno())
                f.truncate(len(data) - len(tail))
            os.fsync(f.fileno())
        if not valid:
            _warn(f"ratings file {self.path}: line {line} was cut off mid-write ({len(tail)} bytes); "
                  f"it is kept in {self.torn_path} and left out of the ratings")

    def append(self, record: dict) -> dict:
        record = {**record, "time": record.get("time", time.time())}
        line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return record

    def records(self) -> list[dict]:
        """The records as they stand (undone ones left out). The scoring page asks on every request,
        so the parsed file is kept until the file's size, mtime or inode changes."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._cache is not None and self._cache[0] == stamp:
            return list(self._cache[1])
        out = []
        torn = False
        try:
            data = self.path.read_bytes()
        except OSError as e:  # a folder where the file should be, no permission...
            raise UserError(f"ratings file {self.path} cannot be read ({e.strerror or e}); "
                            "it must be the run's ratings.jsonl file") from None
        lines, tail = split_jsonl(data)
        if tail is not None and _whole_record(tail[1]):  # a valid last line without its newline: kept
            lines, tail = [*lines, tail], None
        for i, raw in lines:
            try:
                rec = loads_strict(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
                what = "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else "not JSON"
                raise UserError(f"ratings file {self.path} line {i} is {what}; fix or remove that line") from None
            out.append(check_rating(rec, self.path, i))
        if tail is not None:  # the last line, without its newline: a write was cut off
            _warn(f"ratings file {self.path}: the last line ({tail[0]}) was cut off mid-write and is left out; "
                  "reopening the log sets it aside")
            torn = True  # not cached: reported on every read
        out = drop_undone(out)
        self._cache = None if torn else (stamp, out)
        return list(out)

    # -- the same questions RatingView answers, by whatever the records name images with ----
    def scores(self) -> dict[str, int]:
        """Latest absolute score per image (skips do not erase a score)."""
        return latest_scores(self.records())

    def pairs(self) -> list[tuple[str, str, str]]:
        return [(r["left"], r["right"], r["winner"]) for r in self.records() if r.get("kind") == "pair"]

    def rated(self) -> set[str]:
        return rated_of(self.records())


_RATING_FIELDS = {
    "score": {"image": "str", "score": "int"},
    "pair": {"left": "str", "right": "str", "winner": "str"},
    "skip": {"image": "str"},
    "undo": {"undoes": "str"},
}


def _whole_record(raw: bytes) -> bool:
    """Whether a last line without its newline is a whole record (kept) or a torn write (set aside)."""
    try:
        loads_strict(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def check_rating(rec, path: Path, line: int) -> dict:
    """One ratings record, checked: its kind known, the fields that kind needs present and typed,
    a score an integer in -5..5, a pair's winner left/right/tie. One sentence naming the line."""
    from almost.io import check_fields, describe

    fix = "fix or remove that line"
    entry = f"line {line}"
    if not isinstance(rec, dict):
        raise UserError(f"ratings file {path} line {line} is not a JSON object; {fix}")
    kind = rec.get("kind")
    if kind not in _RATING_FIELDS:
        raise UserError(f"ratings file {path} line {line} has kind {describe(kind)}, not one of "
                        f"{', '.join(_RATING_FIELDS)}; {fix}")
    check_fields(rec, path, "ratings file", {**_RATING_FIELDS[kind], "time": "number?", "file": "str?",
                                             "left_file": "str?", "right_file": "str?"}, fix, entry=entry)
    if kind == "score" and not SCORE_MIN <= rec["score"] <= SCORE_MAX:
        raise UserError(f"ratings file {path} line {line} has score {rec['score']}, outside "
                        f"{SCORE_MIN}..{SCORE_MAX}; {fix}")
    if kind == "pair" and rec["winner"] not in ("left", "right", "tie"):
        raise UserError(f"ratings file {path} line {line} has winner {describe(rec['winner'])}, not left, right "
                        f"or tie; {fix}")
    return rec


def drop_undone(records: list[dict]) -> list[dict]:
    """The records as they stand after undos: an ``{"kind": "undo", "undoes": KIND, "undoes_time": T,
    "image"|"left"+"right": ...}`` record (the scoring page's undo) removes the latest earlier record
    of that kind, time and images; the undo records themselves stay in the file, not in the answer."""
    if not any(r.get("kind") == "undo" for r in records):
        return records
    out: list[dict | None] = []
    latest: dict[tuple, int] = {}
    for r in records:
        if r.get("kind") == "undo":
            i = latest.pop((r.get("undoes"), r.get("image"), r.get("left"), r.get("right"), r.get("undoes_time")), None)
            if i is not None:
                out[i] = None
            continue
        latest[(r.get("kind"), r.get("image"), r.get("left"), r.get("right"), r.get("time"))] = len(out)
        out.append(r)
    return [r for r in out if r is not None]


def latest_scores(records) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        if r.get("kind") == "score":
            out[r["image"]] = int(r["score"])
    return out


def rated_of(records) -> set[str]:
    done = set()
    for r in records:
        if r.get("kind") in ("score", "skip"):
            done.add(r["image"])
        elif r.get("kind") == "pair":
            done.update((r["left"], r["right"]))
    return done


def run_log(run_dir: str | Path) -> RatingLog:
    """The ratings store of a run directory (every round appends to it)."""
    return RatingLog(Path(run_dir) / RATINGS_FILE)


class RatingView:
    """A folder of images seen through a :class:`RatingLog` whose records name images by content.

    Duck-compatible with :class:`RatingLog` for the scoring page: ``append`` takes records that
    name images by file name (``image``, ``left``, ``right``) and stores content keys plus the
    file's path relative to ``root``; ``scores``/``pairs``/``rated`` answer by file name, for
    this folder's images only (ratings of other rounds stay in the log, untouched).
    """

    def __init__(self, log: RatingLog, images_dir: str | Path, root: str | Path | None = None):
        self.log = log
        self.path = log.path
        self.images_dir = Path(images_dir)
        self.root = Path(root) if root is not None else self.images_dir
        self.key_of: dict[str, str] = {}
        for png in sorted(self.images_dir.glob("*.png")):
            self.key_of[png.name] = image_key(png)
        self.name_of = {k: n for n, k in self.key_of.items()}

    def file_of(self, name: str) -> str:
        p = (self.images_dir / name).resolve()
        try:
            return str(p.relative_to(self.root.resolve()))
        except ValueError:
            return str(p)

    def append(self, record: dict) -> dict:
        rec = dict(record)
        for field in ("image", "left", "right"):
            name = rec.get(field)
            if isinstance(name, str) and name in self.key_of:
                rec[field] = self.key_of[name]
                rec[f"{field}_file" if field != "image" else "file"] = self.file_of(name)
        stored = self.log.append(rec)
        return {**record, "time": stored["time"]}

    def _mine(self, key) -> str | None:
        return self.name_of.get(key)

    def records(self) -> list[dict]:
        return self.log.records()

    def scores(self) -> dict[str, int]:
        return {self.name_of[k]: v for k, v in latest_scores(self.log.records()).items() if k in self.name_of}

    def pairs(self) -> list[tuple[str, str, str]]:
        return [(self.name_of[a], self.name_of[b], w) for a, b, w in self.log.pairs()
                if a in self.name_of and b in self.name_of]

    def rated(self) -> set[str]:
        return {self.name_of[k] for k in rated_of(self.log.records()) if k in self.name_of}


# -- the seed's scores.json ---------------------------------------------------------------
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
        raise UserError(f"scores file {path} must be a JSON object of image file name → integer score "
                        "(it holds something else); fix it")
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


def import_scores(log, scores: dict[str, int], annotator: str) -> int:
    """Append already-checked ``{name: score}`` to ``log`` (a RatingLog or RatingView)."""
    now = time.time()
    for name, score in scores.items():
        log.append({"kind": "score", "image": name, "score": score, "annotator": annotator, "time": now,
                    "source": "import"})
    return len(scores)


@attrs.define
class MergeReport:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    bad: list[str] = attrs.Factory(list)

    @property
    def merged(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, skipped {self.skipped}"


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and ":" not in name


def merge_seed_scores(log: RatingLog, scores_file: str | Path, images_dir: str | Path,
                      known: dict[str, str], annotator: str = "import") -> MergeReport:
    """Merge a seed-format ``scores.json`` into ``log``, matching images by content.

    ``images_dir`` holds the files the scores name (the seed app's folder); ``known`` maps the
    content key of every image this run may rate to its path. Each entry is added (no score
    yet), updated (a different score), skipped (the same score) or reported as bad (a path
    instead of a file name, not an integer, out of range, no such file, an image this run does
    not have). Nothing is written for bad entries.
    """
    scores_file, images_dir = Path(scores_file), Path(images_dir)
    data = read_json(scores_file, "scores file")
    if not isinstance(data, dict):
        raise UserError(f"scores file {scores_file} must be a JSON object of image file name → integer score "
                        "(it holds something else); fix it")
    if not images_dir.is_dir():
        raise UserError(f"--images {images_dir} is not a folder; give the folder that holds the scored images")
    report = MergeReport()
    current = latest_scores(log.records())
    now = time.time()
    for name, value in data.items():
        def bad(why: str, name=name):
            report.bad.append(f"{name}: {why}")
            report.skipped += 1

        if not _is_plain_name(name):
            bad("is a path, not an image file name in the images folder")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            bad(f"score {value!r} is not an integer")
            continue
        if not SCORE_MIN <= int(value) <= SCORE_MAX:
            bad(f"score {value} is out of range {SCORE_MIN}..{SCORE_MAX}")
            continue
        f = images_dir / name
        if not f.is_file():
            bad(f"no such file in {images_dir}")
            continue
        key = image_key(f)
        if key not in known:
            bad("unknown image (its content matches none of this run's images)")
            continue
        score = int(value)
        if current.get(key) == score:
            report.skipped += 1
            continue
        if key in current:
            report.updated += 1
        else:
            report.added += 1
        current[key] = score
        log.append({"kind": "score", "image": key, "file": known[key], "score": score, "annotator": annotator,
                    "time": now, "source": f"import:{scores_file.name}"})
    return report


def run_images(run_dir: str | Path) -> dict[str, str]:
    """Content key → path (relative to ``run_dir``) of every generated image of every round."""
    run_dir = Path(run_dir)
    out: dict[str, str] = {}
    for png in sorted(run_dir.glob("round-*/generate/images/*.png")):
        out.setdefault(image_key(png), str(png.relative_to(run_dir)))
    return out


def migrate_round_logs(run_dir: str | Path) -> int:
    """Fold the per-round ``round-NNN/score/ratings.jsonl`` logs of runs made before the run-wide
    store into ``<run>/ratings.jsonl`` (keyed by content, original times kept); each old log is
    renamed ``ratings.jsonl.migrated``. Returns the number of records moved."""
    run_dir = Path(run_dir)
    moved = 0
    for old in sorted(run_dir.glob("round-*/score/ratings.jsonl")):
        images = old.parent.parent / "generate" / "images"
        if not images.is_dir():
            continue
        view = RatingView(run_log(run_dir), images, run_dir)
        for rec in RatingLog(old).records():
            if any(isinstance(rec.get(f), str) and rec[f] in view.key_of for f in ("image", "left", "right")):
                view.append(rec)
                moved += 1
        os.replace(old, old.with_name(old.name + ".migrated"))
    if moved:
        _warn(f"moved {moved} rating(s) from per-round logs into the run's store {run_dir / RATINGS_FILE}")
    return moved
