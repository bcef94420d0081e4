"""Seeds of training's random streams.

Every stream a training step draws from (its latents, the neighbour each real image is paired
with, the data order of each epoch) is seeded afresh from the run's seed and the step or epoch.
A resumed run therefore draws what the straight run drew, with no generator state in the
checkpoint, and ranks of a distributed run draw different latents without talking to each other.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Stream", "epoch_seed", "step_seed"]

_SEED_STRIDE = 1_000_003  # above the step count of any run so far, so two seeds never share a stream


class Stream(IntEnum):
    """A per-step random stream, by the multiplier that keeps its seeds apart from the others'
    (at every position but seed 0's first, where the rank alone seeds each stream)."""

    LATENTS = 1_009
    NEIGHBOURS = 1_013


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of ``epoch``'s data order; the same on every rank, which then take their own slices."""
    return seed * _SEED_STRIDE + epoch


def step_seed(seed: int, step: int, stream: Stream, rank: int = 0) -> int:
    """Seed of ``stream``'s draw at ``step`` on ``rank``; below 2**64 for seeds up to 2**32 - 1."""
    return epoch_seed(seed, step) * stream + rank
