"""Stage ``train``: LoRA fine-tuning of the base model on the prepared ShareGPT data.

Reads ``prepare/train.jsonl`` and ``prepare/eval.jsonl``; the loss is on the answer only
(labels -100 on the system and user turns); examples are packed into rows without
cross-example attention (``train.pack``); eval loss every ``train.eval_every`` steps with
early stopping (``train.patience``); the best adapter is kept. Checkpoints (the core's
:class:`almost.checkpoint.Checkpoints`: adapter weights, optimizer, RNG states, step) go to
``train/checkpoints/step-N`` and an interrupted run resumes from the latest intact one. Runs
through accelerate (``accelerate launch`` for several GPUs): each rank trains on its own share of
the packed rows (``shard``) and only the main process writes checkpoints and the adapter. 4-bit QLoRA (bitsandbytes NF4, CUDA) and gradient checkpointing are what let the
``full`` profile's 7B model fit a 16 GB card; on CUDA the stage prints the estimated peak
(:mod:`almost_irgen.memory`) and warns when it exceeds the card. Writes ``train/adapter/``.
"""

from __future__ import annotations

import math
import random
import shutil
import time
import warnings
from pathlib import Path

from almost import RunContext
from almost.console import console, progress
from almost.errors import UserError

from ..model import base_folder, encode, load_model, load_tokenizer, mixed_precision
from ..packing import collate_packed, collate_padded, pack
from ..sharegpt import read_jsonl


def tokenize_all(tok, records: list[dict], max_length: int) -> list[tuple[list[int], list[int]]]:
    out = [encode(tok, r["conversations"]) for r in records]
    return [ex for ex in out if len(ex[0]) <= max_length]


def shard(items: list, rank: int, world: int) -> list:
    """Rank ``rank``'s share of ``items``: every ``world``-th item, the same count on every rank (a
    short tail is dropped, and a list shorter than ``world`` is repeated) so all ranks step together."""
    if world <= 1:
        return list(items)
    if len(items) < world:
        items = [items[i % len(items)] for i in range(world)]
    n = len(items) // world * world
    return list(items[rank:n:world])


def make_batches(examples, cfg, pad_id: int, rng: random.Random, rank: int = 0, world: int = 1) -> list[dict]:
    examples = list(examples)
    rng.shuffle(examples)
    if cfg.pack:
        rows = shard(pack(examples, max(cfg.batch_tokens, cfg.max_length)), rank, world)
        return [collate_packed(rows[i:i + cfg.batch_size], pad_id) for i in range(0, len(rows), cfg.batch_size)]
    examples = shard(examples, rank, world)
    n = cfg.batch_size
    # grouped by length (as transformers' group_by_length): each shuffled chunk of 50 batches is
    # sorted by length and cut into batches, whose order is shuffled again, so a batch pads little
    # and attention costs the longest example, not a packed row's whole width (~1.25x per token on
    # the 2-core CPU against 1,024-token packed rows)
    chunk = 50 * n
    ordered = [ex for i in range(0, len(examples), chunk)
               for ex in sorted(examples[i:i + chunk], key=lambda e: len(e[0]))]
    batches = [ordered[i:i + n] for i in range(0, len(ordered), n)]
    rng.shuffle(batches)
    return [collate_padded(b, pad_id) for b in batches]


def lora_model(model, cfg):
    from peft import LoraConfig, get_peft_model

    # What peft's prepare_model_for_kbit_training does, minus its upcast of every non-4-bit weight
    # to fp32 (the embedding and output head: +3.3 GB on OLMo-3-7B, the margin that makes 16 GB fit).
    for p in model.parameters():
        p.requires_grad_(False)
    if cfg.gradient_checkpointing:
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        try:
            enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        except TypeError:
            enable()
        model.enable_input_require_grads()
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = [t for t in cfg.target_modules if t not in names]
    if missing:
        raise UserError(f"train.target_modules {missing} are not modules of this model; pick from "
                        f"{sorted(n for n in names if 'proj' in n or 'attn' in n or 'fc' in n)[:12]}")
    n_layers = model.config.num_hidden_layers
    top = range(n_layers - cfg.lora_layers, n_layers) if 0 < cfg.lora_layers < n_layers else None
    # adapters on the top layers only: backpropagation then stops at the lowest adapted layer
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules), task_type="CAUSAL_LM",
                      layers_to_transform=list(top) if top else None)
    return get_peft_model(model, lcfg)


