"""Stage ``refine``: RL from compiler and behaviour feedback on the trained LoRA (RLOO or GRPO).

The stage builds ``trainer/{refine.trainer}`` (:func:`build_trainer`: with ``ctx``, the run's
``dataset/{train.dataset}``, the built ``reward/{refine.reward}`` and ``refine.trainer_options``)
and logs what its ``fit()`` returns. ``irgen-rloo`` (:class:`RLOOTrainer`, the default) is
described below; ``irgen-grpo`` (:class:`GRPOTrainer`) shares everything but steps 3 and 4.

Each step:

1. draws ``refine.prompts_per_step`` training specs (seeded by step, so a resumed run draws the
   same ones) and samples ``refine.group_size`` programs for each from the current policy
   (the base model + the LoRA from ``train``), at ``refine.temperature``;
2. scores them with ``reward/NAME`` (``refine.reward``: ``csharp-behaviour`` by default — 1 if
   it behaves as its IR says, 0.5 if it only compiles, 0 otherwise — or ``csharp-compile``,
   or any plugin's reward, which gets the programs and their IR JSON);
3. turns rewards into RLOO advantages: each program's reward minus the mean of the *other*
   programs for the same spec (a baseline with no value network and no bias);
4. takes one policy-gradient step on the LoRA weights: loss = −advantage × the program's
   mean token log-probability (a group whose programs all scored the same teaches nothing
   and is skipped), with gradient clipping.

This is REINFORCE Leave-One-Out (Ahmadian et al., 2024), the on-policy special case of GRPO
with one update per batch (so no ratio clipping is needed) and no KL term: the few steps the
``tiny`` profile takes stay near the SFT adapter. A checkpoint (LoRA weights, optimizer, RNG,
step, history) goes to ``refine/checkpoints/step-N`` through :class:`almost.train.checkpoint.Checkpoints`
every ``refine.checkpoint_every`` steps; an interrupted run resumes from the latest. A loss or
reward that stops being finite ends the stage with one sentence.

At the end ``refine/adapter`` holds the refined LoRA (``evaluate`` and ``generate`` prefer it),
and the first ``refine.eval_examples`` held-out specs are answered greedily by the SFT adapter
and the refined one: metrics ``compile_at_1``, ``behaviour_at_1`` (refined) and
``compile_at_1_sft``, ``behaviour_at_1_sft``, plus ``reward_first`` / ``reward_last`` (mean
reward of the first and last steps) and ``refine_s``. ``history.json`` has one row per step.
With ``refine.steps = 0`` the stage keeps the SFT adapter and scores it once. ``eval_programs.json`` keeps the refined adapter's
greedy programs, which ``evaluate`` reuses instead of generating them again.
"""

from __future__ import annotations

import random
import time
from typing import Any

import attrs

from almost import RunContext
from almost.errors import UserError
from almost.io import atomic_dir, atomic_write_json
from almost.observe.console import console, progress

from ..generator import conversation, extract_code
from ..ir import dumps, loads
from ..model import base_folder, load_model, load_tokenizer, mixed_precision
from ..sharegpt import turn


def code_specs(records: list[dict]) -> list[dict]:
    """The IRs of the IR → C# records (the sentence → IR ones are skipped)."""
    out = []
    for r in records:
        if r.get("task", "ir2code") != "ir2code":
            continue
        out.append(loads(turn(r, "human"), "a prepared IR"))
    return out


def rloo(rewards, group: int):
    """Leave-one-out advantages: ``r_i − mean(r_j, j ≠ i)`` within each group of ``group``."""
    r = rewards.reshape(-1, group)
    others = (r.sum(dim=1, keepdim=True) - r) / (group - 1)
    return (r - others).reshape(-1)


def sequence_logprobs(model, ids, attn, width: int):
    """Mean log-probability of each row's completion (tokens after ``width`` where ``attn`` is 1)."""
    lp, m = token_logprobs(model, ids, attn, width)
    return (lp * m).sum(-1) / m.sum(-1).clamp(min=1)


