"""irgen: measured GPU peak of a QLoRA training step versus `almost irgen memory`'s estimate.

    uv run python benchmarks/bench_irgen_memory.py [--model olmo3-7b|DIR] [--profile full] [--steps 3]

Needs CUDA and bitsandbytes (`pip install 'almost-irgen[cuda]'`). A preset name builds a model
with random weights from the preset's config (saved once to a temporary folder, ~15 GB of disk
for a 7B model), so no download is needed; a folder is loaded as it is. It runs the train stage's
own pieces (`load_model` in 4-bit, `lora_model`, AdamW, bf16 autocast) on random token rows of
the profile's shape and prints the estimate, torch's peak allocated and reserved bytes, and
their ratios. Target: measured reserved / estimate between 0.8 and 1.1.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    import torch

    from almost.plugins import load
    from almost_irgen.memory import GIB, PRESETS, load_config, report
    from almost_irgen.model import load_model
    from almost_irgen.stages.train import lora_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="olmo3-7b")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    cfg = load().pipeline("irgen").resolve_config(args.profile, None, [])
    tcfg = cfg.train
    hf_cfg = load_config(args.model)
    est, text = report(hf_cfg, tcfg, cfg.model.dtype)
    print(text)

    folder = Path(args.model)
    if args.model in PRESETS:
        folder = Path(tempfile.gettempdir()) / f"almost-bench-{args.model}"
        if not (folder / "config.json").is_file():
            from transformers import AutoModelForCausalLM

            torch.manual_seed(0)
            AutoModelForCausalLM.from_config(hf_cfg, dtype=torch.bfloat16).save_pretrained(folder)
    torch.cuda.reset_peak_memory_stats()
    model = lora_model(load_model(folder, cfg.model.dtype, quantize_4bit=tcfg.load_in_4bit,
                                  device=torch.device("cuda")), tcfg)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    width = max(tcfg.batch_tokens, tcfg.max_length)
    for _ in range(args.steps):
        ids = torch.randint(0, hf_cfg.vocab_size, (tcfg.batch_size, width), device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    alloc, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
    ctx = est.parts["CUDA context + allocator"]
    print(f"\n{'':24}{'GiB':>8}{'/ estimate':>12}")
    print(f"{'estimate (all terms)':24}{est.gib():8.2f}{1.0:12.2f}")
    print(f"{'estimate w/o context':24}{(est.total - ctx) / GIB:8.2f}{(est.total - ctx) / est.total:12.2f}")
    print(f"{'max allocated':24}{alloc / GIB:8.2f}{alloc / est.total:12.2f}")
    print(f"{'max reserved':24}{reserved / GIB:8.2f}{reserved / est.total:12.2f}")
    print(f"(+ the CUDA context, not counted by torch; card: {torch.cuda.get_device_name()})")


if __name__ == "__main__":
    main()
