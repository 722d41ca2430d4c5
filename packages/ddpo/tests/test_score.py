"""The score stage through the CLI with the page replaced by a scripted user: Ctrl-C does not
finish it, and a re-run shows every earlier rating."""

from __future__ import annotations

import json

from almost.testing import run_cli
from almost_ddpo.scores import run_log

SETS = ["generate.prompts=a red circle,a blue square", "generate.images_per_prompt=2", "generate.steps=2",
        "score.mode=web"]


def _args(run, model_dir, *stages):
    args = ["run", "--plugin", "ddpo", *stages, "--out", str(run), "--set", f"model.path={model_dir}"]
    for s in SETS:
        args += ["--set", s]
    return args


def test_ctrl_c_does_not_finish_score_and_a_rerun_shows_every_rating(tmp_path, tiny_model_dir, monkeypatch):
    from almost_ddpo.stages import score

    run = tmp_path / "run"
    assert run_cli(_args(run, tiny_model_dir, "pretrain", "generate"))[0] == 0
    seen = []

    def user(rate: dict, then):
        def fake_serve(images_dir, log, host="127.0.0.1", port=0, annotator="me"):
            seen.append(dict(log.scores()))  # what /api/images would show
            for name, s in rate.items():
                log.append({"kind": "score", "image": name, "score": s, "annotator": annotator})
            if then == "ctrl-c":
                raise KeyboardInterrupt
        return fake_serve

    monkeypatch.setattr(score, "serve", user({"00000.png": 4, "00001.png": -1}, "ctrl-c"))
    code, out, err = run_cli(_args(run, tiny_model_dir, "score"))
    assert code == 130, out + err
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["score"]["status"] != "done"

    monkeypatch.setattr(score, "serve", user({"00002.png": 2}, "done"))
    code, out, err = run_cli(_args(run, tiny_model_dir, "score"))  # no --force
    assert code == 0, out + err
    assert seen[-1] == {"00000.png": 4, "00001.png": -1}  # the page opens with the earlier ratings
    assert json.loads((run / "round-001" / "score" / "scores.json").read_text()) == {
        "00000.png": 4, "00001.png": -1, "00002.png": 2}

    monkeypatch.setattr(score, "serve", user({}, "done"))
    code, out, err = run_cli([*_args(run, tiny_model_dir, "score"), "--force"])
    assert code == 0, out + err
    assert seen[-1] == {"00000.png": 4, "00001.png": -1, "00002.png": 2}  # nothing lost or hidden
    assert len(run_log(run).records()) == 3
