"""Datasets as resident tensors, an index sampler that is a pure function of the step, and
image files for encoding."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from infogan.errors import InfoGANError

DATA_ROOT_ENV = "INFOGAN_DATA_ROOT"
DATASETS = ("mnist",)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, C, H, W) as float32 in [0, 1], with integer labels (N,) when known."""

    images: Tensor
    labels: Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device) -> ImageDataset:
        """The same data on ``device``."""
        labels = self.labels.to(device) if self.labels is not None else None
        return ImageDataset(self.images.to(device), labels)


def data_root(explicit: str | Path | None = None) -> Path:
    """``--data-root``, else ``$INFOGAN_DATA_ROOT``, else ``~/.cache/infogan/data``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    return Path.home() / ".cache" / "infogan" / "data"


def load_dataset(name: str, split: str = "train", root: str | Path | None = None) -> ImageDataset:
    """A named dataset's split, decoded once into memory; downloads when files are absent."""
    if name != "mnist":
        raise InfoGANError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if split not in ("train", "test"):
        raise InfoGANError(f"unknown split {split!r}: use train or test")
    return load_mnist(data_root(root), split)


def load_mnist(root: Path, split: str) -> ImageDataset:
    """MNIST through torchvision, as (N, 1, 28, 28) floats in [0, 1] and labels."""
    from torchvision.datasets import MNIST  # deferred: torchvision import costs ~1 s

    try:
        dataset = MNIST(str(root), train=split == "train", download=True)
    except Exception as err:  # offline: URLError/RuntimeError; corrupt files: ValueError/RuntimeError
        raw = root / "MNIST" / "raw"
        raise InfoGANError(
            f"MNIST could not be loaded or downloaded ({type(err).__name__}); put the four files "
            f"{', '.join(MNIST_FILES)} in {raw}, or point --data-root / ${DATA_ROOT_ENV} at their parent"
        ) from None
    images = dataset.data.unsqueeze(1).float().div_(255.0)  # (N, 1, 28, 28)
    return ImageDataset(images, dataset.targets.long())


class EpochSampler:
    """Batch indices for any step, without state: epoch ``e`` is a permutation seeded by
    (seed, e), so resuming at step ``s`` replays exactly the batches a straight run would see."""

    def __init__(self, size: int, batch_size: int, *, seed: int, device: torch.device) -> None:
        if batch_size > size:
            raise InfoGANError(f"batch size {batch_size} exceeds the dataset's {size} images")
        self.size, self.batch_size, self.seed, self.device = size, batch_size, seed, device
        self.batches_per_epoch = size // batch_size  # the ragged tail is dropped, as drop_last
        self._epoch, self._permutation = -1, torch.empty(0)

    def indices(self, step: int) -> Tensor:
        """Indices (batch_size,) on the sampler's device for training step ``step``."""
        epoch, position = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            rng = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._permutation = torch.randperm(self.size, generator=rng).to(self.device)
            self._epoch = epoch
        start = position * self.batch_size
        return self._permutation[start : start + self.batch_size]


# ----- image files --------------------------------------------------------------------------
def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Image files named directly or found (recursively, sorted) under named folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise InfoGANError(f"no such file or folder: {path}")
    if not found:
        raise InfoGANError("no images found in the given paths")
    return found


def read_image(path: Path, shape: tuple[int, int, int]) -> Tensor:
    """One image file as (C, H, W) floats in [0, 1], converted and resized to ``shape``."""
    try:
        with Image.open(path) as image:
            return image_to_tensor(image, shape)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InfoGANError(f"cannot read image {path}: {err}") from None


def image_to_tensor(image: Image.Image, shape: tuple[int, int, int]) -> Tensor:
    """A PIL image as (C, H, W) floats in [0, 1], converted and resized to ``shape``."""
    channels, height, width = shape
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    return tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1)


def read_images(paths: list[Path], shape: tuple[int, int, int]) -> Tensor:
    """Image files as one batch (N, C, H, W)."""
    return torch.stack([read_image(p, shape) for p in paths])
