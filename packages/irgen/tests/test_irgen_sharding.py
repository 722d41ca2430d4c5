"""Per-rank data shards, hub ids offline, and no train.backend setting."""

from __future__ import annotations

import random

import attrs

from almost_irgen.config import full


def test_ranks_train_on_disjoint_rows_of_equal_count():
    from almost_irgen.stages.train import make_batches, shard

    assert shard(list(range(10)), 0, 3) == [0, 3, 6] and shard(list(range(10)), 2, 3) == [2, 5, 8]
    assert shard([7], 1, 2) == [7]  # fewer items than ranks: every rank still steps
    cfg = attrs.evolve(full().train, batch_tokens=64, max_length=64, batch_size=1, pack=True)
    exs = [([i + 1] * 30, [i + 1] * 30) for i in range(9)]  # two examples per 64-token row
    per_rank = [make_batches(exs, cfg, 0, random.Random(3), rank, 2) for rank in (0, 1)]
    assert len(per_rank[0]) == len(per_rank[1]) >= 2
    seen = [{int(t) for b in batches for t in b["input_ids"].flatten() if t} for batches in per_rank]
    assert not seen[0] & seen[1]  # no example on both ranks
    alone = make_batches(exs, cfg, 0, random.Random(3))
    assert len(alone) == 5 and len(seen[0] | seen[1]) >= 8  # one short-tail row dropped at most


def test_hub_id_offline_is_one_sentence_with_the_fetch_command(tmp_path, monkeypatch):
    import almost_irgen.model as m
    from almost.testing import run_cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(m, "_ONLINE_BY_USER", False)
    code, out, err = run_cli(["irgen", "gguf", "no-such-org/no-such-model", str(tmp_path / "x.gguf")])
    text = out + err
    assert code != 0 and "Traceback" not in text
    assert "no-such-org/no-such-model" in text and "hf download no-such-org/no-such-model" in text
    # a path that does not exist and is no hub id is the old one-sentence error
    code, out, err = run_cli(["irgen", "gguf", str(tmp_path / "missing" / "model"), str(tmp_path / "x.gguf")])
    assert code != 0 and "not a transformers model folder" in out + err


def test_train_has_no_backend_setting():
    """unsloth was a choice once and never wired in; then train.backend had one choice and no
    reader, so it is gone: any value of it, the old default too, is an unknown key."""
    from almost.testing import run_cli

    for value in ("unsloth", "transformers"):
        code, out, err = run_cli(["config", "--plugin", "irgen", "--set", f"train.backend={value}"])
        assert code != 0 and "backend" in out + err and "Traceback" not in out + err
