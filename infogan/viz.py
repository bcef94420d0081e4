"""Pictures: sample grids and latent traversals as PNG files."""

from __future__ import annotations

import io
from pathlib import Path

from torch import Tensor
from torchvision.utils import make_grid, save_image

from infogan.errors import InfoGANError


def grid_image(images: Tensor, *, columns: int) -> Tensor:
    """A (C, H, W) grid of images (N, C, H, W) with ``columns`` per row."""
    return make_grid(images.float().clamp(0, 1), nrow=columns, padding=2, pad_value=1.0)


def traversal_image(images: Tensor) -> Tensor:
    """A grid from a traversal (rows, cols, C, H, W): one row of the figure per row."""
    rows, cols = images.shape[:2]
    return grid_image(images.reshape(rows * cols, *images.shape[2:]), columns=cols)


def save_png(image: Tensor, path: Path) -> Path:
    """Save a (C, H, W) image in [0, 1] as PNG, creating folders; a one-line error on failure."""
    if path.is_dir():
        raise InfoGANError(f"{path} is a folder: give a file name ending in .png")
    if path.suffix.lower() != ".png":
        raise InfoGANError(f"{path}: the image is a PNG, give a file name ending in .png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(image, str(path), format="PNG")
    except OSError as err:
        raise InfoGANError(f"could not write {path}: {err.strerror or err}") from None
    return path


def png_bytes(image: Tensor) -> bytes:
    """A (C, H, W) image in [0, 1] encoded as PNG in memory."""
    buffer = io.BytesIO()
    save_image(image, buffer, format="PNG")
    return buffer.getvalue()
