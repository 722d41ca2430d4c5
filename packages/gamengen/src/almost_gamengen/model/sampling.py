"""Generating the next latent with DDIM (v-prediction), context noise and context CFG.

:class:`SampleSettings` is how a frame is sampled (DDIM steps, context noise, the two guidance
scales), one value built from the config in one place (:meth:`SampleSettings.of`);
:class:`Sampler` is a world model with its scheduler and those settings, and every caller
(the rollout stage, the probe, the world-model env behind ``play``) samples through it.

The run's sampler is a registered component named by ``rollout.sampler`` and built in one
place, :func:`make_sampler`, with the keywords ``model`` (the :class:`WorldModel`),
``scheduler_config`` (the run's saved ``train/model/scheduler/scheduler_config.json``) and
``settings``. Two are built in and differ only in their diffusers scheduler: ``gamengen-ddim``
(:func:`ddim`, ``DDIMScheduler``, the default) and ``gamengen-dpmsolver`` (:func:`dpmsolver`,
``DPMSolverMultistepScheduler``, DPM-Solver++ 2M); context noise and both guidances are the
same code.

:meth:`Sampler.next_latent` is the one inference step of the world model: noise the context
with the bucket nearest to ``context_noise``, run ``steps`` DDIM steps from pure noise, and, when
``guidance_scale`` ≠ 1, mix the conditional prediction with one whose *whole* context was
dropped by :meth:`WorldModel.drop_context` (the same function training uses); when
``action_guidance`` ≠ 1, also with one that does not see the action leading to the frame
(:meth:`WorldModel.hide_action`, trained with ``model.action_drop_prob``), which pushes the
frame further the way that action moves it:

    v = v_cond + (guidance_scale − 1)(v_cond − v_no_context) + (action_guidance − 1)(v_cond − v_no_action)
"""

from __future__ import annotations

from typing import Any

import attrs
import torch

SCHEDULERS = {"ddim": "DDIMScheduler", "dpmsolver": "DPMSolverMultistepScheduler"}
"""Scheduler kind → the diffusers class that steps the world model's samples."""


def make_scheduler(scheduler_config: dict, kind: str = "ddim"):
    """The diffusers scheduler ``kind`` (:data:`SCHEDULERS`) of the training noise schedule
    ``scheduler_config``; its prediction type is the one the UNet was trained for (v or ε)."""
    import diffusers

    from almost.errors import UserError

    sched = getattr(diffusers, SCHEDULERS[kind]).from_config(scheduler_config)
    trained = scheduler_config.get("prediction_type", "epsilon")
    if sched.config.prediction_type != trained:
        raise UserError(f"the {kind} scheduler predicts {sched.config.prediction_type!r} but the world "
                        f"model was trained for {trained!r}; sample it with another rollout.sampler")
    return sched


def make_sampler(registry, name: str, model, scheduler_config: dict, settings: SampleSettings) -> Sampler:
    """The run's sampler (``rollout.sampler``, a registered ``sampler/NAME``) of ``model``, the
    one place rollout, the probe, the world-model env and ``play`` make it."""
    return registry.create(name, "sampler", model=model, scheduler_config=dict(scheduler_config), settings=settings)


def ddim(model, scheduler_config: dict, settings: SampleSettings | None = None) -> Sampler:
    """``sampler/gamengen-ddim``: the world model sampled with DDIM (η = 0)."""
    return Sampler(model, make_scheduler(scheduler_config, "ddim"), settings or SampleSettings())


def dpmsolver(model, scheduler_config: dict, settings: SampleSettings | None = None) -> Sampler:
    """``sampler/gamengen-dpmsolver``: the world model sampled with DPM-Solver++ (2M, diffusers'
    ``DPMSolverMultistepScheduler``) at the same steps, context noise and guidance."""
    return Sampler(model, make_scheduler(scheduler_config, "dpmsolver"), settings or SampleSettings())


@attrs.frozen
class SampleSettings:
    """How the world model samples a frame."""

    steps: int = 4  # DDIM steps per frame
    context_noise: float = 0.0  # σ of the noise added to the context (snapped to a trained bucket)
    guidance_scale: float = 1.0  # classifier-free guidance over the context (1: off)
    action_guidance: float = 1.0  # guidance towards the action's effect (1: off)

    @classmethod
    def of(cls, rollout, *, play: bool = False, steps: int | None = None) -> SampleSettings:
        """The settings of ``rollout`` (the run's ``RolloutConfig``): ``rollout.ddim_steps``
        DDIM steps, or with ``play`` those ``almost gamengen play`` shows (``rollout.play_steps``,
        ``ddim_steps`` when it is 0); ``steps`` overrides both."""
        n = steps or (rollout.play_steps if play else 0) or rollout.ddim_steps
        return cls(int(n), float(rollout.context_noise), float(rollout.guidance_scale),
                   float(rollout.action_guidance))