def token_logprobs(model, ids, attn, width: int):
    """Each completion token's log-probability ``(B, new)`` and the mask of the real ones."""
    import torch

    pos = (attn.cumsum(-1) - 1).clamp(min=0)  # left padding: positions start at each row's first token
    new = ids.shape[1] - width
    logits = model(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=False,
                   logits_to_keep=new + 1).logits[:, :-1].float()
    target = ids[:, width:]
    lp = torch.log_softmax(logits, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return lp, attn[:, width:].to(lp.dtype)


def completion_mask(gen, width: int, stop: list[int], prompt_mask):
    """Attention mask of prompt + completion up to and including its first end token."""
    import torch

    new = gen[:, width:]
    is_stop = torch.zeros_like(new, dtype=torch.bool)
    for s in stop:
        is_stop |= new == s
    after = (is_stop.cumsum(-1) - is_stop.long()) > 0  # strictly after the first end token
    return torch.cat([prompt_mask, (~after).long()], dim=-1)


def greedy_scores(lm, irs: list[dict], max_new_tokens: int, checker, behaviour,
                  keep: list | None = None) -> tuple[float, float | None]:
    """compile@1 and behaviour@1 of greedy programs for ``irs``; the programs are appended to ``keep``."""
    if not irs:
        return 0.0, None
    codes = lm.codes(irs, max_new_tokens)
    if keep is not None:
        keep.extend(codes)
    if behaviour is None:
        return sum(r.ok for r in checker.check(codes)) / len(codes), None
    results, behave = behaviour.compile_and_check(irs, codes)  # each program compiled once for both
    return sum(r.ok for r in results) / len(codes), sum(b.ok for b in behave) / len(codes)


PROGRAMS = "eval_programs.json"  # the refined adapter's greedy programs; evaluate reuses them


def reusable_programs(refine_dir, irs: list[dict], max_new_tokens: int) -> list[str] | None:
    """The refined adapter's greedy programs for ``irs`` if refine wrote them for the same specs
    (a prefix of its list) and the same token budget, else None."""
    import json

    f = refine_dir / PROGRAMS
    if not irs or not f.is_file():
        return None
    got = json.loads(f.read_text())
    specs = [dumps(ir) for ir in irs]
    if got.get("max_new_tokens") != max_new_tokens or got.get("specs", [])[: len(specs)] != specs:
        return None
    return list(got["codes"][: len(specs)])


@attrs.define
class Policy:
    """The LoRA being refined: prepared for accelerate (``model``), unwrapped (``bare``), its
    optimizer and trainable parameters, and the generation loop over it."""

    acc: Any
    model: Any
    bare: Any
    opt: Any
    params: list
    lm: Any  # generator.LocalModel over ``bare``
    stop: list[int]  # every id that ends a turn


def _policy(ctx: RunContext, tok, adapter_in) -> Policy:
    import torch
    from peft import PeftModel

    from ..generator import LocalModel
    from ..gguf_export import eos_ids

    cfg = ctx.config.refine
    torch.manual_seed(cfg.seed)
    acc = ctx.accelerator(mixed_precision=mixed_precision(ctx.config.train.mixed_precision))
    folder = base_folder(ctx.config.model.base, ctx.run_dir / "base-model")
    base = load_model(folder, ctx.config.model.dtype, quantize_4bit=ctx.config.train.load_in_4bit, device=acc.device)
    model = PeftModel.from_pretrained(base, adapter_in, is_trainable=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    model, opt = acc.prepare(model, opt)
    bare = acc.unwrap_model(model)
    lm = LocalModel(bare, tok, batch_size=max(ctx.config.evaluate.batch_size, 1), progress="refine eval")
    return Policy(acc, model, bare, opt, params, lm, eos_ids(bare.get_base_model(), tok))


@attrs.define
class Sampled:
    """One step's programs: the token ids (prompt + completion), their mask, the prompt width,
    the rewards and the advantages."""

    gen: Any
    attn: Any
    width: int
    rewards: Any
    adv: Any


def _sample_and_score(ctx: RunContext, pol: Policy, reward_fn, key: str, irs: list[dict], step: int):
    """Sample the programs for ``irs`` and score them: ``(gen, attn, width, rewards)``."""
    import torch

    cfg, tok = ctx.config.refine, pol.lm.tok
    prompts = [pol.lm.prompt_ids(conversation(ir)) for ir in irs]
    pol.bare.eval()
    gen, width = pol.lm.generate_ids(prompts, max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                                     seed=cfg.seed * 7919 + step)
    prompt_mask = torch.zeros(len(prompts), width, dtype=torch.long)
    for r, p in enumerate(prompts):
        prompt_mask[r, width - len(p):] = 1
    attn = completion_mask(gen.cpu(), width, pol.stop, prompt_mask)
    codes = [extract_code(tok.decode(row, skip_special_tokens=True)) for row in gen[:, width:]]
    rewards = torch.as_tensor(reward_fn(codes, [dumps(ir) for ir in irs]), dtype=torch.float32).reshape(-1)
    if rewards.numel() != len(codes):
        raise UserError(f"{key} returned {rewards.numel()} rewards for {len(codes)} programs; "
                        "a reward must return one number per program")
    ctx.check_finite(rewards, step=step + 1, what=f"the reward ({key})")
    return gen, attn, width, rewards


def _apply(ctx: RunContext, pol: Policy, loss, step: int) -> float:
    """Backward, clip, one optimizer step: the loss as a float (checked finite)."""
    pol.acc.backward(loss)
    pol.acc.clip_grad_norm_(pol.params, ctx.config.refine.max_grad_norm)
    pol.opt.step()
    pol.opt.zero_grad()
    return ctx.check_finite(loss, step=step + 1)  # one sync per step: this step is seconds long


class RLOOTrainer:
    """``trainer/irgen-rloo``: the ``refine`` stage's policy-gradient loop (see the module docstring).

    Built by the stage as ``trainer/{refine.trainer}`` with ``ctx``, ``dataset`` (``train.dataset``:
    its ``split("train")`` and ``split("eval")``), ``reward`` (the built ``refine.reward``) and
    ``reward_key``, plus ``refine.trainer_options``. ``fit()`` writes ``refine/adapter``,
    checkpoints under ``refine/checkpoints``, logs one history step per policy step, resumes, and
    returns the stage's metrics. A subclass changes ``advantages`` and ``update`` only."""

    label = "RLOO"

    def __init__(self, ctx: RunContext, dataset, reward, reward_key: str = "reward") -> None:
        self.ctx, self.dataset, self.reward, self.key = ctx, dataset, reward, reward_key
        self.output_dir = ctx.stage_dir()

    def advantages(self, rewards):
        return rloo(rewards, self.ctx.config.refine.group_size)

    def update(self, pol: Policy, s: Sampled, step: int) -> tuple[float, int]:
        """One RLOO step: loss = −advantage × mean token log-probability; ``(loss, learning rows)``."""
        keep = s.adv.abs() > 1e-8
        if not bool(keep.any()):  # every group scored the same: nothing to learn
            return 0.0, 0
        pol.bare.train()
        lp = sequence_logprobs(pol.model, s.gen[keep].to(pol.acc.device), s.attn[keep].to(pol.acc.device), s.width)
        loss = -(s.adv[keep].to(lp.device) * lp).sum() / len(s.adv)
        return _apply(self.ctx, pol, loss, step), int(keep.sum())

    def step(self, pol: Policy, irs: list[dict], step: int) -> dict:
        """Sample, score, advantages, update: the step's history row."""
        gen, attn, width, rewards = _sample_and_score(self.ctx, pol, self.reward, self.key, irs, step)
        s = Sampled(gen, attn, width, rewards, self.advantages(rewards))
        loss_v, rows = self.update(pol, s, step)
        return {"step": step + 1, "reward_mean": float(rewards.mean()), "reward_std": float(rewards.std()),
                "loss": loss_v, "learning_rows": rows, "rewards": rewards.tolist()}

    def fit(self) -> dict:
        from .. import finished

        done = finished.read(self.output_dir)
        if done is not None:  # finished before: train no further
            return done
        metrics = _fit(self.ctx, self)
        finished.write(self.output_dir, metrics)
        return metrics


def grpo_advantages(rewards, group: int, eps: float = 1e-4):
    """GRPO's advantages: ``(r − group mean) / (group std + eps)`` within each group of ``group``
    (a group whose rewards are all equal gets exactly 0)."""
    r = rewards.reshape(-1, group)
    adv = (r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, keepdim=True) + eps)
    same = (r == r[:, :1]).all(dim=1, keepdim=True)
    return adv.masked_fill(same, 0.0).reshape(-1)


class GRPOTrainer(RLOOTrainer):
    """``trainer/irgen-grpo``: Group Relative Policy Optimization (Shao et al., 2024, DeepSeekMath).

    The same sampling, rewards, checkpoints and metrics as RLOO; per step: group-normalised
    advantages (:func:`grpo_advantages`), then ``updates`` optimizer steps on the PPO-style clipped
    objective ``min(ρ·A, clip(ρ, 1 − clip, 1 + clip)·A)`` per token (ρ the ratio to the sampling
    policy), minus ``kl`` × the k3 estimate of the KL to the reference (the base model without the
    LoRA), averaged over each program's tokens and over the programs. Options (``refine.trainer_options``):
    ``clip`` (0.2), ``kl`` (0.04; 0 skips the reference pass), ``updates`` (2)."""

    label = "GRPO"

    def __init__(self, ctx: RunContext, dataset, reward, reward_key: str = "reward", clip: float = 0.2,
                 kl: float = 0.04, updates: int = 2) -> None:
        super().__init__(ctx, dataset, reward, reward_key)
        if not (clip > 0 and kl >= 0 and int(updates) >= 1):
            raise UserError(f"refine.trainer_options for irgen-grpo need clip > 0, kl >= 0 and updates >= 1, "
                            f"not clip={clip}, kl={kl}, updates={updates}")
        self.clip, self.kl, self.updates = float(clip), float(kl), int(updates)

    def advantages(self, rewards):
        return grpo_advantages(rewards, self.ctx.config.refine.group_size)

    def update(self, pol: Policy, s: Sampled, step: int) -> tuple[float, int]:
        """``updates`` steps on the clipped objective (+ KL) of this step's programs."""
        import torch

        keep = s.adv.abs() > 1e-8 if not self.kl else torch.ones_like(s.adv, dtype=torch.bool)
        if not bool(keep.any()):
            return 0.0, 0
        dev = pol.acc.device
        ids, attn, adv = s.gen[keep].to(dev), s.attn[keep].to(dev), s.adv[keep].to(dev)[:, None]
        pol.bare.eval()
        with torch.no_grad():
            old, mask = token_logprobs(pol.model, ids, attn, s.width)
            ref = None
            if self.kl:
                with pol.bare.disable_adapter():
                    ref, _ = token_logprobs(pol.model, ids, attn, s.width)
        loss_v = 0.0
        for _ in range(self.updates):
            pol.bare.train()
            lp, _ = token_logprobs(pol.model, ids, attn, s.width)
            ratio = torch.exp(lp - old)
            per_token = -torch.min(ratio * adv, ratio.clamp(1 - self.clip, 1 + self.clip) * adv)
            if ref is not None:
                d = ref - lp
                per_token = per_token + self.kl * (torch.exp(d) - d - 1)
            loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).sum() / len(s.adv)
            loss_v = _apply(self.ctx, pol, loss, step)
        return loss_v, int(keep.sum())


