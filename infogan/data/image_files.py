"""Image files read for encoding and for decoding folders: found, converted, resized and centre-cropped."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from infogan.data.image_dataset import as_float
from infogan.errors import InfoGANError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Image files named directly or found (recursively, sorted) under named folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise InfoGANError(f"no such file or folder: {path}")
    if not found:
        raise InfoGANError("no images found in the given paths")
    return found


def fit_image(image: Image.Image, shape: tuple[int, int, int]) -> np.ndarray:
    """Grayscale or RGB, scaled until it covers (H, W) and centre-cropped: uint8 (C, H, W)."""
    channels, height, width = shape
    mode = "L" if channels == 1 else "RGB"
    image.draft(mode, (width, height))  # JPEG decodes at 1/2, 1/4 or 1/8 scale when that still covers
    image = _eight_bit(image)
    if image.mode == "P":
        image = image.convert("RGBA")  # palette transparency, so that convert() does not warn
    image = image.convert(mode)
    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)  # antialiased when shrinking
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    array = np.asarray(image.crop((left, top, left + width, top + height)), dtype=np.uint8)
    return np.array(array[None] if channels == 1 else array.transpose(2, 0, 1), order="C")  # a writable copy


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit grayscale (PNG, TIFF) scaled to 8 bits: PIL's convert() clips it at 255 instead, which
    turns nearly every pixel white. Older Pillows open 16-bit PNGs as 32-bit "I", with the same range."""
    if image.mode != "I" and not image.mode.startswith("I;16"):
        return image
    levels = np.clip(np.asarray(image), 0, 65535).astype(np.uint32)
    return Image.fromarray(((levels * 255 + 32767) // 65535).astype(np.uint8))


def decode_image(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One image file as uint8 (C, H, W); PIL's own exception when the file is unreadable."""
    with Image.open(path) as image:
        return fit_image(image, shape)


def read_image(path: Path, shape: tuple[int, int, int]) -> Tensor:
    """One image file as (C, H, W) floats in [0, 1], converted, resized and centre-cropped to ``shape``."""
    try:
        array = decode_image(path, shape)
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        raise InfoGANError(f"cannot read image {path}: {err}") from None
    return as_float(torch.from_numpy(array))


def image_to_tensor(image: Image.Image, shape: tuple[int, int, int]) -> Tensor:
    """A PIL image as (C, H, W) floats in [0, 1], converted, resized and centre-cropped to ``shape``."""
    return as_float(torch.from_numpy(fit_image(image, shape)))


def read_images(paths: list[Path], shape: tuple[int, int, int]) -> Tensor:
    """Image files as one batch (N, C, H, W)."""
    return torch.stack([read_image(p, shape) for p in paths])
