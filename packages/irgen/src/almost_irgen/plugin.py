"""The ``irgen`` plugin: Unity IR → C# with a fine-tuned local LLM.

Registers ``sampler/rules`` (the offline rule generator) and the ``irgen`` pipeline
(synth → prepare → train → evaluate → export) with its ``tiny`` and ``full`` profiles.
Heavy libraries (torch, transformers, peft) are imported inside the stages only.
"""

from __future__ import annotations

import almost
from almost.pipeline import Pipeline, Stage


def _rules_sampler(**kw):
    from .rules import RulesSampler

    return RulesSampler(**kw)


@almost.hookimpl
def almost_register(registry):
    registry.add("sampler", "rules", _rules_sampler, help="IR spec → C# MonoBehaviour by rules (irgen baseline)")


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
            Stage("evaluate", "almost_irgen.stages.evaluate:run", "compile@1/@k with mcs and IR conformance"),
            Stage("export", "almost_irgen.stages.export:run", "adapter, merged model, GGUF, Ollama Modelfile"),
        ],
        profiles=lazy_profiles("almost_irgen.config:PROFILES", ("tiny", "full", "full-24gb")),
    ))


@almost.hookimpl
def almost_commands(cli):
    import click

    @cli.group("irgen")
    def irgen():
        """irgen tools: try specs by hand against a trained run."""

    @irgen.command("try")
    @click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="the irgen run folder")
    def try_(run_dir):
        """Read IR JSON lines from the terminal and print the fine-tuned model's C#."""
        from .tryout import main

        main(run_dir)
