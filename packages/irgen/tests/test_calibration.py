"""The seed's calibration data as it is, and a loss that goes NaN."""

from __future__ import annotations

import json
import shutil

import pytest

from almost.testing import run_cli
from almost_irgen.calibration import action_from_text, convert_ir, trigger_from_text

SPINNER = """using UnityEngine;

public class Spinner : MonoBehaviour
{
    public float speed = 90f;
    void Update() { transform.Rotate(Vector3.up * speed * Time.deltaTime); }
}
"""
COIN = """using UnityEngine;

public class Coin : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        if (other.CompareTag("Player")) { Debug.Log("collected"); Destroy(gameObject); }
    }
}
"""
# the seed's exact layout: {"pairs": [{"prompt", "ideal_ir" (free text), "good_code"}]}
SEED = {"pairs": [
    {"prompt": "Make a cube that spins around Y",
     "ideal_ir": {"class_name": "Spinner", "behaviors": [
         {"trigger": "every frame", "action": "rotate around Y axis at 90 degrees per second"}]},
     "good_code": SPINNER},
    {"prompt": "A coin the player can collect",
     "ideal_ir": {"class_name": "Coin", "behaviors": [
         {"trigger": "when the player enters the trigger",
          "actions": ["log 'collected'", "destroy itself", "make the score counter glow"]}]},
     "good_code": COIN},
    {"prompt": "broken item", "ideal_ir": {"class_name": "Broken", "behaviors": []},
     "good_code": "this is not C# at all"},
    {"prompt": "no code here", "ideal_ir": {}},
]}


def test_free_text_triggers_and_actions_map_to_typed_ops():
    assert trigger_from_text("every frame") == ({"event": "update"}, None)
    assert trigger_from_text("every 2 seconds") == ({"event": "timer", "interval_s": 2}, None)
    assert trigger_from_text("when Space is pressed") == ({"event": "key_down", "key": "Space"}, None)
    assert trigger_from_text("when an object tagged Enemy collides")[1] == {"kind": "tag", "tag": "Enemy"}
    assert trigger_from_text("when the moon is full") is None
    assert action_from_text("rotate around Y axis at 90 degrees per second", "update") == {
        "op": "rotate", "axis": "y", "degrees_per_second": 90}
    assert action_from_text("move forward at speed 3", "update") == {"op": "translate", "direction": [0, 0, 1], "speed": 3}
    assert action_from_text("destroy itself after 2 seconds", "start") == {"op": "destroy", "target": "self", "delay_s": 2}
    assert action_from_text("destroy the other object", "update") is None  # no other object outside a hit
    assert action_from_text("make it glow", "update") is None
    ir, converted, kept = convert_ir(SEED["pairs"][1]["ideal_ir"], COIN, "coin")
    assert (converted, kept) == (2, 1)
    assert ir["behaviours"][0]["condition"] == {"kind": "tag", "tag": "Player"}
    assert ir["behaviours"][0]["actions"][2] == {"op": "custom", "text": "make the score counter glow"}


@pytest.mark.compiler
@pytest.mark.skipif(shutil.which("mcs") is None, reason="needs mono's mcs")
def test_seed_calibration_file_is_converted_kept_and_bad_items_skipped(tmp_path):
    cal = tmp_path / "calibration_data.json"
    cal.write_text(json.dumps(SEED))
    run = tmp_path / "run"
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(run), "--set", "synth.count=3",
                              "--set", f"synth.calibration_file={cal}"])
    assert code == 0, out + err
    text = " ".join((out + err).split())
    assert "item 2 skipped: its code does not compile" in text and "item 3 skipped: needs a prompt" in text
    rows = [json.loads(x) for x in (run / "synth" / "triplets.jsonl").read_text().splitlines()]
    cal_rows = [r for r in rows if r["source"] == "calibration"]
    assert [r["ir"]["class_name"] for r in cal_rows] == ["Spinner", "Coin"]
    assert cal_rows[0]["ir"]["behaviours"] == [{"trigger": {"event": "update"}, "actions": [
        {"op": "rotate", "axis": "y", "degrees_per_second": 90}]}]  # ideal_ir was read, not replaced
    stats = json.loads((run / "synth" / "calibration.json").read_text())
    assert (stats["items"], stats["kept"], stats["skipped"]) == (4, 2, 2)
    assert (stats["ops_converted"], stats["ops_custom"]) == (3, 1)
    m = json.loads((run / "metrics.json").read_text())["synth"]
    assert m["calibration_skipped"] == 2 and m["triplets"] == 5

    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(tmp_path / "run2"),
                              "--set", f"synth.calibration_file={cal}", "--set", "synth.on_bad_item=fail"])
    assert code == 2 and "item 3: needs a prompt" in " ".join((out + err).split())
    assert "Traceback" not in out + err


def test_nan_loss_stops_training_and_keeps_no_bad_checkpoint(tmp_path, tiny_model_dir, monkeypatch):
    import torch
    from transformers import LlamaForCausalLM

    args = ["run", "--plugin", "irgen", "synth", "prepare", "train", "--out", str(tmp_path),
            "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30", "--set", "train.max_steps=4",
            "--set", "train.eval_every=2"]
    forward = LlamaForCausalLM.forward
    calls = {"n": 0}

    def poisoned(self, *a, **kw):
        out = forward(self, *a, **kw)
        calls["n"] += 1
        if self.training and calls["n"] > 2:  # train computes its loss from the logits
            out.logits = out.logits * torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(LlamaForCausalLM, "forward", poisoned)
    code, out, err = run_cli(args)
    text = " ".join((out + err).split())
    assert code != 0 and "train: loss became nan at step 3" in text and "Traceback" not in text
    assert not (tmp_path / "train" / "adapter").exists()
    metrics = (tmp_path / "metrics.json").read_text()
    json.loads(metrics)  # strict JSON
    assert "NaN" not in metrics
