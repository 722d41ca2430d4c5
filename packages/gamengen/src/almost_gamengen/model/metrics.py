"""Image metrics of generated frames: PSNR and SSIM (torchmetrics), LPIPS where possible.

Frames are float tensors in [0, 1], shape (B, 3, H, W); every function returns one number
per image so callers can average or plot them. LPIPS needs the ``lpips`` package *and* its
torchvision backbone weights already on disk (no downloads at run time): :func:`lpips_model`
returns ``None`` when either is missing, and the caller reports LPIPS as skipped.
"""

from __future__ import annotations

import torch


def to_unit(frames_uint8) -> torch.Tensor:
    """(B, H, W, 3) uint8 (array or tensor) → (B, 3, H, W) float in [0, 1]."""
    t = torch.as_tensor(frames_uint8)
    return t.permute(0, 3, 1, 2).float() / 255.0


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return peak_signal_noise_ratio(pred.clamp(0, 1), target, data_range=1.0,
                                   reduction="none", dim=(1, 2, 3))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (Gaussian window 11, data range 1)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    return structural_similarity_index_measure(pred.clamp(0, 1), target, data_range=1.0,
                                               reduction="none")


def box_masks(boxes, hw: tuple[int, int]) -> torch.Tensor:
    """Per-frame object boxes (a list of (n, 4) ``x0, y0, x1, y1`` arrays, end-exclusive) →
    bool masks (B, H, W), true inside any box."""
    m = torch.zeros(len(boxes), hw[0], hw[1], dtype=torch.bool)
    for i, bs in enumerate(boxes):
        for x0, y0, x1, y1 in (() if bs is None else bs):
            m[i, int(y0):int(y1), int(x0):int(x1)] = True
    return m


def psnr_masked(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB, data range 1) over the pixels inside ``mask`` (B, H, W) of all frames pooled
    (one squared error summed over every object pixel, so a 2-pixel box weighs what its 2
    pixels do); NaN when the mask is empty."""
    n = int(mask.sum())
    if n == 0:
        return float("nan")
    err = (pred.clamp(0, 1) - target).pow(2).sum(dim=1)  # (B, H, W), summed over channels
    mse = float(err[mask].sum()) / (3 * n)
    return float(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))))


def high_freq_energy(frames: torch.Tensor) -> torch.Tensor:
    """Per-image high-frequency energy: mean squared response of a 3×3 Laplacian over all
    channels (frames in [0, 1], (B, 3, H, W)). Blur lowers it; noise raises it."""
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    x = frames.float()
    lap = torch.nn.functional.conv2d(x.reshape(-1, 1, *x.shape[2:]), k[None, None])
    return lap.pow(2).reshape(x.shape[0], -1).mean(dim=1)


def sharpness_ratio(generated: torch.Tensor, real: torch.Tensor) -> float:
    """High-frequency energy of ``generated`` frames ÷ that of the ``real`` ones (1: as sharp
    as the game, < 1: blurred, > 1: noisier than the game)."""
    return float(high_freq_energy(generated).mean() / high_freq_energy(real).mean().clamp_min(1e-12))


def lpips_model():
    """An LPIPS (AlexNet) scorer if its package and weights are local, else ``None``."""
    import os

    try:
        import lpips  # noqa: F401
        import torch.hub
    except ImportError:
        return None
    ckpt = os.path.join(torch.hub.get_dir(), "checkpoints", "alexnet-owt-7be5be79.pth")
    if not os.path.isfile(ckpt):
        return None
    import lpips

    return lpips.LPIPS(net="alex", verbose=False).eval()


def lpips_score(model, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pred.clamp(0, 1) * 2 - 1, target * 2 - 1).flatten()
