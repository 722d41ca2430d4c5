"""Stage ``generate``: sample images for feedback, each with a sidecar record.

Loads the model folder (``model.path`` or the tiny model), plus the LoRA exported by the
previous round if there is one, and draws ``images_per_prompt`` images for every prompt with
``generate.sampler`` (``sampler/ddpo-ddim`` unless a plugin's is named; built with ``ctx`` and
``pipe``, given ``(prompt, seed)`` conditions).
Each image ``images/NNNNN.png`` gets ``images/NNNNN.json``: prompt, negative prompt, seed,
sampler settings, model and LoRA identity. Existing files are never deleted or overwritten:
an interrupted run continues with the missing images, and a new round writes a new folder.
Under ``accelerate launch`` every process samples its share of the batches (:mod:`almost.ranks`)
and the main process writes them: the same files as one process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from almost import ranks
from almost.errors import UserError
from almost.io import atomic_write_json
from almost.observe.console import progress

from .pretrain import model_dir


def previous_lora(ctx) -> Path | None:
    """``generate.lora`` if set, else the LoRA the previous round exported (``None`` in round 1)."""
    if ctx.config.generate.lora:
        path = Path(ctx.config.generate.lora)
        if not (path / "adapter_config.json").is_file():
            raise UserError(f"generate.lora={path} is not a LoRA folder (no adapter_config.json); "
                            "point it at an export/lora folder")
        return path
    d = ctx.previous_stage_dir("export")
    return d / "lora" if d is not None and (d / "lora" / "adapter_config.json").is_file() else None


def run(ctx) -> None:
    import torch

    from ..loaders import load_pipeline
    from ..lora import load_lora_into
    from ..pictures import save_png

    cfg = ctx.config.generate
    out = ctx.stage_dir() / "images"
    out.mkdir(exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    mpath = model_dir(ctx)
    pipe = load_pipeline(mpath, ctx.config.model.dtype if device == "cuda" else "float32", device)
    lora = previous_lora(ctx)
    lora_hash = None
    if lora is not None:
        load_lora_into(pipe.unet, lora)
        lora_hash = hashlib.sha256((lora / "adapter_model.safetensors").read_bytes()).hexdigest()

    name = cfg.sampler if "/" in cfg.sampler else f"sampler/{cfg.sampler}"
    sampler = ctx.component(name, "sampler", ctx=ctx, pipe=pipe)
    base = cfg.seed + 10000 * (ctx.round - 1)
    jobs = [(f"{i * cfg.images_per_prompt + j:05d}", p, base + j)
            for i, p in enumerate(cfg.prompts) for j in range(cfg.images_per_prompt)]
    # what is missing, as the main process (the one that writes) sees it
    todo = ranks.broadcast([job for job in jobs if not (out / f"{job[0]}.png").is_file()])
    ranks.say_share("generate", len(ranks.share(todo, cfg.batch_size)), len(todo), "images")
    with progress() as bar:
        task = bar.add_task("generate", total=len(jobs), completed=len(jobs) - len(todo), info="")
        # under `accelerate launch` each process samples whole batches of each round (the same
        # batches as one process: the same images); the main process writes the round's images
        for batch in ranks.in_rounds(todo, cfg.batch_size):
            images = None
            if batch:
                images = torch.stack([im.cpu() for im in sampler.sample([(b[1], b[2]) for b in batch])])
            made = [(b, im) for b, im in zip(batch, images.cpu() if images is not None else [])]
            made = [x for part in ranks.gather(made) for x in part]
            if not ranks.is_main():
                bar.advance(task, len(made))
                continue
            for (name, prompt, seed), im in made:
                atomic_write_json(out / f"{name}.json", {
                    "image": f"{name}.png", "prompt": prompt, "negative_prompt": cfg.negative_prompt,
                    "seed": seed, "steps": cfg.steps, "guidance": cfg.guidance, "eta": cfg.eta,
                    "height": im.shape[1], "width": im.shape[2], "sampler": getattr(sampler, "label", cfg.sampler),
                    "model": str(Path(mpath).resolve()), "lora": str(lora.resolve()) if lora else None,
                    "lora_sha256": lora_hash,
                    "round": ctx.round,
                })
                save_png(im, out / f"{name}.png")  # the PNG last: its presence means "done"
            bar.advance(task, len(made))
    ranks.barrier()  # every image on disk before anyone reads them back
    if not ranks.is_main():
        return
    contact_sheet(ctx, out)
    ctx.log_metrics(images=len(jobs), with_lora=float(lora is not None))


def contact_sheet(ctx, out: Path) -> None:
    """``grid.png``: the first image of each prompt (up to 24), for pictures of up to 128 px."""
    import numpy as np
    import torch
    from PIL import Image

    from ..pictures import save_grid

    cfg = ctx.config.generate
    firsts = [out / f"{i * cfg.images_per_prompt:05d}.png" for i in range(min(len(cfg.prompts), 24))]
    tiles = [torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1) / 255
             for f in firsts]
    if tiles and tiles[0].shape[-1] <= 128:
        save_grid(tiles, ctx.stage_dir() / "grid.png", ncol=min(6, len(tiles)), labels=cfg.prompts[:len(tiles)])
        ctx.add_artifact(ctx.stage_dir() / "grid.png", "samples")
