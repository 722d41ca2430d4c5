"""Stage ``pretrain``: the diffusion model the loop starts from.

With ``model.path`` set (the ``full`` profile: a local SD 1.x folder) this stage only checks
the folder loads and records it. Otherwise it trains the tiny model on procedural coloured
shapes ("a red circle"): first a small ``AutoencoderKL`` (4× downsampling: 32×32 pixels → 8×8×4 latents), then a
text-conditioned ``UNet2DConditionModel`` together with a tiny ``CLIPTextModel`` (prompt
dropout, so classifier-free guidance works), and saves them as a ``StableDiffusionPipeline``
folder ``<stage>/model``. Later rounds reuse the first round's model. Training resumes from its
checkpoints; a sample grid ``samples.png`` shows what the model draws.
"""

from __future__ import annotations

from pathlib import Path

from almost.errors import UserError
from almost.io import atomic_write_json, read_json
from almost.observe.console import console, progress


def model_dir(ctx) -> Path:
    """The model folder every later stage loads: ``model.path`` (a diffusers folder), the folder
    a single-file ``model.path`` was converted into, or the pretrained tiny model."""
    from ..loaders import is_single_file

    if ctx.config.model.path and not is_single_file(ctx.config.model.path):
        return Path(ctx.config.model.path)
    d = ctx.round_dir(1) / "pretrain" if ctx.pipeline.rounds else ctx.run_dir / "pretrain"
    info = d / "model.json"
    if info.is_file():
        return Path(read_json(info, "pretrain record")["model"])
    return ctx.find_stage_dir("pretrain") / "model"


def run(ctx) -> None:
    cfg = ctx.config
    out = ctx.stage_dir()
    if cfg.model.path:
        from ..loaders import is_single_file, load_pipeline, load_single_file, save_pipeline

        if is_single_file(cfg.model.path):
            # converted once into a diffusers folder that every later stage (and round) loads
            first = ctx.round_dir(1) / "pretrain" / "model"
            if ctx.round > 1 and (first / "model_index.json").is_file():
                atomic_write_json(out / "model.json", {"model": str(first.resolve())})
                return
            pipe = load_single_file(cfg.model.path, cfg.model.single_file_config, cfg.model.dtype)
            path = save_pipeline(out / "model", pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer, pipe.scheduler)
            n = sum(p.numel() for p in pipe.unet.parameters())
            atomic_write_json(out / "model.json", {"model": str(path.resolve()),
                                                   "single_file": str(Path(cfg.model.path).resolve())})
            ctx.log_metrics(unet_params_m=n / 1e6)
            ctx.add_artifact(path, "model (converted from the single file)")
            console.print(f"converted {cfg.model.path} into {path} (UNet {n / 1e6:.1f} M parameters)")
            return

        pipe = load_pipeline(cfg.model.path, cfg.model.dtype)
        n = sum(p.numel() for p in pipe.unet.parameters())
        atomic_write_json(out / "model.json", {"model": str(Path(cfg.model.path).resolve())})
        ctx.log_metrics(unet_params_m=n / 1e6)
        console.print(f"using the local model {cfg.model.path} (UNet {n / 1e6:.1f} M parameters)")
        return
    if ctx.profile == "full":
        raise UserError("the full profile fine-tunes your own model: pass --set model.path=/path/to/sd15 "
                        "(a local Stable Diffusion 1.x diffusers folder)")
    first = ctx.round_dir(1) / "pretrain" / "model"
    if ctx.round > 1 and (first / "model_index.json").is_file():
        atomic_write_json(out / "model.json", {"model": str(first.resolve())})
        console.print(f"round {ctx.round}: reusing the tiny model of round 1 ({first})")
        return
    train_tiny(ctx, out)