def frozen_linears_to(model, mixed: str) -> int:
    """Store the frozen fp32 weights of the linear layers in the autocast dtype (bf16/fp16) once.

    Autocast casts a frozen weight again at every use (its cast cache keeps only weights that
    require grad); the matmuls see the same rounded values either way, so this changes no number.
    It halves these weights' memory; the speed gain was 1.10x in a 7-step probe and none in the
    side-by-side benchmark (``bench_irgen_train.py --variants``). A weight tied to the input
    embedding (SmolLM2's output head) is left alone: the embedding lookup is not autocast.
    Returns how many were cast.
    """
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(str(mixed))
    if dtype is None:
        return 0
    emb = model.get_input_embeddings().weight
    n = 0
    for mod in model.modules():
        w = getattr(mod, "weight", None)
        if (isinstance(mod, torch.nn.Linear) and w is not None and not w.requires_grad
                and w.dtype == torch.float32 and w is not emb):
            mod.weight.data = w.data.to(dtype)  # .data: keeps the Parameter object that peft holds
            n += 1
    return n


def answer_loss(model, batch: dict):
    """The batch's mean next-token loss over its labelled (answer) tokens, with the output head
    applied only where a label follows (``logits_to_keep`` as a mask): the same number as the
    model's own ``loss``, without the logits of prompt tokens (about half of a tiny example, and
    a 49k-column head for SmolLM2)."""
    import torch

    labels = batch["labels"]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != -100
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False, logits_to_keep=keep).logits  # (labelled tokens, vocab)
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels[:, 1:][keep[:, :-1]])


def eval_loss(model, batches) -> float:
    import torch

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for b in batches:
            loss = answer_loss(model, {k: v.to(model.device) for k, v in b.items()})
            k = int((b["labels"][:, 1:] != -100).sum())
            total += float(loss) * k
            n += k
    model.train()
    return total / max(n, 1)


def checkpoints(ckdir: Path, acc, model):
    """The core's checkpoints (:class:`almost.checkpoint.Checkpoints`) for the prepared LoRA
    ``model``: the adapter weights alone (``adapter.safetensors``), the optimizer and the RNG
    states, with the caller's counters; fsynced and renamed whole, the last two kept. On resume a
    damaged newer one is set aside and the one before it is loaded."""
    from almost.checkpoint import Checkpoints, adapter_only_checkpoints

    adapter_only_checkpoints(acc, model, file="adapter.safetensors")
    return Checkpoints(ckdir, acc, keep=2)


def _check_memory(folder: Path, cfg, dtype: str, device) -> None:
    """Print the estimated peak and warn when it is over the card (see ``almost irgen memory``)."""
    import torch

    from ..memory import load_config, report

    total = torch.cuda.get_device_properties(device).total_memory
    est, text = report(load_config(str(folder)), cfg, dtype, gpu_gb=total / 1e9)
    console.print(text.splitlines()[-1].strip())
    if est.total > total:
        console.print(f"[yellow]estimated peak {est.gib():.1f} GiB exceeds this GPU's {total / 2**30:.1f} GiB: "
                      "lower train.batch_tokens or set train.load_in_4bit=true[/]")


