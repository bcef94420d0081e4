"""Pictures: sample grids and latent traversals as PNG files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor
from torchvision.utils import make_grid, save_image

from infogan.errors import InfoGANError

PADDING = 2  # pixels between and around a grid's images


def grid_image(images: Tensor, *, columns: int) -> Tensor:
    """A (C, H, W) grid of images (N, C, H, W) with ``columns`` per row."""
    return make_grid(images.float().clamp(0, 1), nrow=columns, padding=PADDING, pad_value=1.0)


def traversal_image(images: Tensor, row_labels: Sequence[str] = ()) -> Tensor:
    """A grid from a traversal (rows, cols, C, H, W): one row of the figure per row, labelled when
    ``row_labels`` are given (one per row)."""
    rows, cols = images.shape[:2]
    grid = grid_image(images.reshape(rows * cols, *images.shape[2:]), columns=cols)
    return label_rows(grid, row_labels, row_height=images.shape[-2] + PADDING) if row_labels else grid


def label_rows(grid: Tensor, labels: Sequence[str], *, row_height: int) -> Tensor:
    """``grid`` (C, H, W) with a white margin on its left holding one small text label per row."""
    font = ImageFont.load_default()
    margin = max(int(font.getlength(text)) for text in labels) + 2 * PADDING
    pixels = grid.mul(255).add(0.5).clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()  # as save_image rounds
    picture = Image.fromarray(pixels.squeeze(2) if pixels.shape[2] == 1 else pixels)
    canvas = Image.new(picture.mode, (picture.width + margin, picture.height), "white")
    canvas.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(labels):
        middle = PADDING + i * row_height + (row_height - PADDING) / 2
        draw.text((PADDING, middle), text, fill="black", font=font, anchor="lm")
    array = np.asarray(canvas, dtype=np.float32) / 255
    return torch.from_numpy(array[None] if array.ndim == 2 else array.transpose(2, 0, 1).copy())


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
