"""Object fidelity from the game's labels, sharpness, the shipped VAE, and thread re-sizing."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch


# -- the objects column -----------------------------------------------------------------------
def test_objects_column_round_trips_and_stays_optional(tmp_path):
    from almost_gamengen.data.episodes import Episode, EpisodeStore, write_episodes

    frames = np.zeros((3, 8, 12, 3), np.uint8)
    boxes = [[[1, 2, 4, 5]], [], [[0, 0, 2, 2], [5, 3, 9, 7]]]
    write_episodes(tmp_path / "a", [Episode.build(0, frames, [0, 1, 0], objects=boxes)], ["n", "x"], 0)
    ep = EpisodeStore(tmp_path / "a").load(0)
    assert [b.tolist() for b in ep.objects] == boxes
    assert ep.objects[1].shape == (0, 4) and ep.objects[0].dtype == np.int16
    write_episodes(tmp_path / "b", [Episode.build(0, frames, [0, 1, 0])], ["n", "x"], 0)
    assert EpisodeStore(tmp_path / "b").load(0).objects is None  # no column, no boxes
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "a/*.parquet"), split="train")
    assert ds[2]["objects"] == [0, 0, 2, 2, 5, 3, 9, 7]


class _BoxEnv(gym.Env):
    """Frame t shows t; its one object sits at x = t (so a box recorded with the wrong frame shows)."""

    action_names, noop_action = ("NOOP", "GO"), 0

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (6, 10, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def _out(self):
        return np.full((6, 10, 3), self.t, np.uint8), {"objects": np.array([[self.t, 0, self.t + 1, 2]])}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._out()

    def step(self, a):
        self.t += 1
        f, info = self._out()
        return f, 0.0, self.t >= 4, False, info


def test_recorder_keeps_each_frames_boxes_with_that_frame(tmp_path):
    from almost_gamengen.data.episodes import EpisodeStore, rebuild_manifest
    from almost_gamengen.data.recorder import EpisodeRecorder

    rec = EpisodeRecorder(_BoxEnv(), tmp_path, "w00")
    try:
        rec.reset(seed=0)
        for _ in range(4):
            rec.step(1)
    finally:
        rec.close()
    rebuild_manifest(tmp_path)
    ep = EpisodeStore(tmp_path).load(0)
    for t in range(len(ep)):
        assert ep.frames[t, 0, 0, 0] == t and ep.objects[t].tolist() == [[t, 0, t + 1, 2]]


def test_vizdoom_labels_give_the_monsters_box_scaled_to_the_frame(app):
    env = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=30, labels=True)
    try:
        frame, info = env.reset(seed=3)
        boxes = info["objects"]
        assert boxes.shape[1] == 4 and len(boxes) >= 1  # the Cacodemon; the weapon sprite is not an object
        x0, y0, x1, y1 = boxes[0]
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48 and (x1 - x0) * (y1 - y0) < 48 * 64 / 8
        # the box holds the monster: its pixels differ from the room's median colour there
        room = np.median(frame.reshape(-1, 3), axis=0)
        assert np.abs(frame[y0:y1, x0:x1].astype(float) - room).mean() > 20
        _, _, _, _, info = env.step(0)
        assert "objects" in info
    finally:
        env.close()
    plain = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=30)
    try:
        assert "objects" not in plain.reset(seed=3)[1]
    finally:
        plain.close()


# -- the figures ------------------------------------------------------------------------------
def _room_with_monster(n=16, seed=0):
    """Frames of a textured room with a small monster (a 4×5 red blob) at a random place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64]
    room = np.stack([90 + 20 * np.sin(xx / 3.0), 80 + 10 * np.cos(yy / 2.0), 70 + 0 * xx], 0) / 255.0
    real, empty, boxes = [], [], []
    for _ in range(n):
        x, y = int(rng.integers(5, 55)), int(rng.integers(10, 38))
        f = torch.tensor(room, dtype=torch.float32)
        empty.append(f.clone())
        f[:, y:y + 5, x:x + 4] = torch.tensor([0.85, 0.1, 0.1])[:, None, None]
        real.append(f)
        boxes.append(np.array([[x, y, x + 4, y + 5]]))
    return torch.stack(real), torch.stack(empty), boxes


def test_a_model_that_drops_the_monster_scores_clearly_lower_on_the_objects():
    from almost_gamengen.model.metrics import box_masks, psnr, psnr_masked

    real, empty, boxes = _room_with_monster()
    g = torch.Generator().manual_seed(0)
    noise = 0.03 * torch.randn(real.shape, generator=g)
    paints_it = (real + noise).clamp(0, 1)  # the room and the monster, a little noisy
    drops_it = (empty + noise).clamp(0, 1)  # the same room, the monster never there
    mask = box_masks(boxes, (48, 64))
    whole_gap = float(psnr(paints_it, real).mean() - psnr(drops_it, real).mean())
    obj_gap = psnr_masked(paints_it, real, mask) - psnr_masked(drops_it, real, mask)
    assert whole_gap < 3.5  # the whole frame barely notices 20 of 3072 pixels
    assert obj_gap > 15  # inside the boxes the missing monster is everything
    assert np.isnan(psnr_masked(real, real, torch.zeros_like(mask)))


