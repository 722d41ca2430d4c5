"""Action sensitivity: does the world model respond to the action the way the game does?

From ``K`` probe states, play every action ``a`` constantly for ``H`` steps twice: in the
world model (autoregressive, the same starting noise for every branch, so the branches differ
only through their actions) and in the real game (ViZDoom is deterministic given its seed and
the action sequence, so each branch replays the state from a reset). Both sides go through
the same VAE (real frames are encoded and decoded), so the VAE's blur cancels out.

* ``action_sensitivity`` = Σ_states mean_{a<b} ‖M_a − M_b‖² / Σ_states mean_{a<b} ‖R_a − R_b‖²
  — how far apart the model's branches are, relative to how far apart the game's are.
  A frame copier scores 0; a model that reproduces the game scores 1.
* ``action_nearest_rate`` — how often model branch ``M_a`` is nearer to its own real branch
  ``R_a`` than to any other real branch (ties with an identical real branch count as right).
  A copier scores about the share of actions that do nothing visible; a perfect model 1.

Probe states are fresh games: seeds from the ``probe`` stream (:mod:`almost_gamengen.data.seeds`,
never a training or collect seed), reached by ``context + U[0, 16)`` random steps that do not
shoot.
"""

from __future__ import annotations

import numpy as np
import torch


def pair_sq(x: torch.Tensor) -> torch.Tensor:
    """(A, ...) branches → (A, A) mean squared difference between every two of them."""
    f = x.flatten(1).double()
    sq = (f * f).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * f @ f.T
    return (d.clamp_min(0) / f.shape[1]).float()


