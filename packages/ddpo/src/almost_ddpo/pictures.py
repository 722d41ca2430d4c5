"""Pictures people look at: PNG files and labelled image grids."""

from __future__ import annotations

from pathlib import Path

from almost.io import atomic_path


def to_pil(image):
    """A float tensor ``(3, H, W)`` in [0, 1] → a PIL image."""
    from PIL import Image

    arr = (image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype("uint8")
    return Image.fromarray(arr)


def save_png(image, path: str | Path) -> Path:
    """Save one float image tensor as PNG, atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        to_pil(image).save(tmp, format="PNG")
    return Path(path)


def tile_size(w: int, h: int, max_tile: int = 256) -> tuple[int, int]:
    """Grid tile size: small images upscaled (up to 4×, pixels kept sharp), large ones shrunk so
    the longer side is at most ``max_tile`` — a grid of 512 px samples stays a few MB, not 8k×16k."""
    scale = min(4.0, max_tile / max(w, h))
    if scale >= 1:
        scale = int(scale)
    return max(1, round(w * scale)), max(1, round(h * scale))


def save_grid(images, path: str | Path, ncol: int, labels=None, max_tile: int = 256, row_titles=None) -> Path:
    """A grid of float images (small ones upscaled, large ones shrunk: see :func:`tile_size`), optionally captioned."""
    from PIL import Image, ImageDraw

    tiles = [to_pil(im) for im in images]
    w, h = tiles[0].size
    tw, th = tile_size(w, h, max_tile)
    resample = Image.NEAREST if tw >= w else Image.LANCZOS
    cap = 12 if labels else 0
    left = 70 if row_titles else 0
    nrow = (len(tiles) + ncol - 1) // ncol
    sheet = Image.new("RGB", (left + ncol * (tw + 2), nrow * (th + cap + 2)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncol)
        x, y = left + c * (tw + 2), r * (th + cap + 2)
        sheet.paste(tile.resize((tw, th), resample), (x, y + cap))
        if labels:
            draw.text((x + 1, y), str(labels[i])[: tw // 6], fill=(0, 0, 0))
    if row_titles:
        for r, title in enumerate(row_titles):
            draw.text((2, r * (th + cap + 2) + cap + th // 2 - 5), str(title), fill=(0, 0, 0))
    with atomic_path(path, suffix=".png") as tmp:
        sheet.save(tmp, format="PNG")
    return Path(path)
