"""Code-preserving transforms: small random affine warps of a batch of images.

Used by the consistency option of training: Q must still read each categorical code from a
generated image after a small rotation, shift and zoom. A generator that stores a category in
slant or position (one way the 4/7/9 merge shows itself on MNIST) loses information under such a
warp, while one that stores it in the shape of the digit does not.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

MAX_ROTATION_DEGREES = 15.0
MAX_SHIFT = 0.1  # fraction of the image's half-width, i.e. ±1.4 px on 28×28
MAX_LOG_ZOOM = math.log(1.1)


def random_affine(
    images: Tensor, generator: torch.Generator | None = None, *, strength: float = 1.0, rotation: float = 1.0
) -> Tensor:
    """Each image (B, C, H, W) rotated, shifted and zoomed by its own small random amount.

    The warp is differentiable in the images, so G receives gradients through it; pixels
    brought in from outside the frame repeat the border, which is background for centred data.
    ``strength`` scales the largest rotation, log-zoom and shift together; ``rotation`` scales the
    rotation once more (0: shift and zoom only, which leave a digit's slant as it was).
    """
    batch = images.shape[0]
    draws = torch.rand(batch, 4, generator=generator, device=images.device) * 2 - 1  # U[-1, 1]
    angle = draws[:, 0] * (math.radians(MAX_ROTATION_DEGREES) * strength * rotation)
    zoom = torch.exp(draws[:, 1] * (MAX_LOG_ZOOM * strength))
    shift = draws[:, 2:] * (MAX_SHIFT * strength)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], dim=1), torch.stack([sin, cos, shift[:, 1]], dim=1)], dim=1
    )  # (B, 2, 3): output coordinates to input coordinates
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