def cross_sq(model: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """(A, ...) and (A, ...) → (A, A) mean squared difference of model branch i, real branch j."""
    m, r = model.flatten(1).double(), real.flatten(1).double()
    d = (m * m).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * m @ r.T
    return (d.clamp_min(0) / m.shape[1]).float()


def branch_scores(model_branches, real_branches) -> dict[str, float]:
    """Scores of K probe states; each element is an (A, H, 3, h, w) tensor of frames in [0, 1]."""
    num = den = 0.0
    hits, total = 0, 0
    for m, r in zip(model_branches, real_branches, strict=True):
        a = m.shape[0]
        iu = torch.triu_indices(a, a, 1)
        dm, dr = pair_sq(m), pair_sq(r)
        num += float(dm[iu[0], iu[1]].mean())
        den += float(dr[iu[0], iu[1]].mean())
        c = cross_sq(m, r)
        own = c.diagonal()
        hits += int((own <= c.min(dim=1).values * (1 + 1e-5) + 1e-12).sum())
        total += a
    return {
        "action_sensitivity": num / den if den > 0 else float("nan"),
        "action_nearest_rate": hits / max(total, 1),
        "action_divergence_model": num / max(len(model_branches), 1),
        "action_divergence_real": den / max(len(real_branches), 1),
    }


def play_branches(spec, seed_value: int, prefix: list[int], actions: list[int], horizon: int):
    """Replay ``prefix`` from ``reset(seed)`` once per action ``a``, then play ``a`` ``horizon``
    times. Returns the prefix frames (T+1, H, W, 3) (frame 0 and after each prefix action), the
    branches (A, horizon, H, W, 3) (a finished game keeps showing its last frame) and whether
    every replay reached the very same prefix frames (the game is deterministic)."""
    env = spec.make()
    try:
        first, branches, same = None, [], True
        for a in actions:
            frame, _ = env.reset(seed=seed_value)
            frames, done = [frame], False
            for p in prefix:
                if not done:
                    frame, _, term, trunc, _ = env.step(p)
                    done = term or trunc
                frames.append(frame)
            if first is None:
                first = np.stack(frames)
            else:
                same = same and bool(np.array_equal(first, np.stack(frames)))
            out = []
            for _ in range(horizon):
                if not done:
                    frame, _, term, trunc, _ = env.step(a)
                    done = term or trunc
                out.append(frame)
            branches.append(np.stack(out))
        return first, np.stack(branches), same
    finally:
        env.close()


def probe_prefix(seed: int, k: int, context: int, allowed: list[int], spec) -> tuple[int, list[int]]:
    """Probe state ``k``: its game seed and the random actions (drawn from ``allowed``) that lead
    to it; the game must still run at the end of them (shortened until it does)."""
    from ..data.seeds import game_seed

    s = game_seed(seed, "probe", k)
    rng = np.random.default_rng([seed, 7, k])
    n = context + int(rng.integers(0, 16))
    prefix = [int(allowed[i]) for i in rng.integers(0, len(allowed), n)]
    env = spec.make()
    try:
        env.reset(seed=s)
        for i, p in enumerate(prefix):
            _, _, term, trunc, _ = env.step(p)
            if term or trunc:
                return s, prefix[:i]
        return s, prefix
    finally:
        env.close()


def branch_start(context: torch.Tensor, mask: torch.Tensor, prefix_actions: torch.Tensor,
                 actions: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One state's context (C, 4, h, w), mask (C,) and ``prefix_actions`` (C - 1,) (the actions
    after all but the last context frame) → the (A, C, ...) contexts, masks and actions of its
    A branches, the last action of branch ``a`` being ``actions[a]``."""
    a, dev = len(actions), context.device
    ctx = context[None].expand(a, *context.shape).clone()
    m = mask[None].expand(a, -1).clone()
    acts = torch.cat([prefix_actions[None].expand(a, -1).to(dev),
                      torch.tensor(actions, device=dev)[:, None]], dim=1)
    return ctx, m, acts


@torch.no_grad()
def model_branches(sampler, codec, start, horizon: int, generator: torch.Generator) -> torch.Tensor:
    """All action branches of one state at once (batch = actions), from ``start`` (see
    :func:`branch_start`, on the model's device), each action played ``horizon`` times. Every
    step uses one starting noise for all branches. Returns (A, horizon, 3, H, W) frames in
    [0, 1] on the CPU."""
    ctx, m, acts = start
    a = ctx.shape[0]
    shape = (1, *ctx.shape[2:])
    latents = []
    for _ in range(horizon):
        noise = torch.randn(shape, generator=generator, device=generator.device)
        z = sampler.next_latent(ctx, acts, m, generator, noise)
        latents.append(z)
        ctx = torch.cat([ctx[:, 1:], z[:, None].to(ctx.dtype)], dim=1)
        m = torch.cat([m[:, 1:], torch.ones_like(m[:, :1])], dim=1)
        acts = torch.cat([acts[:, 1:], acts[:, -1:]], dim=1)
    # decoded once at the end (batch horizon × A), not once per step: no device→host copy in the loop
    z = torch.stack(latents, dim=1).flatten(0, 1)  # (A * horizon, 4, h, w), branch-major
    frames = torch.cat([codec.decode(z[i:i + 64]) for i in range(0, len(z), 64)])
    return frames.reshape(a, horizon, *frames.shape[1:])


def through_vae(codec, frames: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → encoded and decoded frames (N, 3, H, W) in [0, 1] on the CPU."""
    return torch.cat([codec.decode(codec.encode(frames[i:i + 64])) for i in range(0, len(frames), 64)])


def probe_start(sampler, codec, seen: np.ndarray, prefix: list[int], actions: list[int]):
    """The branches' start (:func:`branch_start`) from a probe state's frames ``seen`` (the
    last C become the context, encoded) and the ``prefix`` actions that led there."""
    model, device = sampler.model, codec.device
    c = model.context
    ctx_frames = seen[max(0, len(seen) - c):]
    context = torch.zeros(c, *model_latent_shape(model, codec.vae, codec.size), device=device)
    mask = torch.zeros(c, device=device)
    z = codec.encode(ctx_frames, device).to(device)
    context[c - len(z):] = z
    mask[c - len(z):] = 1
    pre = torch.full((c - 1,), int(model.meta.get("noop_action", 0)), dtype=torch.long)
    tail = prefix[max(0, len(prefix) - (c - 1)):] if c > 1 else []
    # the actions after context frames 0..C-2: the last len(tail) prefix actions line up
    if len(tail):
        pre[c - 1 - len(tail):] = torch.tensor(tail[-(c - 1):], dtype=torch.long)
    return branch_start(context, mask, pre.to(device), actions)


def probe_actions(model) -> tuple[list[int], list[int]]:
    """Every action, and those allowed on the way to a probe state: no shooting (a shot that
    kills ends the game a step later in every branch (ViZDoom's basic), and the branches would
    all show the same frozen frame)."""
    n_act = model.num_actions
    actions = list(range(n_act))
    names = list(model.meta.get("action_names") or [])
    allowed = [a for a in actions if not (len(names) == n_act and "ATTACK" in names[a])] or actions
    return actions, allowed


def action_sensitivity(sampler, codec, spec, *, seed: int, states: int, horizon: int,
                       progress=None) -> dict[str, float]:
    """The probe, end to end (see the module doc): ``sampler`` (:class:`Sampler`) samples the
    model's branches with its settings, ``codec`` (:class:`FrameCodec`, on the model's device)
    encodes and decodes frames."""
    from almost import ranks

    actions, allowed = probe_actions(sampler.model)
    ms, rs, consistent = [], [], True
    for k in ranks.share(list(range(states))):  # under `accelerate launch`: this process's states
        s, prefix = probe_prefix(seed, k, sampler.model.context, allowed, spec)
        seen, real, same = play_branches(spec, s, prefix, actions, horizon)
        consistent = consistent and same
        g = torch.Generator(codec.device).manual_seed(seed * 1000 + k)
        ms.append(model_branches(sampler, codec, probe_start(sampler, codec, seen, prefix, actions), horizon, g))
        flat = real.reshape(-1, *real.shape[2:])
        rs.append(through_vae(codec, flat).reshape(len(actions), horizon, 3, *codec.crop))
        if progress is not None:
            progress()
    merged = ranks.gather_shares(list(zip(ms, rs)), states)
    consistent = all(ranks.gather(consistent))
    out = branch_scores([m for m, _ in merged], [r for _, r in merged])
    out["action_probe_states"] = float(states)
    out["action_probe_replay_deterministic"] = float(consistent)
    return out


def model_latent_shape(model, vae, size) -> tuple[int, int, int]:
    from .vae import latent_factor

    shape = model.meta.get("latent_shape")
    if shape:
        return tuple(shape)
    f = latent_factor(vae)
    return (vae.config.latent_channels, size[0] // f, size[1] // f)
