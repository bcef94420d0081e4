"""Named datasets: through torchvision or their original files, kept as uint8 images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from infogan.data.dsprites import DSprites
from infogan.data.image_dataset import ImageDataset
from infogan.data.image_folder import decode_files, load_image_folder
from infogan.data.root import DATA_ROOT_ENV, data_root
from infogan.errors import InfoGANError

DATASETS = ("mnist", "fashion-mnist", "svhn", "celeba", "dsprites")
# CelebA has attributes, not classes; dSprites is labelled by its shape factor.
LABELLED = ("mnist", "fashion-mnist", "svhn", "dsprites")
# Renders the paper used that no package distributes: train on them as an image folder.
FOLDER_ONLY = {
    "chairs": "the 3D Chairs renders (Aubry et al., 2014)",
    "faces": "the 3D face renders (Paysan et al., 2009)",
}
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_SPLITS = {"train": 0, "test": 2}  # list_eval_partition.txt: 0 train, 1 valid, 2 test


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
    rendered (and cached under the data root) by :mod:`infogan.data.dsprites`; it has no splits either.

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
        if folder is None:
            raise InfoGANError("the folder dataset needs the folder's path")
        return load_image_folder(folder, shape, strict=strict, root=root, progress=progress)
    root = data_root(root)
    if name == "svhn":
        return load_svhn(root, split)
    if name == "celeba":
        return load_celeba(root, split, shape, progress=progress)
    if name == "dsprites":
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