def train_tiny(ctx, out: Path) -> None:
    import torch
    import torch.nn.functional as F
    from diffusers import DDPMScheduler

    from almost.train.checkpoint import (
        Checkpoints,
        load_safetensors,
        make_accelerator,
        save_safetensors,
    )

    from ..encoding import prompt_ids
    from ..loaders import build_tiny, save_pipeline
    from ..shapes import make_dataset, vocabulary

    cfg = ctx.config.pretrain
    unet, vae, text_encoder, tokenizer, scheduler = build_tiny(vocabulary(), cfg.image_size, cfg.seed)
    images, prompts = make_dataset(cfg.dataset_size, cfg.image_size, cfg.seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    g = torch.Generator().manual_seed(cfg.seed)

    # -- 1. autoencoder ---------------------------------------------------------------------
    vae_file = out / "vae.safetensors"
    if vae_file.is_file():
        vae.load_state_dict(load_safetensors(vae_file))
    else:
        opt = torch.optim.AdamW(vae.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.vae_steps, pct_start=0.1)
        with progress() as p:
            task = p.add_task("pretrain: autoencoder", total=cfg.vae_steps, info="")
            for vae_step in range(1, cfg.vae_steps + 1):
                idx = torch.randint(len(x), (cfg.vae_batch_size,), generator=g)
                dist = vae.encode(x[idx]).latent_dist
                rec = vae.decode(dist.sample(generator=g)).sample
                loss = F.mse_loss(rec, x[idx]) + 1e-6 * dist.kl().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                mse = loss.item()
                p.update(task, advance=1, info=f"mse {mse:.4f}")
                ctx.log_step(vae_step, vae_loss=mse, vae_lr=sched.get_last_lr()[0])
        with torch.no_grad():
            lat = torch.cat([vae.encode(x[i:i + 256]).latent_dist.mean for i in range(0, len(x), 256)])
        vae.register_to_config(scaling_factor=float(1.0 / lat.std()))
        save_safetensors(vae.state_dict(), vae_file, metadata={"scaling_factor": str(vae.config.scaling_factor)})
        ctx.log_metrics(vae_mse=float(loss.item()))
    from safetensors import safe_open

    with safe_open(str(vae_file), "pt") as f:
        vae.register_to_config(scaling_factor=float(f.metadata()["scaling_factor"]))
    vae.requires_grad_(False).eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(x[i:i + 256]).latent_dist.mean for i in range(0, len(x), 256)])
        latents = latents * vae.config.scaling_factor

    # -- 2. text-conditioned UNet (+ the text encoder) ---------------------------------------
    class Pair(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.unet, self.text_encoder = unet, text_encoder

    model = Pair()
    acc = make_accelerator()  # its own: the policy stage's accelerator must hold only the LoRA UNet
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.unet_steps, pct_start=0.05)
    model, opt, sched = acc.prepare(model, opt, sched)
    ckpts = Checkpoints(out / "checkpoints", acc)
    state = ckpts.load() or {"step": 0}
    start = int(state["step"])
    if state.get("data_rng"):  # the data order goes on where the checkpoint left it (as if never stopped)
        import base64

        g.set_state(torch.frombuffer(bytearray(base64.b64decode(state["data_rng"])), dtype=torch.uint8))
    else:
        g.manual_seed(cfg.seed + start)
    noise_sched = DDPMScheduler.from_config(scheduler.config)
    ids, empty = prompt_ids(tokenizer, prompts), prompt_ids(tokenizer, [""])
    loss_ema = state.get("loss")  # a running average: part of the checkpoint, so a resume logs the same
    with progress() as p:
        task = p.add_task("pretrain: text-to-image UNet", total=cfg.unet_steps, completed=start, info="")
        for step in range(start, cfg.unet_steps):
            idx = torch.randint(len(latents), (cfg.batch_size,), generator=g)
            z0 = latents[idx]
            tok = ids[idx].clone()
            drop = torch.rand(len(idx), generator=g) < cfg.uncond_prob
            tok[drop] = empty[0]
            noise = torch.randn(z0.shape, generator=g)
            t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),), generator=g)
            zt = noise_sched.add_noise(z0, noise, t)
            emb = model.text_encoder(tok)[0]
            pred = model.unet(zt, t, encoder_hidden_states=emb).sample
            loss = F.mse_loss(pred, noise)
            opt.zero_grad()
            acc.backward(loss)
            acc.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_ema = loss.item() if loss_ema is None else 0.98 * loss_ema + 0.02 * loss.item()
            p.update(task, advance=1, info=f"loss {loss_ema:.4f}")
            ctx.log_step(step + 1, unet_loss=loss_ema, unet_lr=sched.get_last_lr()[0])
            if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < cfg.unet_steps:
                import base64

                ckpts.save(step + 1, {"loss": loss_ema,
                                      "data_rng": base64.b64encode(g.get_state().numpy().tobytes()).decode()})
    unet.eval()
    text_encoder.eval()
    path = save_pipeline(out / "model", unet, vae, text_encoder, tokenizer, scheduler)
    atomic_write_json(out / "model.json", {"model": str(path.resolve())})
    ctx.log_metrics(unet_loss=float(loss_ema if loss_ema is not None else float("nan")),
                    unet_params_m=sum(q.numel() for q in unet.parameters()) / 1e6)
    ctx.add_artifact(path, "tiny model")

    # -- 3. a look at what it draws ------------------------------------------------------------
    from ..loaders import load_pipeline
    from ..pictures import save_grid
    from ..sampling import sample_images

    pipe = load_pipeline(path)
    plist = sorted(set(prompts))
    imgs, _ = sample_images(pipe, plist, seeds=list(range(len(plist))), steps=20, guidance=3.0, eta=1.0)
    save_grid(imgs, out / "samples.png", ncol=min(6, len(plist)), labels=plist)
    ctx.add_artifact(out / "samples.png", "tiny model samples")
