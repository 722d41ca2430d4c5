"""Loading, building and saving Stable-Diffusion-layout model folders (the checkpoint loaders).

One loading path for the tiny model and a user's SD 1.x folder: :func:`load_pipeline` reads a
local diffusers ``StableDiffusionPipeline`` folder (``model_index.json``, ``unet/``, ``vae/``,
``text_encoder/``, ``tokenizer/``, ``scheduler/``) without touching the hub.
:func:`build_tiny` makes the tiny parts from configs: a small ``UNet2DConditionModel``, an
``AutoencoderKL`` with 4× downsampling, a 2-layer ``CLIPTextModel`` and a word-level tokenizer
built offline with ``tokenizers`` over the procedural vocabulary.
"""

from __future__ import annotations

import os
from pathlib import Path

from almost.errors import UserError

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _quiet() -> None:
    """Our own rich bars report progress; hide the libraries' tqdm bars."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.disable_progress_bar()
    tlog.disable_progress_bar()


def build_tokenizer(words: list[str], max_length: int = 8):
    """A word-level fast tokenizer over ``words`` (with pad/bos/eos/unk), built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|unk|>"]
    vocab = {w: i for i, w in enumerate(special + sorted(set(words)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>",
        special_tokens=[("<|startoftext|>", vocab["<|startoftext|>"]), ("<|endoftext|>", vocab["<|endoftext|>"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|startoftext|>", eos_token="<|endoftext|>",
        unk_token="<|unk|>", model_max_length=max_length,
    )


def build_tiny(words: list[str], image_size: int = 32, seed: int = 0):
    """The tiny model's parts, freshly initialised: ``(unet, vae, text_encoder, tokenizer, scheduler)``."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(words)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=tokenizer.model_max_length,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, projection_dim=32,
    ))
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, sample_size=image_size,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 32), layers_per_block=1, norm_num_groups=8, mid_block_add_attention=False,
    )
    unet = UNet2DConditionModel(
        sample_size=image_size // 4, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), norm_num_groups=16, cross_attention_dim=32, attention_head_dim=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    )
    scheduler = DDIMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
    )
    return unet, vae, text_encoder, tokenizer, scheduler


def save_pipeline(path: str | Path, unet, vae, text_encoder, tokenizer, scheduler) -> Path:
    """Save the parts as a ``StableDiffusionPipeline`` folder (written aside, then renamed)."""
    from diffusers import StableDiffusionPipeline

    from almost.io import atomic_dir

    _quiet()
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    with atomic_dir(path) as tmp:  # the old folder stays whole until the new one is complete
        pipe.save_pretrained(tmp, safe_serialization=True)
    return Path(path)


def load_pipeline(path: str | Path, dtype: str = "float32", device: str = "cpu"):
    """Load a local SD 1.x diffusers folder (no hub access); a bad folder is a UserError."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    _quiet()
    path = Path(path)
    if not (path / "model_index.json").is_file():
        raise UserError(
            f"{path} is not a diffusers Stable Diffusion folder (no model_index.json); "
            "set model.path to a local SD 1.x folder saved with save_pretrained"
        )
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            path, dtype=getattr(torch, dtype), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False, local_files_only=True,
        )
    except (OSError, ValueError) as e:
        raise UserError(f"could not load the diffusion model in {path} ({e}); check the folder is complete") from None
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


SD15_CONFIG = Path(__file__).with_name("sd15")
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


def is_single_file(path: str | Path) -> bool:
    p = Path(path)
    return p.is_file() and p.suffix.lower() in SINGLE_FILE_SUFFIXES


def load_single_file(path: str | Path, config_dir: str | Path | None = None, dtype: str = "float32"):
    """A single-file SD 1.x checkpoint (original LDM key layout) as a pipeline, through diffusers'
    ``from_single_file`` with the component configs in ``config_dir`` (default: the SD 1.5
    configs shipped in this package) — no hub access."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    _quiet()
    path = Path(path)
    config_dir = Path(config_dir) if config_dir else SD15_CONFIG
    if not (config_dir / "model_index.json").is_file():
        raise UserError(f"model.single_file_config={config_dir} has no model_index.json; give a folder of "
                        "diffusers component configs (like the SD 1.5 one shipped in almost_ddpo/sd15)")
    try:
        pipe = StableDiffusionPipeline.from_single_file(
            str(path), config=str(config_dir), local_files_only=True, torch_dtype=getattr(torch, dtype),
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )
    except Exception as e:  # diffusers raises many kinds for a file that is not an SD 1.x checkpoint
        raise UserError(f"could not read {path} as a single-file Stable Diffusion 1.x checkpoint "
                        f"({type(e).__name__}: {str(e)[:200]}); check the file, or convert it to a diffusers folder") from None
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def best_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_vae(path: str | Path, device: str = "cpu", dtype: str | None = None):
    """Only the autoencoder of a model folder (the reward stage needs nothing else): half
    precision on a GPU, float32 on a CPU unless ``dtype`` says otherwise."""
    import torch
    from diffusers import AutoencoderKL

    _quiet()
    dtype = dtype or ("float16" if device.startswith("cuda") else "float32")
    path = Path(path)
    if (path / "vae" / "config.json").is_file():
        try:
            vae = AutoencoderKL.from_pretrained(path, subfolder="vae", torch_dtype=getattr(torch, dtype),
                                                local_files_only=True)
        except (OSError, ValueError) as e:
            raise UserError(f"could not load the autoencoder in {path / 'vae'} ({e}); check the folder is complete") from None
    else:
        vae = load_pipeline(path, dtype, device).vae
    return vae.to(device).eval().requires_grad_(False)


def load_text_encoder(path: str | Path, device: str = "cpu", dtype: str | None = None):
    """Only the tokenizer and text encoder of a model folder (for prompt vectors), as an object
    with ``.tokenizer`` and ``.text_encoder`` like a pipeline."""
    import types

    import torch
    from transformers import AutoTokenizer, CLIPTextModel

    _quiet()
    dtype = dtype or ("float16" if device.startswith("cuda") else "float32")
    path = Path(path)
    try:
        tok = AutoTokenizer.from_pretrained(path, subfolder="tokenizer", local_files_only=True)
        te = CLIPTextModel.from_pretrained(path, subfolder="text_encoder", torch_dtype=getattr(torch, dtype),
                                           local_files_only=True)
    except (OSError, ValueError) as e:
        raise UserError(f"could not load the text encoder in {path} ({e}); check the folder is complete") from None
    return types.SimpleNamespace(tokenizer=tok, text_encoder=te.to(device).eval().requires_grad_(False))
