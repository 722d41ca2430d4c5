"""Stage ``train``: LoRA fine-tuning of the base model on the prepared ShareGPT data.

The stage builds ``dataset/{train.dataset}`` over the prepare folder and ``trainer/{train.trainer}``
(``irgen-sft``, :class:`SFTTrainer`, the loop below) with ``ctx`` and that dataset, and logs what
its ``fit()`` returns.

Reads ``prepare/train.jsonl`` and ``prepare/eval.jsonl``; the loss is on the answer only
(labels -100 on the system and user turns); examples are packed into rows without
cross-example attention (``train.pack``); eval loss every ``train.eval_every`` steps with
early stopping (``train.patience``); the best adapter is kept. Checkpoints (the core's
:class:`almost.train.checkpoint.Checkpoints`: adapter weights, optimizer, RNG states, step) go to
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
from typing import Any

import attrs

from almost import RunContext
from almost.errors import UserError
from almost.observe.console import console, progress

from ..model import base_folder, encode, load_model, load_tokenizer, mixed_precision
from ..packing import collate_packed, collate_padded, pack


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
    """The core's checkpoints (:class:`almost.train.checkpoint.Checkpoints`) for the prepared LoRA
    ``model``: the adapter weights alone (``adapter.safetensors``), the optimizer and the RNG
    states, with the caller's counters; fsynced and renamed whole, the last two kept. On resume a
    damaged newer one is set aside and the one before it is loaded."""
    from almost.train.checkpoint import Checkpoints, adapter_only_checkpoints

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


@attrs.define
class Counters:
    """What a checkpoint carries beside the weights: a resumed run goes on as if never stopped."""

    step: int = 0
    best_eval_loss: float = float("inf")
    bad_evals: int = 0
    first_loss: float | None = None
    loss_ema: float | None = None  # the running average goes on across a resume

    def extra(self) -> dict:
        return attrs.asdict(self, filter=lambda a, _: a.name != "step")


@attrs.define
class Trainer:
    """The prepared model, optimizer and schedule of one ``train`` run, and its checkpoints."""

    ctx: RunContext
    acc: Any
    model: Any
    optimizer: Any
    sched: Any
    total: int  # optimizer steps
    eval_batches: list
    ckpts: Any = None

    def resume(self) -> Counters:
        """The newest intact checkpoint loaded (none: step 0), the schedule fast-forwarded to it."""
        state = self.ckpts.load() or {}
        c = Counters(**{k: state[k] for k in attrs.fields_dict(Counters) if k in state})
        with warnings.catch_warnings():  # fast-forwarding the schedule on resume, before any optimizer step
            warnings.simplefilter("ignore")
            for _ in range(c.step):
                self.sched.step()
        if c.step:
            console.print(f"resuming from step {c.step} (best eval loss {c.best_eval_loss:.4f})")
        return c

    def step(self, stream, c: Counters) -> tuple[float, int]:
        """One optimizer step over ``train.grad_accum`` micro-batches: ``(last loss, tokens seen)``."""
        acc, model, optimizer = self.acc, self.model, self.optimizer
        tokens = 0
        for _ in range(self.ctx.config.train.grad_accum):
            b = {k: v.to(acc.device) for k, v in next(stream).items()}
            with acc.accumulate(model):
                loss = answer_loss(model, b)  # no cache inside: packed rows get a block mask
                acc.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            tokens += int(b["input_ids"].numel())
            loss = float(loss.detach())
            c.loss_ema = loss if c.loss_ema is None else 0.9 * c.loss_ema + 0.1 * loss
        self.sched.step()
        c.step += 1
        self.ctx.check_finite(loss, step=c.step)  # a float already: no extra device sync
        c.first_loss = c.first_loss if c.first_loss is not None else loss
        return loss, tokens

    def eval_and_save(self, c: Counters, best_dir: Path) -> tuple[float, bool]:
        """Eval loss, the best adapter kept, a checkpoint: ``(eval loss, stop early)``."""
        cfg, acc = self.ctx.config.train, self.acc
        ev = eval_loss(self.model, self.eval_batches) if self.eval_batches else c.loss_ema
        self.ctx.check_finite(ev, step=c.step, what="eval loss")  # before anything is saved
        stopped = False
        if ev < c.best_eval_loss - 1e-4:
            c.best_eval_loss, c.bad_evals = ev, 0
            if acc.is_main_process:
                acc.unwrap_model(self.model).save_pretrained(best_dir)
        else:
            c.bad_evals += 1
            stopped = bool(cfg.patience) and c.bad_evals >= cfg.patience
        self.ctx.log_step(c.step, eval_loss=ev)
        self.ckpts.save(c.step, c.extra())  # every process calls it; the main one writes
        return ev, stopped


def _examples(ctx: RunContext, tok, dataset) -> tuple[list, list, int]:
    """``(training examples, eval examples, dropped)``: tokenized, those over ``train.max_length`` dropped."""
    cfg = ctx.config.train
    train_rec = dataset.split("train")
    train_ex = tokenize_all(tok, train_rec, cfg.max_length)
    dropped_long = len(train_rec) - len(train_ex)  # longer than train.max_length: counted in the metrics
    if dropped_long:
        console.print(f"[yellow]{dropped_long} of {len(train_rec)} training examples are longer than "
                      f"train.max_length={cfg.max_length} tokens and were dropped[/]")
    eval_ex = tokenize_all(tok, dataset.split("eval"), cfg.max_length)[: cfg.eval_examples]
    if not train_ex:
        raise UserError(f"no training example fits train.max_length={cfg.max_length}; raise it")
    return train_ex, eval_ex, dropped_long


def _trainer(ctx: RunContext, acc, model, pad_id: int, train_ex, eval_ex) -> Trainer:
    """The optimizer and cosine schedule for ``train.epochs`` (or ``train.max_steps``), prepared."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    cfg = ctx.config.train
    eval_batches = make_batches(eval_ex, cfg, pad_id, random.Random(0)) if eval_ex else []
    rank, world = acc.process_index, acc.num_processes
    steps_per_epoch = math.ceil(len(make_batches(train_ex, cfg, pad_id, random.Random(0), rank, world))
                                / cfg.grad_accum)
    total = math.ceil(steps_per_epoch * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    sched = get_cosine_schedule_with_warmup(optimizer, max(1, total // 10), total)
    model, optimizer = acc.prepare(model, optimizer)
    t = Trainer(ctx, acc, model, optimizer, sched, total, eval_batches)
    t.ckpts = checkpoints(ctx.stage_dir() / "checkpoints", acc, model)
    return t


def _micro_batches(train_ex, cfg, pad_id: int, rank: int, world: int, skip: int):
    """The micro-batches of epoch after epoch (each shuffled by its own seed), the first ``skip`` left out."""
    epoch, n = 0, 0
    while True:
        for b in make_batches(train_ex, cfg, pad_id, random.Random(cfg.seed + epoch), rank, world):
            n += 1
            if n > skip:  # what the checkpoint already saw is skipped
                yield b
        epoch += 1


def run(ctx: RunContext) -> None:
    cfg = ctx.config.train
    dataset = ctx.component(f"dataset/{cfg.dataset}", root=ctx.find_stage_dir("prepare"))
    ctx.log_metrics(**ctx.component(f"trainer/{cfg.trainer}", ctx=ctx, dataset=dataset).fit())


class SFTTrainer:
    """``trainer/irgen-sft``: the ``train`` stage's LoRA fine-tuning (see the module docstring).

    Built by the stage as ``trainer/{train.trainer}`` with ``ctx`` and ``dataset`` (``train.dataset``:
    its ``split("train")`` and ``split("eval")`` ShareGPT records). ``fit()`` writes ``train/adapter``,
    checkpoints under ``train/checkpoints``, resumes from them, and returns the stage's metrics; after
    a finished ``fit()`` a second one returns the same metrics without training."""

    def __init__(self, ctx: RunContext, dataset) -> None:
        self.ctx, self.dataset = ctx, dataset
        self.output_dir = ctx.stage_dir()

    def fit(self) -> dict:
        from .. import finished

        done = finished.read(self.output_dir)
        if done is not None:  # finished before: train no further
            return done
        metrics = _fit(self.ctx, self.dataset)
        finished.write(self.output_dir, metrics)
        return metrics


def _fit(ctx: RunContext, dataset) -> dict:
    import torch

    cfg, mcfg = ctx.config.train, ctx.config.model
    out = ctx.stage_dir()
    torch.manual_seed(cfg.seed)
    acc = ctx.accelerator(mixed_precision=mixed_precision(cfg.mixed_precision), gradient_accumulation_steps=cfg.grad_accum)
    folder = base_folder(mcfg.base, ctx.run_dir / "base-model")
    tok = load_tokenizer(folder)
    train_ex, eval_ex, dropped_long = _examples(ctx, tok, dataset)
    if acc.device.type == "cuda":
        _check_memory(folder, cfg, mcfg.dtype, acc.device)
    model = lora_model(load_model(folder, mcfg.dtype, quantize_4bit=cfg.load_in_4bit, device=acc.device), cfg)
    frozen_linears_to(model, acc.mixed_precision)
    model.train()
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    t = _trainer(ctx, acc, model, tok.pad_token_id, train_ex, eval_ex)
    c = t.resume()
    stream = _micro_batches(train_ex, cfg, tok.pad_token_id, acc.process_index, acc.num_processes,
                            c.step * cfg.grad_accum)
    best_dir = out / "best-adapter"
    tokens, t0, stopped = 0, time.time(), False
    with progress() as bar:
        task = bar.add_task("train (LoRA)", total=t.total, completed=c.step, info="")
        while c.step < t.total and not stopped:
            loss, n = t.step(stream, c)
            tokens += n
            bar.update(task, completed=c.step, info=f"loss {c.loss_ema:.3f}")
            ctx.log_step(c.step, loss=loss, loss_ema=c.loss_ema, lr=t.sched.get_last_lr()[0],
                         tokens_per_s=tokens / max(time.time() - t0, 1e-9))
            if c.step % cfg.eval_every == 0 or c.step == t.total:
                ev, stopped = t.eval_and_save(c, best_dir)
                bar.update(task, info=f"loss {c.loss_ema:.3f} eval {ev:.3f}")
    seconds = time.time() - t0
    if stopped:
        console.print(f"early stop at step {c.step}: eval loss did not improve for {cfg.patience} evals")
    adapter = out / "adapter"
    if acc.is_main_process:
        if best_dir.is_dir():
            shutil.rmtree(adapter, ignore_errors=True)
            shutil.copytree(best_dir, adapter)
        else:
            acc.unwrap_model(t.model).save_pretrained(adapter)
        tok.save_pretrained(adapter)
    acc.wait_for_everyone()
    ctx.add_artifact(adapter, "LoRA adapter")
    return dict(steps=c.step, train_examples=len(train_ex), dropped_long_examples=dropped_long,
                    trainable_params=n_params, first_loss=c.first_loss or 0.0, final_train_loss=c.loss_ema or 0.0,
                    best_eval_loss=c.best_eval_loss, tokens_per_s=tokens / max(seconds, 1e-9), train_s=seconds)