def build_trainer(ctx: RunContext):
    """``trainer/{refine.trainer}`` with the run's dataset and reward (``refine.trainer_options`` checked)."""
    cfg = ctx.config.refine
    dataset = ctx.component(f"dataset/{ctx.config.train.dataset}", root=ctx.find_stage_dir("prepare"))
    key = cfg.reward if "/" in cfg.reward else f"reward/{cfg.reward}"
    reward_fn = ctx.registry.build(key, cfg.reward_options, "reward", where="refine.reward_options")
    name = cfg.trainer if "/" in cfg.trainer else f"trainer/{cfg.trainer}"
    return ctx.registry.build(name, cfg.trainer_options, "trainer", where="refine.trainer_options", ctx=ctx,
                              dataset=dataset, reward=reward_fn, reward_key=key)


def run(ctx: RunContext) -> None:
    ctx.log_metrics(**build_trainer(ctx).fit())


def _fit(ctx: RunContext, trainer: RLOOTrainer) -> dict:
    from almost.train.checkpoint import Checkpoints, adapter_only_checkpoints

    from ..csharp import find_compiler

    cfg = ctx.config.refine
    adapter_in = ctx.find_stage_dir("train") / "adapter"
    if not adapter_in.is_dir():
        raise UserError(f"stage 'train' left no adapter in {adapter_in}; run `{ctx.command('train', force=True)}`")
    specs = code_specs(trainer.dataset.split("train"))
    evals = code_specs(trainer.dataset.split("eval"))[: cfg.eval_examples]
    if not specs:
        raise UserError("the training set has no IR → C# examples for refine; re-run prepare")
    tok = load_tokenizer(base_folder(ctx.config.model.base, ctx.run_dir / "base-model"))
    tok.padding_side = "left"
    pol = _policy(ctx, tok, adapter_in)
    checker = find_compiler(ctx.config.evaluate.compiler)
    behaviour = _behaviour(checker)
    sft = _sft_scores(ctx, pol, evals, (checker, behaviour))

    adapter_only_checkpoints(pol.acc, pol.model)  # checkpoints hold the LoRA only
    ckpts = Checkpoints(ctx.stage_dir() / "checkpoints", pol.acc)
    state = ckpts.load()
    start, history = 0, []
    if state is not None:
        start, history = int(state["step"]), list(state["history"])
        console.print(f"resuming refine from step {start} ({ckpts.latest()})")

    if start < cfg.steps:  # said also where progress bars are off
        console.print(f"refine: {trainer.label} on {trainer.key}, steps {start + 1}–{cfg.steps}")
    t0 = time.time()
    with progress() as bar:
        task = bar.add_task(f"refine ({trainer.label}, {trainer.key})", total=cfg.steps, completed=start, info="")
        for step in range(start, cfg.steps):
            rng = random.Random(cfg.seed * 1_000_003 + step)
            batch = [specs[rng.randrange(len(specs))] for _ in range(cfg.prompts_per_step)]
            rec = trainer.step(pol, [ir for ir in batch for _ in range(cfg.group_size)], step)
            history.append(rec)
            ctx.log_step(step + 1, reward_mean=rec["reward_mean"], loss=rec["loss"])
            bar.update(task, completed=step + 1, info=f"reward {rec['reward_mean']:.3f}")
            if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
                ckpts.save(step + 1, {"history": history})
    return _finish(ctx, pol, (history, time.time() - t0), sft, evals, (checker, behaviour))