def test_sharpness_ratio_is_one_for_the_game_and_low_for_blur():
    from almost_gamengen.model.metrics import sharpness_ratio

    real, _, _ = _room_with_monster()
    blurred = torch.nn.functional.avg_pool2d(real, 3, stride=1, padding=1, count_include_pad=False)
    assert sharpness_ratio(real, real) == pytest.approx(1.0)
    assert sharpness_ratio(blurred, real) < 0.5
    assert sharpness_ratio((real + 0.05 * torch.randn(real.shape)).clamp(0, 1), real) > 1.5


# -- the shipped VAE --------------------------------------------------------------------------
def test_the_shipped_vae_is_small_and_reconstructs_basic_with_its_monster(app):
    """The packaged weights (never trained on `basic`) on frames of `basic`."""
    from almost_gamengen.model.metrics import box_masks, psnr, psnr_masked, ssim, to_unit
    from almost_gamengen.model.vae import decode_latents, encode_frames, load_vae, shipped_vae_dir

    d = shipped_vae_dir((48, 64))
    assert d is not None and shipped_vae_dir((32, 32)) is None
    size = sum(p.stat().st_size for p in d.iterdir())
    assert size < 2_000_000
    vae = load_vae(d).eval()
    assert next(vae.parameters()).dtype == torch.float32 and vae.config.latent_channels == 16
    card = json.loads((d / "card.json").read_text())
    assert card["held_out"] == "basic" and "basic" not in card["train_scenarios"]
    env = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=40, labels=True)
    frames, boxes = [], []
    try:
        for seed in (11, 12):
            f, info = env.reset(seed=seed)
            for a in [0, 5, 5, 3, 7, 6, 6, 0] * 2:
                frames.append(f)
                boxes.append(info["objects"])
                f, _, term, trunc, info = env.step(a)
                if term or trunc:
                    break
    finally:
        env.close()
    frames = np.stack(frames)
    z = encode_frames(vae, frames)
    assert z.shape[1:] == (16, 12, 16) and 0.5 < float(z.std()) < 2.0  # scaled to about unit std
    rec, real = decode_latents(vae, z), to_unit(frames)
    got = {"ssim": float(ssim(rec, real).mean()), "psnr": float(psnr(rec, real).mean())}
    mask = box_masks(boxes, (48, 64))
    got["objects"] = psnr_masked(rec, real, mask)
    print(got)
    # its card's held-out figures on 600 frames (SSIM 0.67, 28.1 dB, 21.7 dB in the boxes), less a margin
    assert got["ssim"] > 0.6 and got["psnr"] > 26 and mask.any() and got["objects"] > 19


def test_encode_picks_the_shipped_vae_or_fits(tmp_path):
    from almost.errors import UserError
    from almost_gamengen.model.vae import shipped_vae_dir
    from almost_gamengen.stages.encode import _vae_source

    assert _vae_source("shipped", (48, 64)) == shipped_vae_dir((48, 64))
    assert _vae_source("shipped", (32, 32)) is None  # no VAE ships for it: fitted
    assert _vae_source("fit", (48, 64)) is None
    assert _vae_source(str(shipped_vae_dir((48, 64))), (48, 64)) == shipped_vae_dir((48, 64))
    with pytest.raises(UserError, match="not 'shipped', 'fit' or a diffusers VAE folder"):
        _vae_source(str(tmp_path), (48, 64))


# -- threads ----------------------------------------------------------------------------------
def test_threads_follow_the_cores_other_processes_leave(monkeypatch):
    from almost_gamengen import cpu_share

    monkeypatch.delenv("ALMOST_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("ALMOST_USER_OMP_NUM_THREADS", raising=False)
    clock = {"t": 0.0, "busy": 0.0, "own": 0.0}
    monkeypatch.setattr(cpu_share.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(cpu_share.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(cpu_share, "_busy_jiffies", lambda cpus: clock["busy"])
    monkeypatch.setattr("almost.threads.available_cores", lambda: 2)
    hz = cpu_share.os.sysconf("SC_CLK_TCK")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        r = cpu_share.ThreadRetune(every_s=10)
        assert r.enabled and r() is None  # not yet time
        # 10 s: the machine was busy 10 CPU-s, all of it ours → the other core is idle: use 2
        clock.update(t=10.0, busy=10 * hz, own=10.0)
        assert r() == 2 and torch.get_num_threads() == 2
        # next 10 s: 30 CPU-s... on 2 cores that is 20 busy, 10 of them someone else's → 1
        clock.update(t=20.0, busy=30 * hz, own=20.0)
        assert r() == 1 and torch.get_num_threads() == 1 and r.changes == 2
        monkeypatch.setenv("ALMOST_THREADS", "2")  # the user's choice is left alone
        assert not cpu_share.ThreadRetune().enabled
    finally:
        torch.set_num_threads(before)
