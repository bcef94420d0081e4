"""Datasets: named ones through torchvision or their original files, kept as uint8 images; an
index sampler that is a pure function of the step; and image files read for encoding."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from infogan.errors import InfoGANError

DATA_ROOT_ENV = "INFOGAN_DATA_ROOT"
DATASETS = ("mnist", "fashion-mnist", "svhn", "celeba", "dsprites")
# CelebA has attributes, not classes; dSprites is labelled by its shape factor.
LABELLED = ("mnist", "fashion-mnist", "svhn", "dsprites")
# Renders the paper used that no package distributes: train on them as an image folder.
FOLDER_ONLY = {
    "chairs": "the 3D Chairs renders (Aubry et al., 2014)",
    "faces": "the 3D face renders (Paysan et al., 2009)",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_SPLITS = {"train": 0, "test": 2}  # list_eval_partition.txt: 0 train, 1 valid, 2 test


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


def data_root(explicit: str | Path | None = None) -> Path:
    """``--data-root``, else ``$INFOGAN_DATA_ROOT``, else ``~/.cache/infogan/data``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    return Path.home() / ".cache" / "infogan" / "data"


def load_dataset(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    *,
    folder: str | Path | None = None,
    shape: tuple[int, int, int] = (3, 32, 32),
    strict: bool = False,
    progress: bool = False,
) -> ImageDataset:
    """A named dataset's split (downloaded when its files are absent), or for ``folder`` every
    image under ``folder`` (there are no splits: both are the whole folder). ``dsprites`` is
    rendered (and cached under the data root) by :mod:`infogan.dsprites`; it has no splits either.

    Args:
        shape: (C, H, W) that CelebA's photos and a folder's images are cropped and resized to;
            the other datasets have one size.
        strict: an unreadable image file is an error instead of being skipped.
        progress: a progress bar while images are decoded the first time.
    """
    if name in FOLDER_ONLY:
        raise InfoGANError(f"{FOLDER_ONLY[name]} are not distributed by a package: train on them with --data FOLDER")
    if name not in (*DATASETS, "folder"):
        raise InfoGANError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or an image folder")
    if split not in ("train", "test"):
        raise InfoGANError(f"unknown split {split!r}: use train or test")
    if name == "folder":
        from infogan.image_folder import load_image_folder  # deferred: image_folder imports this module

        if folder is None:
            raise InfoGANError("the folder dataset needs the folder's path")
        return load_image_folder(folder, shape, strict=strict, root=root, progress=progress)
    root = data_root(root)
    if name == "svhn":
        return load_svhn(root, split)
    if name == "celeba":
        return load_celeba(root, split, shape, progress=progress)
    if name == "dsprites":
        from infogan.dsprites import DSprites  # deferred: dsprites imports this module

        return DSprites.load(root / "dsprites").image_dataset()
    return load_idx(root, split, fashion=name == "fashion-mnist")


def load_idx(root: Path, split: str, *, fashion: bool = False) -> ImageDataset:
    """MNIST or Fashion-MNIST through torchvision: uint8 (N, 1, 28, 28) and labels."""
    from torchvision.datasets import MNIST, FashionMNIST  # deferred: torchvision import costs ~1 s

    cls, title = (FashionMNIST, "Fashion-MNIST") if fashion else (MNIST, "MNIST")
    try:
        dataset = cls(str(root), train=split == "train", download=True)
    except Exception as err:  # offline: URLError/RuntimeError; corrupt files: ValueError/RuntimeError
        raw = root / cls.__name__ / "raw"
        raise InfoGANError(
            f"{title} could not be loaded or downloaded ({type(err).__name__}); put the four IDX files "
            f"{', '.join(MNIST_FILES)} in {raw}, or point --data-root / ${DATA_ROOT_ENV} at their parent"
        ) from None
    return ImageDataset(dataset.data.unsqueeze(1), dataset.targets.long())  # (N, 1, 28, 28) uint8


