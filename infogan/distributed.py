"""Multi-process training under ``torchrun``: which rank this is, and the few collectives the
trainer needs. A single process is a world of one, and every helper is then a no-op."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from infogan.errors import InfoGANError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes logs, samples and checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def share(self, count: int) -> range:
        """This rank's contiguous share of ``count`` items; shares differ in size by one at most."""
        return range(self.rank * count // self.size, (self.rank + 1) * count // self.size)


def world_from_env() -> World:
    """The world torchrun describes through RANK / WORLD_SIZE / LOCAL_RANK, else one process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def initialise(world: World, device: torch.device) -> torch.device:
    """Join the process group (NCCL on CUDA, gloo otherwise); returns this rank's device."""
    if not world.active:
        return device
    if device.type == "cuda":
        if torch.cuda.device_count() <= world.local_rank:
            raise InfoGANError(f"local rank {world.local_rank} has no GPU: use --nproc-per-node <= GPU count")
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def mean_across(values: torch.Tensor, world: World) -> torch.Tensor:
    """The element-wise mean of ``values`` over all ranks."""
    if world.active:
        values = values.clone()
        dist.all_reduce(values)
        values /= world.size
    return values


def gather_shares(part: torch.Tensor, world: World, count: int) -> torch.Tensor:
    """The rows of every rank's ``part`` in rank order, where each rank holds the rows of its
    :meth:`World.share` of ``count``; every rank gets the whole."""
    if not world.active:
        return part
    # all_gather needs one shape on every rank: pad each share to the largest.
    largest = -(-count // world.size)
    padded = part.new_zeros(largest, *part.shape[1:])
    padded[: len(part)] = part
    gathered = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(gathered, padded)
    sizes = [len(World(rank, world.size).share(count)) for rank in range(world.size)]
    return torch.cat([rows[:size] for rows, size in zip(gathered, sizes, strict=True)])


def barrier(world: World) -> None:
    """Wait for every rank."""
    if world.active:
        dist.barrier()


def shutdown(world: World) -> None:
    """Leave the process group."""
    if world.active and dist.is_initialized():
        dist.destroy_process_group()
