"""The world model: an action-conditioned diffusers ``UNet2DConditionModel`` (GameNGen).

Inputs of one denoising call (shapes for batch B, context C, latent 4×h×w; the shipped tiny
VAE's latents have 8 channels, and every 4 below is then 8):

* ``noisy``   (B, 4, h, w)    the noisy target latent x_t;
* ``context`` (B, C, 4, h, w) the C past latents, oldest first, concatenated with x_t in
  channels, so ``conv_in`` takes 4 × (C + 1) channels;
* ``actions`` (B, C) int       the action taken after each context frame (the last one leads
  to the target); embedded as C tokens **plus a learned temporal position embedding** and
  fed through cross-attention in place of text;
* ``mask``    (B, C)           1 for real context frames, 0 for start-of-episode padding
  (pad latent = zeros, pad action = the no-op); used as the cross-attention mask;
* ``bucket``  (B,) int         the context-noise level, σ = noise_max · bucket / (buckets-1),
  embedded through the UNet's class embedding, i.e. added to the timestep embedding.

Two options for small models (``model.*``; off in GameNGen's ``full`` setting):
``predict_delta`` diffuses ``delta_scale · (x − last context latent)`` instead of x, so copying
the last frame is the zero prediction and the loss is spent on what changed; and
``action_time_cond`` adds the last action's token to the timestep embedding (diffusers'
``time_cond_proj_dim``), so every resnet block sees the action, not only the attention blocks.

The UNet predicts v (v-prediction). Classifier-free guidance drops the *whole* context
(every context latent replaced by the pad latent) with :meth:`WorldModel.drop_context`, the
one function used in training and at inference. UNet and embeddings are one ``nn.Module``,
so DDP syncs all of it. :meth:`WorldModel.save` writes diffusers layout (``unet/``,
``scheduler/``) plus ``world_model.json`` and ``world_model.safetensors``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from almost.errors import UserError
from almost.io import atomic_write_json

LATENT_CHANNELS = 4
FORMAT_VERSION = 1


def offline() -> None:
    """Loading code never reaches for the hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


