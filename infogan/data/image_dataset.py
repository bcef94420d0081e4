"""Images as a dataset: uint8 (N, C, H, W) tensors or memory-mapped arrays with optional labels,
made float a batch at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, C, H, W) with integer labels (N,) when known.

    Images are uint8 in [0, 255] (a tensor, or an array memory-mapped from a decoded cache)
    and become floats in [0, 1] a batch at a time, four times smaller than floats; float
    tensors in [0, 1] are accepted as they are.

    Args:
        skipped: unreadable files left out, as "path: reason".
    """

    images: Tensor | np.ndarray
    labels: Tensor | None = None
    skipped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the images take in memory once resident."""
        return int(np.prod(self.images.shape)) * self.images.dtype.itemsize

    def resident(self) -> ImageDataset:
        """The same data with images as an in-memory tensor (reads a memory-mapped cache)."""
        if isinstance(self.images, Tensor):
            return self
        return replace(self, images=torch.from_numpy(np.array(self.images)))

    def to(self, device: torch.device) -> ImageDataset:
        """The same data, resident on ``device``."""
        labels = self.labels.to(device) if self.labels is not None else None
        return replace(self, images=self.resident().images.to(device), labels=labels)

    def subset(self, limit: int, *, seed: int = 0) -> ImageDataset:
        """At most ``limit`` images, a seeded random choice kept in order (all when fewer)."""
        if len(self) <= limit:
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(len(self), limit, replace=False))
        labels = self.labels[torch.from_numpy(chosen)] if self.labels is not None else None
        return replace(self, images=take(self.images, chosen), labels=labels)


def take(images: Tensor | np.ndarray, indices: np.ndarray) -> Tensor:
    """Rows of a tensor or (memory-mapped) array as a tensor, read in index order for locality."""
    if isinstance(images, Tensor):
        return images[torch.from_numpy(indices)]
    order = np.argsort(indices, kind="stable")
    rows = np.empty((len(indices), *images.shape[1:]), dtype=images.dtype)
    rows[order] = images[indices[order]]
    return torch.from_numpy(rows)


def to_tensor(images: Tensor | np.ndarray) -> Tensor:
    """A tensor of an array (copied, as a memory map is read-only), or the tensor itself."""
    return images if isinstance(images, Tensor) else torch.from_numpy(np.array(images))


def as_float(images: Tensor) -> Tensor:
    """uint8 images in [0, 255] as float32 in [0, 1]; float images unchanged."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()