def run(ctx: RunContext) -> None:
    import torch
    from transformers import get_cosine_schedule_with_warmup

    cfg, mcfg = ctx.config.train, ctx.config.model
    prep = ctx.find_stage_dir("prepare")
    out = ctx.stage_dir()
    torch.manual_seed(cfg.seed)
    acc = ctx.accelerator(mixed_precision=mixed_precision(cfg.mixed_precision), gradient_accumulation_steps=cfg.grad_accum)

    folder = base_folder(mcfg.base, ctx.run_dir / "base-model")
    tok = load_tokenizer(folder)
    train_rec = read_jsonl(prep / "train.jsonl", "training set")
    train_ex = tokenize_all(tok, train_rec, cfg.max_length)
    dropped_long = len(train_rec) - len(train_ex)  # longer than train.max_length: counted in the metrics
    if dropped_long:
        console.print(f"[yellow]{dropped_long} of {len(train_rec)} training examples are longer than "
                      f"train.max_length={cfg.max_length} tokens and were dropped[/]")
    eval_ex = tokenize_all(tok, read_jsonl(prep / "eval.jsonl", "eval set"), cfg.max_length)[: cfg.eval_examples]
    if not train_ex:
        raise UserError(f"no training example fits train.max_length={cfg.max_length}; raise it")
    if acc.device.type == "cuda":
        _check_memory(folder, cfg, mcfg.dtype, acc.device)
    model = lora_model(load_model(folder, mcfg.dtype, quantize_4bit=cfg.load_in_4bit, device=acc.device), cfg)
    frozen_linears_to(model, acc.mixed_precision)
    model.train()
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    rng = random.Random(cfg.seed)
    eval_batches = make_batches(eval_ex, cfg, tok.pad_token_id, random.Random(0)) if eval_ex else []
    rank, world = acc.process_index, acc.num_processes
    steps_per_epoch = math.ceil(len(make_batches(train_ex, cfg, tok.pad_token_id, random.Random(0), rank, world))
                                / cfg.grad_accum)
    total = math.ceil(steps_per_epoch * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    sched = get_cosine_schedule_with_warmup(optimizer, max(1, total // 10), total)
    model, optimizer = acc.prepare(model, optimizer)

    ckpts = checkpoints(out / "checkpoints", acc, model)
    state = ckpts.load() or {"step": 0}
    step = state["step"]
    best, bad = state.get("best_eval_loss", float("inf")), state.get("bad_evals", 0)
    with warnings.catch_warnings():  # fast-forwarding the schedule on resume, before any optimizer step
        warnings.simplefilter("ignore")
        for _ in range(step):
            sched.step()
    if step:
        console.print(f"resuming from step {step} (best eval loss {best:.4f})")
    best_dir = out / "best-adapter"

    def micro_batches():
        epoch = 0
        while True:
            yield from make_batches(train_ex, cfg, tok.pad_token_id, random.Random(cfg.seed + epoch), rank, world)
            epoch += 1

    stream = micro_batches()
    for _ in range(step * cfg.grad_accum):  # skip what the checkpoint already saw
        next(stream)
    del rng
    tokens, t0, loss_ema, stopped = 0, time.time(), state.get("loss_ema"), False  # the average goes on
    first_loss = state.get("first_loss")
    with progress() as bar:
        task = bar.add_task("train (LoRA)", total=total, completed=step, info="")
        while step < total and not stopped:
            for _ in range(cfg.grad_accum):
                b = {k: v.to(acc.device) for k, v in next(stream).items()}
                with acc.accumulate(model):
                    loss = answer_loss(model, b)  # no cache inside: packed rows get a block mask
                    acc.backward(loss)
                    optimizer.step()
                    optimizer.zero_grad()
                tokens += int(b["input_ids"].numel())
                loss = float(loss.detach())
                loss_ema = loss if loss_ema is None else 0.9 * loss_ema + 0.1 * loss
            sched.step()
            step += 1
            ctx.check_finite(loss, step=step)  # a float already: no extra device sync
            first_loss = first_loss if first_loss is not None else loss
            bar.update(task, completed=step, info=f"loss {loss_ema:.3f}")
            ctx.log_step(step, loss=loss, loss_ema=loss_ema, lr=sched.get_last_lr()[0],
                         tokens_per_s=tokens / max(time.time() - t0, 1e-9))
            if step % cfg.eval_every == 0 or step == total:
                ev = eval_loss(model, eval_batches) if eval_batches else loss_ema
                ctx.check_finite(ev, step=step, what="eval loss")  # before anything is saved
                if ev < best - 1e-4:
                    best, bad = ev, 0
                    if acc.is_main_process:
                        acc.unwrap_model(model).save_pretrained(best_dir)
                else:
                    bad += 1
                    stopped = bool(cfg.patience) and bad >= cfg.patience
                bar.update(task, info=f"loss {loss_ema:.3f} eval {ev:.3f}")
                ctx.log_step(step, eval_loss=ev)
                ckpts.save(step, {"best_eval_loss": best, "bad_evals": bad, "first_loss": first_loss,
                                  "loss_ema": loss_ema})  # every process calls it; the main one writes
    seconds = time.time() - t0
    if stopped:
        console.print(f"early stop at step {step}: eval loss did not improve for {cfg.patience} evals")
    adapter = out / "adapter"
    if acc.is_main_process:
        if best_dir.is_dir():
            shutil.rmtree(adapter, ignore_errors=True)
            shutil.copytree(best_dir, adapter)
        else:
            acc.unwrap_model(model).save_pretrained(adapter)
        tok.save_pretrained(adapter)
    acc.wait_for_everyone()
    ctx.add_artifact(adapter, "LoRA adapter")
    ctx.log_metrics(steps=step, train_examples=len(train_ex), dropped_long_examples=dropped_long,
                    trainable_params=n_params,
                    first_loss=first_loss or 0.0, final_train_loss=loss_ema or 0.0, best_eval_loss=best,
                    tokens_per_s=tokens / max(seconds, 1e-9), train_s=seconds)
