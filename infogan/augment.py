"""Code-preserving transforms: small random affine warps of a batch of images, and erasing.

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


def random_erase(images: Tensor, generator: torch.Generator | None = None, *, side: float) -> Tensor:
    """Each image (B, C, H, W) with one square of ``side`` × its width set to 0 (background) at a
    random place of its own (Cutout, DeVries and Taylor, 2017); the square may reach past the frame.

    For the IIC pair: a class that must survive losing any small part of a digit cannot rest on
    one stroke, such as the crossbar that some writers put on a 7.
    """
    batch, _, height, width = images.shape
    size = max(1, round(side * width))
    # Corners from size-1 pixels before the frame, so that the edges are erased as often as the middle.
    corners = torch.rand(batch, 2, generator=generator, device=images.device)
    top = ((corners[:, 0] * (height + size - 1)).floor() - (size - 1))[:, None, None]
    left = ((corners[:, 1] * (width + size - 1)).floor() - (size - 1))[:, None, None]
    rows = torch.arange(height, device=images.device)[None, :, None]
    columns = torch.arange(width, device=images.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size) & (columns >= left) & (columns < left + size)  # (B, H, W)
    return images.masked_fill(inside[:, None], 0.0)
