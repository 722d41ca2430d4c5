"""The ``irgen`` plugin: Unity IR → C# with a fine-tuned local LLM.

Registers ``sampler/rules`` (the offline rule generator) and the ``irgen`` pipeline
(synth → prepare → train → evaluate → export) with its ``tiny`` and ``full`` profiles.
Heavy libraries (torch, transformers, peft) are imported inside the stages only.
"""

from __future__ import annotations

import almost
from almost.runs import Pipeline, Stage


def _rules_sampler(**kw):
    from .rules import RulesSampler

    return RulesSampler(**kw)


@almost.hookimpl
def almost_register(registry):
    registry.add("sampler", "rules", _rules_sampler, help="IR spec → C# MonoBehaviour by rules (irgen baseline)")
    registry.add("reward", "csharp-compile", "almost_irgen.rewards:CompileReward",
                 help="1 if the C# compiles against Unity's API (mcs), else 0; options compiler, workers")
    registry.add("reward", "csharp-behaviour", "almost_irgen.rewards:BehaviourReward",
                 help="1 if the C# behaves as its IR says in the simulated Unity, compile_credit if it only compiles")


@almost.hookimpl
def almost_pipelines(register):
    from almost.registry import lazy_profiles  # the config module loads when a run needs it

    register(Pipeline(
        name="irgen",
        help="Unity IR → C#: synthesise data, LoRA fine-tune a local LLM, compile-check, export",
        stages=[
            Stage("synth", "almost_irgen.stages.synth:run", "(prompt, IR, code) triplets: rules or a teacher model"),
            Stage("prepare", "almost_irgen.stages.prepare:run", "ShareGPT JSONL, dedup, 85/15 split"),
            Stage("train", "almost_irgen.stages.train:run", "LoRA fine-tuning, answer-only loss, packing"),
            Stage("refine", "almost_irgen.stages.refine:run", "RLOO on the LoRA from compiler and behaviour rewards"),
            Stage("evaluate", "almost_irgen.stages.evaluate:run", "compile@1/@k with mcs and IR conformance"),
            Stage("export", "almost_irgen.stages.export:run", "adapter, merged model, GGUF, Ollama Modelfile"),
        ],
        profiles=lazy_profiles("almost_irgen.config:PROFILES", ("tiny", "full", "full-24gb")),
        headline=("gain", "sensitivity", "return_mean", "return_random", "at_1", "after", "final", "heldout", "held_out", "eval", "psnr", "reward", "rate", "accuracy", "acc", "loss", "score", "lpips", "kl", "per_s"),
    ))


@almost.hookimpl
def almost_commands(cli):
    import click

    @cli.group("irgen")
    def irgen():
        """irgen tools: try a trained run, convert to GGUF, estimate GPU memory."""

    @irgen.command("try")
    @click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="the irgen run folder")
    def try_(run_dir):
        """Read IR JSON lines from the terminal and print the fine-tuned model's C#."""
        from .tryout import main

        main(run_dir)

    @irgen.command("generate")
    @click.argument("request")
    @click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False),
                  help="the irgen run folder (default: runs/irgen/tiny)")
    @click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
                  help="where to write the script (default: CLASSNAME.cs)")
    @click.option("--repair", "repair", default=2, show_default=True, type=click.IntRange(0, 10),
                  help="repair rounds: failing code goes back with the compiler's or checker's errors")
    @click.option("--ir-only", is_flag=True, help="print the IR and stop")
    def generate_(request, run_dir, out, repair, ir_only):
        """A sentence (or IR JSON) → IR (shown) → C# → compile + behaviour check → repair → a .cs file."""
        from .generatecli import main

        main(request, run_dir, out, repair, ir_only)

    @irgen.command("serve")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="port (0: any free)")
    @click.option("--repair", "repair", default=2, show_default=True, type=click.IntRange(0, 10),
                  help="default repair rounds (a request may send repair_rounds)")
    @click.option("--api-key", default=None, envvar="ALMOST_API_KEY",
                  help="the bearer key clients send (default: $ALMOST_API_KEY, else a new one printed at start)")
    def serve_(run_dir, host, port, repair, api_key):
        """An OpenAI-compatible /v1/chat/completions for the run's model (sentence → IR → C#, with repair)."""
        from .serve import main

        main(run_dir, host, port, repair, api_key)

    @irgen.command("check")
    @click.argument("files", nargs=-1, type=click.Path())
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per file")
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="compile processes")
    @click.option("--ir", "ir_path", default=None, metavar="SPEC.json",
                  help="also run each file in a simulated Unity and judge it against this IR spec")
    def check(files, as_json, workers, ir_path):
        """Compile C# files against Unity's API, each on its own: a verdict per file; exit 0 only if all compile.

        With --ir SPEC.json, also a behaviour verdict per file; exit 0 only if all behave."""
        from .checkcli import NotAllCompile, main

        if main(list(files), as_json, workers, ir_path) != 0:
            raise NotAllCompile()

    @irgen.command("gguf")
    @click.argument("model_dir")
    @click.argument("out", type=click.Path(dir_okay=False))
    @click.option("--outtype", type=click.Choice(["f32", "f16", "q8_0"]), default="f16", show_default=True,
                  help="tensor type of the 2-D weights")
    def gguf_(model_dir, out, outtype):
        """Convert a transformers model folder (or hub id) to GGUF for llama.cpp / Ollama / LM Studio."""
        from almost.observe.console import console

        from .gguf_export import convert

        path = convert(model_dir, out, outtype)
        console.print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")

    @irgen.command("memory")
    @click.option("--profile", default="full", show_default=True, help="irgen config profile")
    @click.option("--model", "model", default=None,
                  help="preset (olmo3-7b, qwen2.5-7b, llama3.1-8b, mistral-7b), a model folder or a config.json; "
                       "default: the profile's model.base when it is a folder, else olmo3-7b")
    @click.option("--set", "sets", multiple=True, help="config overrides, e.g. train.batch_tokens=4096")
    @click.option("--gpu-gb", type=float, default=16.0, show_default=True, help="card size to compare against")
    def memory_(profile, model, sets, gpu_gb):
        """Estimate the peak GPU memory of training (and generation) on the meta device: nothing is allocated."""
        from pathlib import Path

        from almost.observe.console import console
        from almost.plugins import load

        from .memory import load_config, report

        cfg = load().pipeline("irgen").resolve_config(profile, None, sets)
        if model is None:
            model = cfg.model.base if (Path(cfg.model.base) / "config.json").is_file() else "olmo3-7b"
        _, text = report(load_config(model), cfg.train, cfg.model.dtype, cfg.evaluate, gpu_gb=gpu_gb)
        console.print(text)
