"""``dataset/ddpo-ratings``: the run's ratings store as a dataset of labelled images.

Built by the ``reward`` stage from ``reward_model.dataset`` (and by the ``ddpo-d3po`` trainer)
with ``run_dir=``; it reads ``<run>/ratings.jsonl`` (every round, every import): the latest
absolute score per image, the page's pairwise votes as ``(key_a, key_b, P(a beats b))``, the
file of each labelled image, and the labelled images whose file is gone (reported, never used).
Item ``i`` is ``{"key", "file", "prompt", "score"}`` (``score`` is ``None`` for an image only
voted on); ``prompt`` comes from the image's sidecar record. A plugin's dataset for these stages
provides the same ``scores``, ``votes``, ``files`` and ``missing`` attributes.
"""

from __future__ import annotations

from pathlib import Path

from almost.io import read_json

from .scores import RATINGS_FILE, run_log

WINNER = {"left": 1.0, "right": 0.0, "tie": 0.5}


def gather_labels(run_dir: Path):
    """``(scores, votes, files, missing)`` from the run's store: latest score per image key,
    votes ``(key_a, key_b, P(a beats b))``, key → existing file, and keys whose file is gone."""
    files: dict[str, Path] = {}
    scores: dict[str, int] = {}
    votes: list[tuple[str, str, float]] = []
    for r in run_log(run_dir).records():
        kind = r.get("kind")
        for field, ffield in (("image", "file"), ("left", "left_file"), ("right", "right_file")):
            if r.get(ffield):
                p = Path(r[ffield])
                files[r[field]] = p if p.is_absolute() else run_dir / p
        if kind == "score":
            scores[r["image"]] = int(r["score"])
        elif kind == "pair" and r.get("winner") in WINNER:
            votes.append((r["left"], r["right"], WINNER[r["winner"]]))
    labelled = set(scores) | {k for a, b, _ in votes for k in (a, b)}
    missing = sorted(k for k in labelled if k not in files or not files[k].is_file())
    gone = set(missing)
    return ({k: v for k, v in scores.items() if k not in gone},
            [v for v in votes if v[0] not in gone and v[1] not in gone],
            {k: files[k] for k in labelled if k not in gone}, missing)


def sidecar(image: Path) -> dict:
    """The sidecar record ``images/NNNNN.json`` the generate stage wrote beside an image ({} if none)."""
    side = Path(image).with_suffix(".json")
    return read_json(side, "sidecar record", expect=dict) if side.is_file() else {}


class RatingsDataset:
    """The labelled images of a run (see the module)."""

    def __init__(self, run_dir: str | Path):
        run_dir = Path(run_dir)
        self.root = run_dir / RATINGS_FILE
        self.scores, self.votes, self.files, self.missing = gather_labels(run_dir)
        self.keys = sorted(self.files)

    def schema(self) -> dict:
        return {"key": "str (16 hex digits of the image's sha256)", "file": "str (path of the PNG)",
                "prompt": "str", "score": "int -5..5 or null (only voted on)",
                "votes": "(key_a, key_b, P(a beats b)) in .votes"}

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict:
        key = self.keys[index]
        return {"key": key, "file": str(self.files[key]), "prompt": sidecar(self.files[key]).get("prompt", ""),
                "score": self.scores.get(key)}