def load_svhn(root: Path, split: str) -> ImageDataset:
    """SVHN's cropped digits from ``root/SVHN/{train,test}_32x32.mat``: uint8 (N, 3, 32, 32), labels 0-9."""
    folder = root / "SVHN"
    path = folder / f"{split}_32x32.mat"
    if not path.is_file():
        _download_svhn(folder, split)
    import scipy.io  # deferred: only SVHN needs it

    try:
        mat = scipy.io.loadmat(str(path))
        pixels, digits = mat["X"], mat["y"]  # (32, 32, 3, N) and (N, 1)
    except Exception as err:  # scipy raises ValueError, TypeError, MatReadError... for foreign files
        raise InfoGANError(f"{path} is not SVHN's .mat file ({type(err).__name__}: {err})") from None
    if pixels.ndim != 4 or pixels.shape[:3] != (32, 32, 3) or digits.size != pixels.shape[3]:
        raise InfoGANError(f"{path}: expected X of shape (32, 32, 3, N) and y of N labels")
    images = torch.from_numpy(np.ascontiguousarray(pixels.transpose(3, 2, 0, 1), dtype=np.uint8))
    labels = torch.from_numpy(digits.reshape(-1).astype(np.int64) % 10)  # SVHN labels the digit 0 as 10
    return ImageDataset(images, labels)


def _download_svhn(folder: Path, split: str) -> None:
    from torchvision.datasets import SVHN
    from torchvision.datasets.utils import download_url

    url, filename, md5 = SVHN.split_list[split]
    try:
        download_url(url, str(folder), filename, md5)
    except Exception as err:  # offline or a failed checksum
        raise InfoGANError(
            f"SVHN could not be downloaded ({type(err).__name__}); put train_32x32.mat and test_32x32.mat "
            f"(the cropped digits) in {folder}, or point --data-root / ${DATA_ROOT_ENV} at their parent"
        ) from None


def load_celeba(root: Path, split: str, shape: tuple[int, int, int], *, progress: bool = False) -> ImageDataset:
    """CelebA's aligned photos, centre-cropped and resized to ``shape`` and decoded once into a cache.

    Read from torchvision's layout (``root/celeba/img_align_celeba/*.jpg`` and
    ``list_eval_partition.txt``) without torchvision's CelebA class, whose MD5 checks of the
    annotation files would also refuse copies that only lack unused annotations.
    """
    from infogan.image_folder import decode_files  # deferred: image_folder imports this module

    folder = root / "celeba"
    if not (folder / "img_align_celeba").is_dir() or not (folder / CELEBA_PARTITION).is_file():
        _download_celeba(root)
    files = [folder / "img_align_celeba" / name for name in celeba_split(folder / CELEBA_PARTITION, split)]
    return decode_files(files, None, shape, source=f"CelebA {split}", root=root, progress=progress)


def celeba_split(path: Path, split: str) -> list[str]:
    """File names of one split, in the order of ``list_eval_partition.txt``."""
    wanted, names = str(CELEBA_SPLITS[split]), []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise InfoGANError(f"{path}:{number}: expected 'NAME.jpg 0|1|2', got {line.strip()!r}")
        if fields[1] == wanted:
            names.append(fields[0])
    if not names:
        raise InfoGANError(f"{path} lists no {split} images")
    return names


def _download_celeba(root: Path) -> None:
    from torchvision.datasets import CelebA

    try:
        CelebA(str(root), split="all", target_type=[], download=True)
    except Exception as err:  # offline, gdown missing, Google Drive quota, failed checksum
        raise InfoGANError(
            f"CelebA could not be downloaded ({type(err).__name__}); put img_align_celeba/ (the aligned JPEGs) "
            f"and {CELEBA_PARTITION} in {root / 'celeba'}, or point --data-root / ${DATA_ROOT_ENV} at their parent"
        ) from None


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
