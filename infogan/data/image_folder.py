"""Image folders as datasets: found recursively, labelled by class subfolder, and decoded once into
a uint8 array cached on disk, keyed by the files (paths, sizes, mtimes) and the target shape.

Training then reads that array, resident or memory-mapped, and never decodes on a step; a file
that cannot be decoded is skipped (and counted) or, when strict, stops the load before training.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from tqdm import tqdm

from infogan.data.image_dataset import ImageDataset
from infogan.data.image_files import IMAGE_SUFFIXES, decode_image
from infogan.data.root import data_root
from infogan.errors import InfoGANError

CACHE_ENV = "INFOGAN_CACHE_DIR"
CACHE_VERSION = 2  # bump when decoding changes, so that stale arrays are rebuilt (2: 16-bit images scaled)


@dataclass(frozen=True)
class FolderScan:
    """Image files under a folder, sorted, with class labels when they sit in class subfolders."""

    files: list[Path]
    labels: list[int] | None
    classes: list[str]


def scan_folder(root: Path) -> FolderScan:
    """Every image file under ``root`` (recursively); labels are the index of the first-level
    subfolder when every image lies in one and there are at least two."""
    root = Path(root)
    if not root.is_dir():
        raise InfoGANError(f"no such folder: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise InfoGANError(f"no images ({suffixes}) found under {root}")
    parts = [p.relative_to(root).parts for p in files]
    classes = sorted({part[0] for part in parts if len(part) > 1})
    if len(classes) < 2 or any(len(part) == 1 for part in parts):
        return FolderScan(files, None, [])
    index = {name: i for i, name in enumerate(classes)}
    return FolderScan(files, [index[part[0]] for part in parts], classes)


def cache_dir(root: str | Path | None = None) -> Path:
    """``$INFOGAN_CACHE_DIR``, else ``decoded/`` under the data root."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return data_root(root) / "decoded"


def cache_key(files: Sequence[Path], labels: Sequence[int] | None, shape: tuple[int, int, int]) -> str:
    """A digest of what the decoded array depends on: each file's path, size and mtime, the labels, the shape."""
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, list(shape), labels]).encode())
    for path in files:
        try:
            stat = path.stat()
            digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()[:24]


def load_image_folder(
    folder: str | Path,
    shape: tuple[int, int, int],
    *,
    strict: bool = False,
    root: str | Path | None = None,
    progress: bool = False,
) -> ImageDataset:
    """Every image under ``folder`` as uint8 (N, C, H, W), decoded once and then read from the cache.

    Args:
        shape: (C, H, W): images become grayscale (C = 1) or RGB, are scaled to cover (H, W) and
            centre-cropped.
        strict: an unreadable file is an error instead of being skipped.
        root: the data root whose ``decoded/`` folder holds the cache (unless ``$INFOGAN_CACHE_DIR``).
        progress: a progress bar while decoding.
    """
    scan = scan_folder(Path(folder))
    return decode_files(scan.files, scan.labels, shape, source=str(folder), root=root, strict=strict, progress=progress)


def decode_files(
    files: Sequence[Path],
    labels: Sequence[int] | None,
    shape: tuple[int, int, int],
    *,
    source: str,
    root: str | Path | None = None,
    strict: bool = False,
    progress: bool = False,
) -> ImageDataset:
    """Image files as uint8 (N, C, H, W) memory-mapped from the cache, decoding them first if needed."""
    base = cache_dir(root) / f"{cache_key(files, labels, shape)}-{shape[0]}x{shape[1]}x{shape[2]}"
    cached = _read_cache(base)
    if cached is None or (strict and cached.skipped):
        cached = _decode_into_cache(base, files, labels, shape, source=source, strict=strict, progress=progress)
    return cached


