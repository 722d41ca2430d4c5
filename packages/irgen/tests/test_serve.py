"""``almost irgen serve``: the official openai client talks to the run's model on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from irgen_taught import IR, SENTENCE, teach  # noqa: E402

from almost_irgen.rules import generate as rules_code  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory, tiny_model_dir):
    from almost_irgen.generator import Generator
    from almost_irgen.serve import server

    run = teach(tiny_model_dir, tmp_path_factory.getbasetemp() / "taught-run")
    gen = Generator.from_run(run, repair_rounds=1)
    srv = server(gen, say=lambda line: None)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        gen.close()


def client(srv, key=None):
    import openai

    return openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key=key or srv.token, max_retries=0, timeout=120)


def test_models_and_a_sentence_to_csharp(api):
    c = client(api)
    assert {m.id for m in c.models.list()} == {"irgen", "irgen-ir"}
    resp = c.chat.completions.create(model="irgen", messages=[
        {"role": "system", "content": "You write Unity scripts."}, {"role": "user", "content": SENTENCE}])
    assert resp.choices[0].message.content == rules_code(IR)
    extra = resp.model_extra["almost"]
    assert extra["ir"] == IR and extra["verdict"] in ("behaves", "compiles") and extra["repairs"] == 0


def test_ir_model_ir_request_streaming_and_repair_option(api):
    c = client(api)
    ir = c.chat.completions.create(model="irgen-ir", messages=[{"role": "user", "content": SENTENCE}])
    assert json.loads(ir.choices[0].message.content) == IR
    chunks = list(c.chat.completions.create(model="irgen", stream=True, extra_body={"repair_rounds": 0},
                                            messages=[{"role": "user", "content": json.dumps(IR)}]))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == rules_code(IR)


def test_bad_key_model_and_body_are_openai_errors(api):
    import openai

    with pytest.raises(openai.AuthenticationError):
        client(api, key="wrong").models.list()
    c = client(api)
    with pytest.raises(openai.NotFoundError, match="irgen-ir"):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": SENTENCE}])
    with pytest.raises(openai.BadRequestError, match="repair_rounds"):
        c.chat.completions.create(model="irgen", messages=[{"role": "user", "content": SENTENCE}],
                                  extra_body={"repair_rounds": -1})
    with pytest.raises(openai.BadRequestError, match="user message"):
        c.chat.completions.create(model="irgen", messages=[{"role": "system", "content": "hi"}])


def test_foreign_host_is_refused(api):
    import httpx

    r = httpx.get(f"{api.base_url}/v1/models", headers={"Authorization": f"Bearer {api.token}",
                                                        "Host": "attacker.example"})
    assert r.status_code == 400


def test_evaluate_scores_a_served_model_with_the_same_metrics(api, tmp_path, tiny_model_dir, monkeypatch):
    from almost.testing import run_cli

    monkeypatch.setenv("IRGEN_TEST_KEY", api.token)
    code, o, e = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "train", "evaluate", "--out", str(tmp_path),
                          "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30",
                          "--set", "train.max_steps=1", "--set", "evaluate.max_examples=2",
                          "--set", "evaluate.max_new_tokens=16", "--set", "evaluate.repair_rounds=0",
                          "--set", "evaluate.text_to_ir=false", "--set", f"evaluate.endpoint={api.base_url}/v1",
                          "--set", "evaluate.endpoint_key_env=IRGEN_TEST_KEY"])
    assert code == 0, o + e
    m = json.loads((tmp_path / "metrics.json").read_text())["evaluate"]
    assert 0 <= m["compile_at_1_endpoint"] <= 1 and 0 <= m["conformance_endpoint"] <= 1
    assert "| endpoint |" in (tmp_path / "evaluate" / "report.md").read_text()


def test_evaluate_endpoint_down_is_one_sentence(tmp_path, tiny_model_dir):
    from almost.testing import run_cli

    code, o, e = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "train", "evaluate", "--out", str(tmp_path),
                          "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30",
                          "--set", "train.max_steps=1", "--set", "evaluate.max_examples=1",
                          "--set", "evaluate.max_new_tokens=4", "--set", "evaluate.repair_rounds=0",
                          "--set", "evaluate.text_to_ir=false", "--set", "evaluate.endpoint=http://127.0.0.1:9/v1"])
    assert code != 0 and "did not answer" in o + e and "Traceback" not in o + e
