"""Training batches for a step: indexed from one resident tensor, or streamed through a DataLoader.

Both read the :class:`~infogan.data.sampler.EpochSampler`'s indices for the step, so a batch depends on
(seed, step) alone and a resumed run replays the batches of a straight one in either mode.
Images stay uint8 until a batch is made float, on the training device.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from infogan.data.image_dataset import ImageDataset, as_float, take
from infogan.data.sampler import EpochSampler
from infogan.errors import InfoGANError

DATA_MODES = ("auto", "resident", "stream")


def available_memory() -> int:
    """Bytes of host memory available now (``MemAvailable``), or 4 GiB when the system will not say."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def memory_budget(device: torch.device) -> int:
    """Bytes a resident dataset may take: half the available host memory, and on a GPU no more
    than a quarter of its free memory (the rest is for the networks and activations)."""
    budget = available_memory() // 2
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = min(budget, free // 4)
    return budget


def choose_mode(mode: str, nbytes: int, budget: int) -> str:
    """``resident`` or ``stream``: as asked, or for ``auto`` resident when ``nbytes`` fits the budget."""
    if mode not in DATA_MODES:
        raise InfoGANError(f"unknown data mode {mode!r}: use {', '.join(DATA_MODES)}")
    if mode != "auto":
        return mode
    return "resident" if nbytes <= budget else "stream"


class ResidentBatches:
    """Batches indexed from the whole dataset held as one uint8 tensor on the training device."""

    mode = "resident"

    def __init__(
        self,
        data: ImageDataset,
        sampler: EpochSampler,
        rows: slice,
        device: torch.device,
        *,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.sampler, self.rows, self.memory_format = sampler, rows, memory_format
        self.images = data.resident().images.to(device).contiguous(memory_format=memory_format)

    def batch(self, step: int) -> Tensor:
        """This rank's float images (B, C, H, W) for ``step``."""
        return self.images_at(self.indices(step))

    def indices(self, step: int) -> Tensor:
        """Dataset indices (B,) of this rank's images for ``step``, on the training device."""
        return self.sampler.indices(step)[self.rows]

    def images_at(self, indices: Tensor) -> Tensor:
        """Float images (B, C, H, W) of the dataset at ``indices``."""
        return as_float(self.images[indices]).contiguous(memory_format=self.memory_format)

    def from_step(self, start: int, stop: int) -> Iterator[Tensor]:
        """The batches of steps ``start``, ``start + 1``, … ``stop - 1``."""
        return (self.batch(step) for step in range(start, stop))


class StreamedBatches:
    """Batches read by DataLoader workers from a (memory-mapped) array, a step's indices at a time."""

    mode = "stream"

    def __init__(
        self,
        data: ImageDataset,
        sampler: EpochSampler,
        rows: slice,
        device: torch.device,
        *,
        workers: int = 2,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.rows_of, self.sampler, self.rows, self.device = ImageRows(data), sampler, rows, device
        self.workers, self.memory_format = workers, memory_format

    def _to_device(self, images: Tensor) -> Tensor:
        images = as_float(images.to(self.device, non_blocking=True))
        return images.contiguous(memory_format=self.memory_format)

    def batch(self, step: int) -> Tensor:
        """This rank's float images (B, C, H, W) for ``step``, read in this process."""
        return self.images_at(self.indices(step))

    def indices(self, step: int) -> Tensor:
        """Dataset indices (B,) of this rank's images for ``step``, on the CPU."""
        return self.sampler.indices(step)[self.rows]

    def images_at(self, indices: Tensor) -> Tensor:
        """Float images (B, C, H, W) of the dataset at ``indices``, read in this process."""
        return self._to_device(self.rows_of.__getitems__(indices.tolist()))

    def from_step(self, start: int, stop: int) -> Iterator[Tensor]:
        """The batches of steps ``start`` … ``stop - 1``, read ahead by worker processes."""
        loader = DataLoader(
            self.rows_of,
            batch_sampler=StepBatchSampler(self.sampler, start, stop, self.rows),
            num_workers=self.workers,
            collate_fn=_stacked,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if self.workers else None,
        )
        return (self._to_device(images) for images in loader)


class StepBatchSampler(Sampler[list[int]]):
    """For a DataLoader: the indices of steps ``start`` … ``stop - 1``, one list per step."""

    def __init__(self, sampler: EpochSampler, start: int, stop: int, rows: slice) -> None:
        self.sampler, self.start, self.stop, self.rows = sampler, start, stop, rows

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            yield self.sampler.indices(step)[self.rows].tolist()

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


class ImageRows(Dataset):
    """Map-style access to a dataset's uint8 images, a whole batch per read.

    A memory-mapped array is reopened by file name in each worker process rather than pickled
    (pickling a memmap copies its data).
    """

    def __init__(self, data: ImageDataset) -> None:
        self.images = data.images
        self.filename = getattr(data.images, "filename", None) if isinstance(data.images, np.memmap) else None

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.filename is not None:
            state["images"] = None
        return state

    def _array(self) -> Tensor | np.ndarray:
        if self.images is None:
            self.images = np.load(self.filename, mmap_mode="r")
        return self.images

    def __getitem__(self, index: int) -> Tensor:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> Tensor:
        """uint8 images (B, C, H, W) in the order of ``indices``."""
        return take(self._array(), np.asarray(indices, dtype=np.int64))


def _stacked(images: Tensor) -> Tensor:
    return images  # __getitems__ already returns the stacked batch


def make_batches(
    data: ImageDataset,
    *,
    batch_size: int,
    seed: int,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
    mode: str = "auto",
    workers: int | None = None,
    channels_last: bool = False,
) -> ResidentBatches | StreamedBatches:
    """The batch source for a run: resident when asked or when the data fits the memory budget.

    Every rank walks the same permutation of global batches (``batch_size * world_size``) and
    takes its own slice.
    """
    mode = choose_mode(mode, data.nbytes, memory_budget(device) if mode == "auto" else 0)
    sampler_device = device if mode == "resident" else torch.device("cpu")
    sampler = EpochSampler(len(data), batch_size * world_size, seed=seed, device=sampler_device)
    rows = slice(rank * batch_size, (rank + 1) * batch_size)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    if mode == "resident":
        return ResidentBatches(data, sampler, rows, device, memory_format=memory_format)
    workers = default_workers() if workers is None else workers
    return StreamedBatches(data, sampler, rows, device, workers=workers, memory_format=memory_format)


def default_workers() -> int:
    """Loader processes: half the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus // 2))
