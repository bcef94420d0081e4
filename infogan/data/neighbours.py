"""Each training image's nearest neighbours, in pixel space (raw or deskewed) or in a network's
features, found once, when training first draws one.

SCAN (Van Gansbeke et al., 2020) clusters images by asking that an image and its nearest
neighbours fall into the same class. The neighbours of the raw pixels need no labels and no
trained network; those of D's features (``--iic-neighbours-space features``, searched by the
trainer with :func:`nearest_neighbours`) need a network that has trained a while. On MNIST's
training set (labels used only to check), 97.4% of nearest pixel neighbours and 94.9% of the 10
nearest share the image's digit; of the 10 nearest that also count the image among their own 10
nearest (mutual neighbours, about half of them), 98.2%. After :func:`deskewed`, 98.5% and 97.3%.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infogan.data.image_dataset import as_float
from infogan.errors import InfoGANError
from infogan.networks import evaluating

# Rows of the (N, N) distance matrix computed at a time: 2,048 × 60,000 floats is about 0.5 GB.
_ROWS_PER_CHUNK = 2048


def pixel_neighbours(
    images: Tensor, k: int, *, rows: range | None = None, rows_per_chunk: int = _ROWS_PER_CHUNK
) -> Tensor:
    """Indices (R, k) of the ``k`` nearest other images of each of ``images[rows]`` (all by
    default), by Euclidean distance of pixels, among all of ``images``.

    Args:
        images: (N, C, H, W), uint8 in [0, 255] or floats in [0, 1].
        k: neighbours per image, at least 1 and fewer than N.
        rows: the images whose neighbours are wanted (R of them); the ranks of a distributed run
            each take a share.

    The search is exact and costs R × N pixel products: 87 s for all of MNIST's 60,000 images with
    k = 20 on two AMD EPYC Zen 3 cores.
    """
    flat = as_float(images.reshape(images.shape[0], -1))
    return nearest_neighbours(flat, k, rows=rows, rows_per_chunk=rows_per_chunk)


@torch.no_grad()
def unit_features(network: nn.Module, images: Tensor, *, batch_size: int = 1000) -> Tensor:
    """``network``'s outputs (N, F) for ``images`` (uint8 or floats in [0, 1]), in eval mode and
    scaled to unit length, so that the nearest by Euclidean distance are the nearest by angle;
    the network goes back to the mode it was in."""
    device = next(network.parameters()).device
    with evaluating(network):
        features = [
            network(as_float(images[start : start + batch_size].to(device)))
            for start in range(0, len(images), batch_size)
        ]
    return nn.functional.normalize(torch.cat(features).float(), dim=1)


def deskewed(images: Tensor) -> Tensor:
    """``images`` (N, C, H, W; uint8 or floats in [0, 1]) as floats, each sheared along its rows
    so that its ink's principal axis is vertical and moved so that the ink's centre of mass is
    the image's centre (bilinear; what leaves the frame is lost, what enters is background).

    The shear is the ratio of the ink's second moments, cov(x, y) / var(y), over the channels'
    mean (LeCun et al., 1998, list a deskewed nearest-neighbour classifier among MNIST's
    baselines). Slant is the main way two handwritten images of one digit differ in pixels, so
    without it more of an image's nearest pixel neighbours share its kind: on MNIST's training
    set (labels used only to check) 97.3% of the 10 nearest share the image's digit against 94.9%
    of the raw pixels', and an 8's neighbours are 5s half as often (1.2% against 2.5%). No labels,
    no trained network and no randomness enter: the same images give the same result.
    """
    pixels = as_float(images)
    count, _, height, width = pixels.shape
    ink = pixels.mean(dim=1)
    rows = torch.arange(height, dtype=pixels.dtype, device=pixels.device)[None, :, None]
    columns = torch.arange(width, dtype=pixels.dtype, device=pixels.device)[None, None, :]
    mass = ink.sum(dim=(1, 2)).clamp_min(1e-6)  # a blank image keeps a finite (zero) shear
    centre_row = (ink * rows).sum(dim=(1, 2)) / mass
    centre_column = (ink * columns).sum(dim=(1, 2)) / mass
    dy = rows - centre_row[:, None, None]
    dx = columns - centre_column[:, None, None]
    shear = (ink * dx * dy).sum(dim=(1, 2)) / (ink * dy * dy).sum(dim=(1, 2)).clamp_min(1e-6)
    # Output pixel (row, column) reads the input where the ink's axis passes that row.
    out_dy = rows[0] - (height - 1) / 2  # (H, 1)
    out_dx = columns[0] - (width - 1) / 2  # (1, W)
    read_column = out_dx + shear[:, None, None] * out_dy + centre_column[:, None, None]
    read_row = (out_dy + centre_row[:, None, None]).expand(count, height, width)
    grid = torch.stack([read_column / (width - 1) * 2 - 1, read_row / (height - 1) * 2 - 1], dim=-1)
    return nn.functional.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def neighbours_in(
    space: str, images: Tensor, k: int, *, network: nn.Module | None = None, rows: range | None = None
) -> Tensor:
    """Indices (R, k) of the ``k`` nearest other images of each of ``images[rows]`` in ``space``,
    as ``--iic-neighbours-space`` names it: ``pixels``, ``deskewed`` pixels, or the
    :func:`unit_features` of ``network`` (``features``)."""
    if space == "features":
        if network is None:
            raise InfoGANError("neighbours in features need the network whose features are searched")
        return nearest_neighbours(unit_features(network, images), k, rows=rows)
    return pixel_neighbours(deskewed(images) if space == "deskewed" else images, k, rows=rows)


def nearest_neighbours(
    vectors: Tensor, k: int, *, rows: range | None = None, rows_per_chunk: int = _ROWS_PER_CHUNK
) -> Tensor:
    """Indices (R, k) of the ``k`` nearest other rows of (N, D) float ``vectors`` to each of
    ``vectors[rows]`` (all by default), by Euclidean distance; exact, R × N dot products."""
    count = vectors.shape[0]
    if not 1 <= k < count:
        raise InfoGANError(f"neighbours per image must be from 1 to {count - 1} for {count} images, not {k}")
    rows = range(count) if rows is None else rows
    squared_norms = vectors.square().sum(dim=1)
    table = torch.empty(len(rows), k, dtype=torch.long, device=vectors.device)
    for start in range(rows.start, rows.stop, rows_per_chunk):
        stop = min(start + rows_per_chunk, rows.stop)
        # ‖a − b‖² up to the row's own ‖a‖², which does not change the row's order.
        distances = squared_norms[None, :] - 2 * vectors[start:stop] @ vectors.T
        own = torch.arange(start, stop, device=vectors.device)
        distances[own - start, own] = torch.inf
        table[start - rows.start : stop - rows.start] = distances.topk(k, dim=1, largest=False).indices
    return table


def mutual_neighbours(table: Tensor) -> Tensor:
    """``table`` (N, k), each image's neighbours, with every neighbour that does not count the
    image among its own k replaced by the image itself.

    A one-way neighbour is often an image of another kind that sits near many (a wide 8 near the
    5s); mutual ones share the image's kind more often (on MNIST 98.2% of mutual 10-nearest
    against 91.4% of one-way ones, and an 8 has a 5 for 0.6% of its mutual neighbours against
    2.5% of all 10). A replaced entry pairs the image with a copy of itself, IIC's own pair.
    """
    own = torch.arange(len(table), device=table.device)
    counted_back = (table[table] == own[:, None, None]).any(dim=-1)
    return torch.where(counted_back, table, own[:, None])