@attrs.frozen(eq=False)
class Sampler:
    """A world model, its scheduler (DDIM, DPM-Solver) and the :class:`SampleSettings` it
    samples with.

    As a registered ``Sampler`` (:mod:`almost.protocols`): a condition is a dict with
    ``context`` (C, 4, h, w) latents, ``actions`` (C,) and optionally ``mask`` (C,); a sample
    is the next latent (4, h, w)."""

    model: Any
    scheduler: Any
    settings: SampleSettings = SampleSettings()

    def with_settings(self, **changes) -> Sampler:
        return attrs.evolve(self, settings=attrs.evolve(self.settings, **changes))

    @torch.no_grad()
    def next_latent(self, context: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor | None = None,
                    generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Sample x_0 (B, 4, h, w) given context latents (B, C, 4, h, w) and actions (B, C).

        ``noise`` (broadcastable to (B, 4, h, w)) replaces the starting noise: with DDIM's η = 0
        the same noise gives the same sample, so branches that differ only in their actions can
        be compared without sampling noise in between."""
        model, s = self.model, self.settings
        b = context.shape[0]
        device, dtype = context.device, next(model.parameters()).dtype
        shape = (b, context.shape[2], context.shape[3], context.shape[4])
        bucket = torch.full((b,), model.bucket_of(s.context_noise), dtype=torch.long, device=device)
        clean = context = context.to(dtype)
        if s.context_noise > 0:
            context = model.noise_context(context, bucket, generator)
        if noise is None:
            gdev = generator.device if generator is not None else device
            x = torch.randn(shape, generator=generator, device=gdev).to(device, dtype)
        else:
            x = noise.to(device, dtype).expand(shape).clone()
        self._set_steps(device)
        passes, context_in, actions_in, mask_in, bucket_in = self._guided_inputs(context, actions, mask, bucket)
        for t in self.scheduler.timesteps:
            x_in = x.repeat(passes, 1, 1, 1) if passes > 1 else x
            ts = torch.full((x_in.shape[0],), int(t), dtype=torch.long, device=device)
            v = self._guide(model(x_in, ts, context_in, actions_in, mask_in, bucket_in), passes)
            x = self.scheduler.step(v, t, x).prev_sample
        return model.from_target(x, clean)

    def sample(self, conditions, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One next latent per condition (see the class doc), in one batch."""
        device = next(self.model.parameters()).device
        context = torch.stack([torch.as_tensor(c["context"], dtype=torch.float32) for c in conditions]).to(device)
        actions = torch.stack([torch.as_tensor(c["actions"], dtype=torch.long) for c in conditions]).to(device)
        masks = [c.get("mask") for c in conditions]
        mask = None if any(m is None for m in masks) else torch.stack(
            [torch.as_tensor(m, dtype=torch.float32) for m in masks]).to(device)
        return list(self.next_latent(context, actions, mask, generator).cpu().unbind(0))

    def example_conditions(self) -> list[dict]:
        """Three random contexts of the model's shape, each with an action of its own."""
        g = torch.Generator().manual_seed(0)
        c, n = self.model.context, self.model.num_actions
        ucfg = self.model.unet.config
        size = ucfg.sample_size if isinstance(ucfg.sample_size, list | tuple) else (ucfg.sample_size,) * 2
        shape = (c, ucfg.out_channels, *size)
        return [{"context": torch.randn(shape, generator=g), "actions": torch.full((c,), k % n, dtype=torch.long),
                 "mask": torch.ones(c)} for k in range(3)]

    def _set_steps(self, device) -> None:
        sched, steps = self.scheduler, self.settings.steps
        stateful = getattr(sched, "model_outputs", None) is not None  # multistep: starts afresh each frame
        if stateful or sched.num_inference_steps != steps or sched.timesteps.device != torch.device(device):
            sched.set_timesteps(steps, device=device)

    def _guided_inputs(self, context, actions, mask, bucket):
        """One batched UNet call per DDIM step: [conditional, no context?, no action?]."""
        s, b, device = self.settings, context.shape[0], context.device
        passes = 1 + (s.guidance_scale != 1.0) + (s.action_guidance != 1.0)
        if s.action_guidance != 1.0 and mask is None:
            mask = torch.ones(actions.shape, device=device)
        if passes == 1:  # no copies on the plain path
            return passes, context, actions, mask, bucket
        context_in, mask_in = [context], [mask]
        if s.guidance_scale != 1.0:
            context_in.append(self.model.drop_context(context, torch.ones(b, dtype=torch.bool, device=device)))
            mask_in.append(mask)
        if s.action_guidance != 1.0:
            context_in.append(context)
            mask_in.append(self.model.hide_action(mask))
        return (passes, torch.cat(context_in), actions.repeat(passes, 1),
                None if mask is None else torch.cat(mask_in), bucket.repeat(passes))

    def _guide(self, v: torch.Tensor, passes: int) -> torch.Tensor:
        if passes == 1:
            return v
        s = self.settings
        vs = v.chunk(passes)
        v, k = vs[0], 1
        if s.guidance_scale != 1.0:
            v = vs[k] + s.guidance_scale * (vs[0] - vs[k])
            k += 1
        if s.action_guidance != 1.0:
            v = v + (s.action_guidance - 1.0) * (vs[0] - vs[k])
        return v

    @torch.no_grad()
    def rollout(self, codec, context: torch.Tensor, mask: torch.Tensor, actions: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Generate ``len(actions)`` frames autoregressively from one seeded context.

        ``context`` (C, 4, h, w) and ``mask`` (C,) hold the seed (padding where mask is 0);
        ``actions`` (C + H - 1,) are the actions after each context frame (the no-op on padding;
        the last one leads to the first generated frame) followed by the H - 1 actions to play
        after each generated frame but the last. Each new latent joins the context (the oldest
        leaves). ``codec`` (:class:`~almost_gamengen.model.vae.FrameCodec`) decodes them. Returns
        the generated latents (H, 4, h, w) and frames (H, 3, H_px, W_px) in [0, 1].
        """
        c = context.shape[0]
        ctx, m = context[None].clone(), mask[None].clone()
        lats, frames = [], []
        for k in range(len(actions) - c + 1):
            z = self.next_latent(ctx, actions[None, k:k + c], m, generator)
            lats.append(z[0])
            frames.append(codec.decode(z)[0])
            ctx = torch.cat([ctx[:, 1:], z[:, None].to(ctx.dtype)], dim=1)
            m = torch.cat([m[:, 1:], torch.ones_like(m[:, :1])], dim=1)
        return torch.stack(lats), torch.stack(frames)
