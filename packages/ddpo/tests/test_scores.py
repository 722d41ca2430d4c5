"""Ratings log and the seed's scores.json: round trip, and clear errors for bad files."""

from __future__ import annotations

import json

import pytest

from almost.errors import UserError
from almost_ddpo.scores import RatingLog, read_scores_json, write_scores_json


def test_log_keeps_every_rating_and_round_trips_to_scores_json(tmp_path):
    log = RatingLog(tmp_path / "ratings.jsonl")
    log.append({"kind": "score", "image": "a.png", "score": 2, "annotator": "me"})
    log.append({"kind": "score", "image": "b.png", "score": -5, "annotator": "me"})
    log.append({"kind": "score", "image": "a.png", "score": 4, "annotator": "me"})  # latest wins
    log.append({"kind": "pair", "left": "a.png", "right": "b.png", "winner": "left", "annotator": "me"})
    with open(log.path, "a") as f:
        f.write('{"kind": "score", "ima')
    assert log.scores() == {"a.png": 4, "b.png": -5}  # a torn last line from a crash is ignored
    again = RatingLog(tmp_path / "ratings.jsonl")  # reopening cuts it, so appends stay valid
    again.append({"kind": "skip", "image": "c.png", "annotator": "me"})
    assert again.scores() == {"a.png": 4, "b.png": -5} and "c.png" in again.rated()
    assert again.pairs() == [("a.png", "b.png", "left")]
    assert all("time" in r and r["annotator"] == "me" for r in again.records())
    write_scores_json(tmp_path / "scores.json", again.scores())
    assert json.loads((tmp_path / "scores.json").read_text()) == {"a.png": 4, "b.png": -5}
    assert read_scores_json(tmp_path / "scores.json", {"a.png", "b.png"}) == {"a.png": 4, "b.png": -5}


@pytest.mark.parametrize(
    "content, words",
    [
        ({"a.png": 1, "zzz.png": 2}, ["zzz.png", "not in this round"]),
        ({"a.png": 1.5}, ["a.png", "integer"]),
        ({"a.png": "3"}, ["a.png", "integer"]),
        ({"a.png": True}, ["a.png", "integer"]),
        ({"a.png": 6}, ["a.png", "outside -5..5"]),
        ({"a.png": -9}, ["a.png", "outside -5..5"]),
        ([1, 2], ["JSON object"]),
    ],
)
def test_bad_scores_json_is_one_clear_sentence(tmp_path, content, words):
    p = tmp_path / "scores.json"
    p.write_text(json.dumps(content))
    with pytest.raises(UserError) as e:
        read_scores_json(p, {"a.png", "b.png"})
    msg = str(e.value)
    assert all(w in msg for w in words), msg
    assert "\n" not in msg


def test_malformed_json_names_the_file_and_line(tmp_path):
    p = tmp_path / "scores.json"
    p.write_text('{"a.png": 1,\n "b.png": }')
    with pytest.raises(UserError, match=r"scores file .*scores.json is not valid JSON \(line 2"):
        read_scores_json(p)


def test_a_broken_line_inside_the_log_is_a_clear_error(tmp_path):
    p = tmp_path / "ratings.jsonl"
    p.write_text('{"kind": "score", "image": "a.png", "score": 1}\nnot json\n{"kind": "skip", "image": "b.png"}\n')
    with pytest.raises(UserError, match="line 2 is not JSON"):
        RatingLog(p).scores()


def test_rating_log_reads_once_and_sees_appends_from_another_writer(tmp_path, monkeypatch):
    p = tmp_path / "ratings.jsonl"
    log, other = RatingLog(p), RatingLog(p)
    log.append({"kind": "score", "image": "a", "score": 1})
    assert log.scores() == {"a": 1}
    reads = []
    real = type(p).read_bytes
    monkeypatch.setattr(type(p), "read_bytes", lambda self, *a, **k: reads.append(self) or real(self, *a, **k))
    assert log.scores() == {"a": 1} and log.rated() == {"a"} and reads == []   # unchanged file: not re-read
    other.append({"kind": "score", "image": "b", "score": -2})                  # another writer appends
    assert log.scores() == {"a": 1, "b": -2} and len(reads) == 1