def _sft_scores(ctx: RunContext, pol: Policy, evals: list[dict], checks: tuple) -> dict:
    """The SFT adapter's greedy scores, before any step (``sft_scores.json``, kept across a resume)."""
    import json

    cfg, out = ctx.config.refine, ctx.stage_dir()
    sft_file = out / "sft_scores.json"
    if cfg.eval_examples and not sft_file.is_file():
        sft_codes: list[str] = []
        comp, beh = greedy_scores(pol.lm, evals, cfg.max_new_tokens, *checks, sft_codes)
        atomic_write_json(sft_file, {"compile_at_1": comp, "behaviour_at_1": beh, "codes": sft_codes})
    return json.loads(sft_file.read_text()) if sft_file.is_file() else {}


def _behaviour(checker):
    """The behaviour check when mcs and mono are there, else None."""
    import shutil as sh

    if checker.compiles and sh.which("mono"):
        from ..unitysim import BehaviourChecker

        return BehaviourChecker(checker)
    return None


def _finish(ctx: RunContext, pol: Policy, done: tuple, sft: dict, evals: list[dict], checks: tuple) -> dict:
    """Write ``refine/adapter``, ``history.json`` and the refined adapter's greedy programs: the metrics."""
    cfg, out, tok = ctx.config.refine, ctx.stage_dir(), pol.lm.tok
    (history, seconds), (checker, behaviour) = done, checks
    adapter = out / "adapter"
    if pol.acc.is_main_process:
        with atomic_dir(adapter) as tmp:
            pol.bare.save_pretrained(tmp)
            tok.save_pretrained(tmp)
    atomic_write_json(out / "history.json", history)
    ctx.add_artifact(adapter, "refined LoRA adapter")
    pol.bare.eval()
    codes_out: list[str] = []
    if not cfg.eval_examples:
        comp, beh = 0.0, None
    elif cfg.steps == 0:  # the adapter is the SFT one, already scored
        comp, beh, codes_out = sft.get("compile_at_1", 0.0), sft.get("behaviour_at_1"), list(sft.get("codes", []))
    else:
        comp, beh = greedy_scores(pol.lm, evals, cfg.max_new_tokens, checker, behaviour, codes_out)
    checker.close()
    if codes_out:
        atomic_write_json(out / PROGRAMS, {"max_new_tokens": cfg.max_new_tokens, "specs": [dumps(ir) for ir in evals],
                                           "codes": codes_out})
    metrics = {"steps": cfg.steps, "reward_first": history[0]["reward_mean"] if history else 0.0,
               "reward_last": history[-1]["reward_mean"] if history else 0.0, "refine_s": seconds}
    if cfg.eval_examples:
        metrics.update(compile_at_1=comp, compile_at_1_sft=sft.get("compile_at_1", 0.0), eval_specs=len(evals))
        if beh is not None:
            metrics.update(behaviour_at_1=beh, behaviour_at_1_sft=sft.get("behaviour_at_1") or 0.0)
    return metrics
