"""Each training image's nearest neighbours in pixel space, found once before training.

SCAN (Van Gansbeke et al., 2020) clusters images by asking that an image and its nearest
neighbours fall into the same class. Here the neighbours are those of the raw pixels, which
need no labels and no trained network. On MNIST's training set (labels used only to check), 97.4%
of nearest neighbours and 94.9% of the 10 nearest share the image's digit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infogan.errors import InfoGANError

# Rows of the (N, N) distance matrix computed at a time: 2,048 × 60,000 floats is about 0.5 GB.
_ROWS_PER_CHUNK = 2048


def pixel_neighbours(images: Tensor, k: int, *, rows_per_chunk: int = _ROWS_PER_CHUNK) -> Tensor:
    """Indices (N, k) of each image's ``k`` nearest other images by Euclidean distance of pixels.

    Args:
        images: (N, C, H, W), uint8 in [0, 255] or floats in [0, 1].
        k: neighbours per image, at least 1 and fewer than N.

    The search is exact and costs N² pixel products: 87 s for MNIST's 60,000 images with k = 20 on
    two AMD EPYC Zen 3 cores.
    """
    count = images.shape[0]
    if not 1 <= k < count:
        raise InfoGANError(f"neighbours per image must be from 1 to {count - 1} for {count} images, not {k}")
    flat = images.reshape(count, -1).float()
    if images.dtype == torch.uint8:
        flat = flat / 255
    squared_norms = flat.square().sum(dim=1)
    table = torch.empty(count, k, dtype=torch.long, device=images.device)
    for start in range(0, count, rows_per_chunk):
        rows = flat[start : start + rows_per_chunk]
        # ‖a − b‖² up to the row's own ‖a‖², which does not change the row's order.
        distances = squared_norms[None, :] - 2 * rows @ flat.T
        own = torch.arange(start, start + rows.shape[0], device=images.device)
        distances[own - start, own] = torch.inf
        table[start : start + rows.shape[0]] = distances.topk(k, dim=1, largest=False).indices
    return table