# ---------------------------------------------------------------------------------------
# Stable Diffusion 1.x folders
# ---------------------------------------------------------------------------------------
def check_sd_layout(path: str | Path) -> Path:
    """``path`` must be a local diffusers SD 1.x folder (unet/, vae/ with configs)."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise UserError(
            f"model.pretrained {p} is not a folder; give a local Stable Diffusion 1.x diffusers "
            "folder (with unet/ and vae/) or leave it empty to build a small model from scratch"
        )
    missing = [s for s in ("unet/config.json", "vae/config.json") if not (p / s).is_file()]
    if missing:
        raise UserError(
            f"model.pretrained {p} is not a diffusers Stable Diffusion layout (missing "
            f"{', '.join(missing)}); point it at a folder saved with save_pretrained, e.g. SD 1.5"
        )
    cfg = json.loads((p / "unet/config.json").read_text())
    if cfg.get("in_channels") != LATENT_CHANNELS or cfg.get("_class_name") != "UNet2DConditionModel":
        raise UserError(
            f"model.pretrained {p}/unet is not an SD 1.x UNet2DConditionModel with 4 input "
            "channels; use a Stable Diffusion 1.x diffusers folder"
        )
    return p


def adapt_pretrained_unet(unet, context: int, buckets: int):
    """Widen an SD UNet's ``conv_in`` to 4·(context+1) channels and add the noise-bucket
    embedding. New input channels and the bucket embedding start at zero, so at step 0 the
    model is the pretrained denoiser of the target latent alone."""
    old = unet.conv_in
    new = nn.Conv2d(LATENT_CHANNELS * (context + 1), old.out_channels, old.kernel_size,
                    old.stride, old.padding, device=old.weight.device, dtype=old.weight.dtype)
    if old.weight.device.type != "meta":
        with torch.no_grad():
            new.weight.zero_()
            new.weight[:, :LATENT_CHANNELS] = old.weight
            new.bias.copy_(old.bias)
    unet.conv_in = new
    time_dim = unet.time_embedding.linear_2.out_features
    emb = nn.Embedding(buckets, time_dim, device=old.weight.device, dtype=old.weight.dtype)
    if old.weight.device.type != "meta":
        nn.init.zeros_(emb.weight)
    unet.class_embedding = emb
    unet.register_to_config(in_channels=new.in_channels, num_class_embeds=buckets)
    return unet


def tiny_unet_config(mcfg, latent_hw: tuple[int, int], latent_channels: int = LATENT_CHANNELS) -> dict[str, Any]:
    """A small UNet2DConditionModel config built from ``model.*`` (no weights needed)."""
    levels = len(mcfg.block_out_channels)
    cross = list(mcfg.cross_attention_levels)
    if len(cross) != levels:
        raise UserError(
            f"model.cross_attention_levels has {len(cross)} entries but model.block_out_channels "
            f"has {levels}; give one true/false per level"
        )
    if min(latent_hw) % (2 ** (levels - 1)):
        raise UserError(
            f"latents of {latent_hw[0]}×{latent_hw[1]} cannot be halved {levels - 1} times; "
            "use fewer model.block_out_channels levels or another frame size"
        )
    down = ["CrossAttnDownBlock2D" if c else "DownBlock2D" for c in cross]
    up = ["CrossAttnUpBlock2D" if c else "UpBlock2D" for c in reversed(cross)]
    return {
        "sample_size": list(latent_hw),
        "in_channels": latent_channels * (mcfg.context + 1),
        "out_channels": latent_channels,
        "down_block_types": down,
        "up_block_types": up,
        "block_out_channels": list(mcfg.block_out_channels),
        "layers_per_block": mcfg.layers_per_block,
        "cross_attention_dim": mcfg.action_dim,
        "attention_head_dim": mcfg.attention_head_dim,
        "norm_num_groups": min(8, mcfg.block_out_channels[0]),
        "num_class_embeds": mcfg.context_noise_buckets,
        "time_cond_proj_dim": mcfg.action_dim if getattr(mcfg, "action_time_cond", False) else None,
    }


def noise_scheduler_config(train_timesteps: int) -> dict[str, Any]:
    """v-prediction with zero terminal SNR and trailing spacing: right for few DDIM steps."""
    return {
        "num_train_timesteps": train_timesteps,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": True,
        "timestep_spacing": "trailing",
        "clip_sample": False,
    }


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------
class WorldModel(nn.Module):
    """UNet + action tokens + temporal positions: one module (DDP syncs all of it)."""

    def __init__(self, unet, num_actions: int, context: int, noise_max: float = 0.7,
                 buckets: int = 10, cfg_drop_prob: float = 0.1, meta: dict | None = None,
                 predict_delta: bool = False, delta_scale: float = 1.0, action_drop_prob: float = 0.0) -> None:
        super().__init__()
        lc = unet.config.out_channels  # latent channels: SD's 4, the shipped tiny VAE's 8
        if unet.config.in_channels != lc * (context + 1):
            raise UserError(
                f"the UNet takes {unet.config.in_channels} input channels but context {context} "
                f"needs {lc * (context + 1)}; rebuild the model for this context"
            )
        dim = unet.config.cross_attention_dim
        device = unet.conv_in.weight.device
        self.unet = unet
        self.action_embedding = nn.Embedding(num_actions, dim, device=device)
        self.action_position = nn.Embedding(context, dim, device=device)  # temporal positions
        self.num_actions = num_actions
        self.context = context
        self.noise_max = float(noise_max)
        self.buckets = int(buckets)
        self.cfg_drop_prob = float(cfg_drop_prob)
        self.action_drop_prob = float(action_drop_prob)
        self.predict_delta = bool(predict_delta)
        self.delta_scale = float(delta_scale)
        self.meta = dict(meta or {})

    # -- what is diffused -------------------------------------------------------------------
    def to_target(self, latent: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The diffusion target for next latent ``latent`` given the *clean* context."""
        if not self.predict_delta:
            return latent
        return (latent - context[:, -1].to(latent.dtype)) * self.delta_scale

    def from_target(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_target`: a sampled target → the next latent."""
        if not self.predict_delta:
            return x
        return context[:, -1].to(x.dtype) + x / self.delta_scale

    # -- conditioning ---------------------------------------------------------------------
    def action_tokens(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, C) action ids → (B, C, D) tokens: action embedding + temporal position."""
        pos = torch.arange(actions.shape[1], device=actions.device)
        return self.action_embedding(actions) + self.action_position(pos)[None]

    def bucket_sigma(self, bucket: torch.Tensor) -> torch.Tensor:
        """σ of each noise bucket: 0 … noise_max in ``buckets`` equal steps."""
        if self.buckets <= 1:
            return torch.zeros_like(bucket, dtype=torch.float32)
        return bucket.float() * (self.noise_max / (self.buckets - 1))

    def bucket_of(self, sigma: float) -> int:
        """The trained bucket nearest to an inference-time noise level ``sigma``."""
        if self.buckets <= 1 or self.noise_max <= 0:
            return 0
        b = round(float(sigma) / self.noise_max * (self.buckets - 1))
        return int(min(max(b, 0), self.buckets - 1))

    def noise_context(self, context: torch.Tensor, bucket: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Add Gaussian noise of each sample's bucket σ to its context latents."""
        sigma = self.bucket_sigma(bucket).to(context.dtype).view(-1, 1, 1, 1, 1)
        dev = generator.device if generator is not None else context.device
        eps = torch.randn(context.shape, generator=generator, device=dev).to(context)
        return context + sigma * eps

    @staticmethod
    def drop_context(context: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        """Classifier-free guidance: where ``drop`` (B,) is true, *every* context latent becomes
        the pad latent (zeros). The same function serves training and inference."""
        return torch.where(drop.view(-1, 1, 1, 1, 1), torch.zeros_like(context), context)

    @staticmethod
    def hide_action(mask: torch.Tensor, hide: torch.Tensor | None = None) -> torch.Tensor:
        """Action guidance: the (B, C) attention mask with the last action token (the action
        that leads to the predicted frame) masked out where ``hide`` (B,) is true (everywhere if
        ``hide`` is None), so the UNet predicts without knowing it. Training and inference
        share it."""
        m = mask.clone()
        if hide is None:
            m[:, -1] = 0
        else:
            m[:, -1] = m[:, -1] * (~hide).to(m.dtype)
        return m

    def check_action_guidance(self, scale: float) -> None:
        """One sentence when ``rollout.action_guidance`` asks for what this model never learned."""
        if scale != 1.0 and self.action_drop_prob <= 0:
            raise UserError(f"rollout.action_guidance={scale} needs a world model trained with "
                            "model.action_drop_prob > 0; set it (e.g. 0.1) and re-run with --force train, "
                            "or leave rollout.action_guidance at 1")

    # -- denoiser -------------------------------------------------------------------------
    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                actions: torch.Tensor, mask: torch.Tensor | None = None,
                bucket: torch.Tensor | None = None) -> torch.Tensor:
        """v-prediction for ``noisy`` (B, 4, h, w) given the (already noised) context."""
        b = noisy.shape[0]
        x = torch.cat([noisy, context.flatten(1, 2).to(noisy.dtype)], dim=1)
        if bucket is None:
            bucket = torch.zeros(b, dtype=torch.long, device=noisy.device)
        tokens = self.action_tokens(actions).to(noisy.dtype)
        attn_mask = None if mask is None else mask.to(noisy.dtype)
        cond = tokens[:, -1] if self.unet.config.get("time_cond_proj_dim") else None
        return self.unet(x, timesteps, encoder_hidden_states=tokens, class_labels=bucket,
                         encoder_attention_mask=attn_mask, timestep_cond=cond).sample

    # -- persistence ----------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "num_actions": self.num_actions,
            "context": self.context,
            "context_noise_max": self.noise_max,
            "context_noise_buckets": self.buckets,
            "cfg_drop_prob": self.cfg_drop_prob,
            "action_drop_prob": self.action_drop_prob,
            "predict_delta": self.predict_delta,
            "delta_scale": self.delta_scale,
            **self.meta,
        }

    def save(self, directory: str | Path, scheduler_config: dict | None = None) -> Path:
        """Write diffusers layout + own config into ``directory`` (built aside, then renamed)."""
        from almost.io import atomic_dir
        from almost.train.checkpoint import save_safetensors

        with atomic_dir(directory) as tmp:
            self.unet.save_pretrained(tmp / "unet", safe_serialization=True)
            if scheduler_config is not None:
                from diffusers import DDIMScheduler

                DDIMScheduler.from_config(scheduler_config).save_pretrained(tmp / "scheduler")
            save_safetensors({"action_embedding.weight": self.action_embedding.weight,
                              "action_position.weight": self.action_position.weight},
                             tmp / "world_model.safetensors")
            atomic_write_json(tmp / "world_model.json", self.config_dict())
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> WorldModel:
        """Load what :meth:`save` wrote; a folder that is not one is a one-sentence error."""
        from diffusers import UNet2DConditionModel

        from almost.train.checkpoint import load_safetensors

        offline()
        d = Path(directory)
        if not (d / "world_model.json").is_file() or not (d / "unet/config.json").is_file():
            raise UserError(
                f"{d} is not a saved world model (needs world_model.json and unet/); "
                "run the train stage first"
            )
        cfg = read_world_model_config(d / "world_model.json")
        try:
            unet = UNet2DConditionModel.from_pretrained(d / "unet")
        except Exception as e:  # a torn safetensors file, a config.json that is not a UNet's, ...
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            raise UserError(f"the world model's UNet in {d / 'unet'} cannot be loaded ({first}); its weights are "
                            "damaged or incomplete: re-run the train stage with --force train") from None
        meta = {k: v for k, v in cfg.items() if k not in (
            "format_version", "num_actions", "context", "context_noise_max",
            "context_noise_buckets", "cfg_drop_prob", "predict_delta", "delta_scale", "action_drop_prob")}
        model = cls(unet, cfg["num_actions"], cfg["context"], cfg["context_noise_max"],
                    cfg["context_noise_buckets"], cfg["cfg_drop_prob"], meta,
                    cfg.get("predict_delta", False), cfg.get("delta_scale", 1.0),
                    cfg.get("action_drop_prob", 0.0))
        state = load_safetensors(d / "world_model.safetensors")
        try:
            model.action_embedding.weight.data.copy_(state["action_embedding.weight"])
            model.action_position.weight.data.copy_(state["action_position.weight"])
        except (KeyError, RuntimeError) as e:
            raise UserError(f"world model weights {d / 'world_model.safetensors'} do not fit its config ({e}); "
                            f"{WORLD_MODEL_FIX}") from None
        return model


WORLD_MODEL_FIX = "re-run the train stage with --force train (it writes the model)"


def read_world_model_config(path: Path) -> dict:
    """``world_model.json``, checked field by field (one sentence naming the file and the field)."""
    from almost.io import check_fields, read_json

    cfg = read_json(path, "world model config", WORLD_MODEL_FIX, expect=dict)
    return check_fields(cfg, path, "world model config", {
        "num_actions": "posint", "context": "posint", "context_noise_max": "number",
        "context_noise_buckets": "posint", "cfg_drop_prob": "number", "predict_delta": "bool?",
        "delta_scale": "number?", "action_drop_prob": "number?", "action_names": "strs?",
        "noop_action": "count?", "latent_shape": "posints?", "scaling_factor": "number?",
        "trained_steps": "count?"}, WORLD_MODEL_FIX)


def build_world_model(mcfg, num_actions: int, latent_hw: tuple[int, int], seed: int,
                      meta: dict | None = None, latent_channels: int = LATENT_CHANNELS) -> WorldModel:
    """The world model for ``model.*``: from SD 1.x weights (``model.pretrained``) or a small
    from-scratch UNet over ``latent_channels``-channel latents. The same ``seed`` gives the
    same initial weights (the untrained baseline of the rollout stage)."""
    from diffusers import UNet2DConditionModel

    offline()
    torch.manual_seed(seed)
    if mcfg.pretrained:
        path = check_sd_layout(mcfg.pretrained)
        unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet")
        if unet.config.cross_attention_dim != mcfg.action_dim:
            raise UserError(
                f"model.action_dim is {mcfg.action_dim} but {path}/unet cross-attends to "
                f"{unet.config.cross_attention_dim}-wide tokens; set model.action_dim="
                f"{unet.config.cross_attention_dim}"
            )
        unet = adapt_pretrained_unet(unet, mcfg.context, mcfg.context_noise_buckets)
    else:
        unet = UNet2DConditionModel(**tiny_unet_config(mcfg, latent_hw, latent_channels))
    model = WorldModel(unet, num_actions, mcfg.context, mcfg.context_noise_max,
                       mcfg.context_noise_buckets, mcfg.cfg_drop_prob, meta,
                       getattr(mcfg, "predict_delta", False), getattr(mcfg, "delta_scale", 1.0),
                       getattr(mcfg, "action_drop_prob", 0.0))
    return model
