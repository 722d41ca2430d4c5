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
