"""The order of training images: a pure function of (seed, step), so a resume replays a straight run."""

from __future__ import annotations

import torch
from torch import Tensor

from infogan.errors import InfoGANError
from infogan.seeding import epoch_seed


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
            rng = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
            self._permutation = torch.randperm(self.size, generator=rng).to(self.device)
            self._epoch = epoch
        start = position * self.batch_size
        return self._permutation[start : start + self.batch_size]
