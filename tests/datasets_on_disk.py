"""Tiny synthetic copies of each dataset in its real on-disk format, for the tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

# Every file torchvision's CelebA checks (with MD5 sums of the real ones), in its layout.
CELEBA_TEXT_FILES = (
    "list_attr_celeba.txt",
    "identity_CelebA.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
    "list_eval_partition.txt",
)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file (big-endian header: magic 0x08 for uint8 and the number of dimensions, then the sizes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_idx_dataset(
    root: Path, folder: str = "FashionMNIST", n_train: int = 12, n_test: int = 6
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """torchvision's layout: ``root/{MNIST,FashionMNIST}/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``."""
    rng, raw, out = np.random.default_rng(0), root / folder / "raw", {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        out[split] = (images, labels)
    return out


def write_svhn(root: Path, split: str = "train", n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``root/SVHN/{split}_32x32.mat`` with X (32, 32, 3, N) uint8 and y (N, 1), digit 0 labelled 10."""
    import scipy.io

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    digits = (np.arange(n) % 10).astype(np.uint8)
    (root / "SVHN").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(
        root / "SVHN" / f"{split}_32x32.mat", {"X": pixels, "y": np.where(digits == 0, 10, digits)[:, None]}
    )
    return pixels, digits


def write_celeba(root: Path, partition: tuple[int, ...] = (0, 0, 0, 0, 0, 1, 2, 2)) -> list[str]:
    """``root/celeba/img_align_celeba/00000k.jpg`` (178×218, as the aligned set) and the text files."""
    folder, rng = root / "celeba", np.random.default_rng(2)
    (folder / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    for name in names:
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / "img_align_celeba" / name)
    rows = "\n".join(f"{name} {' '.join(['1', '-1'] * 20)}" for name in names)
    (folder / "list_attr_celeba.txt").write_text(f"{len(names)}\n{' '.join(f'Attr{i}' for i in range(40))}\n{rows}\n")
    (folder / "identity_CelebA.txt").write_text("".join(f"{name} {i % 3 + 1}\n" for i, name in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 1 2 3 4\n" for n in names)
    )
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{len(names)}\nlefteye_x lefteye_y\n" + "".join(f"{n} 69 109\n" for n in names)
    )
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{n} {p}\n" for n, p in zip(names, partition, strict=True))
    )
    return names


def write_image_folder(root: Path) -> dict[str, int]:
    """Two class folders of mixed formats, sizes and modes, plus a corrupt and an empty file.

    Returns how many readable images each class holds.
    """
    rng = np.random.default_rng(3)
    cats, dogs = root / "cats", root / "dogs" / "nested"
    cats.mkdir(parents=True)
    dogs.mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(cats / "a.png")
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(cats / "b.jpg")
    Image.fromarray(rng.integers(0, 256, (20, 24, 4), dtype=np.uint8), "RGBA").save(cats / "c.webp")
    Image.fromarray(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)).convert("P").save(dogs / "d.gif")
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(dogs / "e.bmp")
    (cats / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    (dogs / "empty.jpg").write_bytes(b"")
    (root / "dogs" / "notes.txt").write_text("not an image")
    return {"cats": 3, "dogs": 2}
