"""The ``irgen`` plugin: Unity IR → C# with a fine-tuned local LLM.

Registers ``sampler/rules`` (the offline rule generator), ``sampler/irgen-llm``,
``dataset/irgen-triplets``, ``trainer/irgen-sft``, ``trainer/irgen-rloo``, ``trainer/irgen-grpo``, the rewards and the ``irgen`` pipeline
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
    registry.add("sampler", "irgen-llm", "almost_irgen.generator:LLMSampler",
                 help="IR spec → C# with a local transformers model (and LoRA): the one generation loop")
    registry.add("dataset", "irgen-triplets", "almost_irgen.sharegpt:Triplets",
                 help="prepare's ShareGPT train/eval split (IR → C# and sentence → IR records)")
    registry.add("trainer", "irgen-sft", "almost_irgen.stages.train:SFTTrainer",
                 help="LoRA fine-tuning, answer-only loss, packing, early stopping (stage train)")
    registry.add("trainer", "irgen-rloo", "almost_irgen.stages.refine:RLOOTrainer",
                 help="REINFORCE leave-one-out on the LoRA from a reward (stage refine)")
    registry.add("trainer", "irgen-grpo", "almost_irgen.stages.refine:GRPOTrainer",
                 help="GRPO: group-normalised advantages, clipped ratio, KL to the base (stage refine); "
                      "options clip, kl, updates")
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
    from .cli import register  # the verbs: try, generate, serve, check, gguf, memory

    register(cli)