def _read_cache(base: Path) -> ImageDataset | None:
    """The cached dataset at ``base``, or None when absent, incomplete or corrupt."""
    try:
        meta = json.loads(base.with_suffix(".json").read_text())
        images = np.load(base.with_suffix(".npy"), mmap_mode="r")
        labels = np.load(base.with_suffix(".labels.npy")) if meta["labelled"] else None
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("version") != CACHE_VERSION or images.dtype != np.uint8 or images.shape[0] != meta["count"]:
        return None
    return ImageDataset(images, torch.from_numpy(labels) if labels is not None else None, tuple(meta["skipped"]))


def _decode_into_cache(
    base: Path,
    files: Sequence[Path],
    labels: Sequence[int] | None,
    shape: tuple[int, int, int],
    *,
    source: str,
    strict: bool,
    progress: bool,
) -> ImageDataset:
    # A name of its own per writer, so that processes decoding the same folder at once (the
    # ranks of a torchrun launch) each publish a whole file; the last one wins.
    partial = base.with_name(f".{base.name}.{os.getpid()}-{secrets.token_hex(4)}.npy")
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        kept, skipped = _decode_all(partial, files, shape, source=source, strict=strict, progress=progress)
        if not kept:
            raise InfoGANError(f"none of the {len(files)} image files of {source} could be read ({skipped[0]})")
        _publish(base, partial, kept, labels, skipped)
    except OSError as err:
        raise InfoGANError(f"cannot write the decoded-image cache in {base.parent}: {err.strerror or err}") from None
    finally:
        for leftover in (partial, partial.with_suffix(".trim.npy")):
            leftover.unlink(missing_ok=True)
    cached = _read_cache(base)
    assert cached is not None, f"the cache just written at {base} does not read back"
    return cached


def _decode_all(
    path: Path, files: Sequence[Path], shape: tuple[int, int, int], *, source: str, strict: bool, progress: bool
) -> tuple[list[int], list[str]]:
    """Decode ``files`` into a uint8 .npy at ``path``, readable ones first in order; returns the
    indices kept and "path: reason" for each file skipped."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(len(files), *shape))
    kept, skipped = [], []
    for i, file in enumerate(tqdm(files, desc=f"decoding {source}", unit="img", disable=not progress)):
        try:
            out[len(kept)] = decode_image(file, shape)
        except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, EOFError... for broken files
            if strict:
                raise InfoGANError(f"cannot read image {file}: {err} (drop --strict-images to skip it)") from None
            skipped.append(f"{file}: {err}")
            continue
        kept.append(i)
    out.flush()
    del out
    return kept, skipped


def _publish(base: Path, partial: Path, kept: list[int], labels: Sequence[int] | None, skipped: list[str]) -> None:
    """Move the decoded rows into place (trimmed to the files kept), then write the labels and,
    last, the metadata that marks the cache complete."""
    decoded = np.load(partial, mmap_mode="r")
    if len(kept) < len(decoded):  # a .npy header fixes the row count: copy the kept rows out
        trimmed = np.lib.format.open_memmap(
            partial.with_suffix(".trim.npy"), mode="w+", dtype=np.uint8, shape=(len(kept), *decoded.shape[1:])
        )
        for start in range(0, len(kept), 4096):
            stop = min(start + 4096, len(kept))
            trimmed[start:stop] = decoded[start:stop]
        trimmed.flush()
        del trimmed
        os.replace(partial.with_suffix(".trim.npy"), partial)
    del decoded
    os.replace(partial, base.with_suffix(".npy"))
    if labels is not None:
        with _replacing(base.with_suffix(".labels.npy")) as file:
            np.save(file, np.asarray(labels, dtype=np.int64)[kept])
    meta = {"version": CACHE_VERSION, "count": len(kept), "labelled": labels is not None, "skipped": skipped}
    with _replacing(base.with_suffix(".json")) as file:
        file.write(json.dumps(meta, indent=1).encode())


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A file written beside ``path`` and moved over it when complete: readers see all or nothing."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(partial, "wb") as file:
            yield file
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
