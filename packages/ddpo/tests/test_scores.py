"""Ratings log and the seed's scores.json: round trip, undo, the torn last line, and clear errors for bad files."""

from __future__ import annotations

import json

import pytest

from almost.errors import UserError
from almost_ddpo.scores import RatingLog, drop_undone, read_scores_json, write_scores_json


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


def test_drop_undone_removes_exactly_the_named_record():
    recs = [{"kind": "score", "image": "a", "score": 1, "time": 1.0},
            {"kind": "score", "image": "a", "score": 2, "time": 2.0},
            {"kind": "score", "image": "b", "score": 3, "time": 2.0},
            {"kind": "pair", "left": "a", "right": "b", "winner": "tie", "time": 3.0},
            {"kind": "undo", "undoes": "score", "image": "a", "undoes_time": 2.0, "time": 4.0},
            {"kind": "undo", "undoes": "pair", "left": "a", "right": "b", "undoes_time": 3.0, "time": 5.0},
            {"kind": "undo", "undoes": "score", "image": "a", "undoes_time": 9.0, "time": 6.0}]  # names nothing
    assert drop_undone(recs) == [recs[0], recs[2]]
    assert drop_undone(recs[:4]) == recs[:4]


def test_log_keeps_a_valid_last_line_without_newline_and_reports_a_torn_one(tmp_path, capsys):
    p = tmp_path / "ratings.jsonl"
    p.write_text('{"kind": "score", "image": "a", "score": 3}\n{"kind": "score", "image": "b", "score": -2}')
    log = RatingLog(p)
    assert log.scores() == {"a": 3, "b": -2}  # the valid last line is kept
    log.append({"kind": "score", "image": "c", "score": 1})
    assert RatingLog(p).scores() == {"a": 3, "b": -2, "c": 1}  # and appending did not glue lines together

    with open(p, "a") as f:
        f.write('{"kind": "score", "image": "d", "sc')  # a crash mid-append
    capsys.readouterr()
    raw = RatingLog.__new__(RatingLog)  # read without opening for appends
    raw.path = p
    assert raw.records()[-1]["image"] == "c"
    assert "cut off" in capsys.readouterr().out  # reading reports it
    again = RatingLog(p)  # opening sets it aside, with a note
    note = capsys.readouterr().out
    assert "line 4 was cut off" in note and "ratings.jsonl.torn" in note
    assert again.torn_path.read_text() == '{"kind": "score", "image": "d", "sc\n'
    again.append({"kind": "skip", "image": "e"})
    assert again.scores() == {"a": 3, "b": -2, "c": 1} and "e" in again.rated()


def test_blanks_after_the_last_newline_are_no_torn_record(tmp_path, capsys):
    p = tmp_path / "ratings.jsonl"
    p.write_text('{"kind": "score", "image": "a", "score": 3}\n  ')
    log = RatingLog(p)
    assert "cut off" not in capsys.readouterr().out and not log.torn_path.exists()
    log.append({"kind": "score", "image": "b", "score": 1})
    assert RatingLog(p).scores() == {"a": 3, "b": 1}
