import numpy as np
import torch

from infogan.augment import random_affine, random_erase
from infogan.properties import slant


def _blob(batch=4):
    images = torch.zeros(batch, 1, 28, 28)
    images[:, :, 10:18, 12:16] = 1.0
    return images


def test_shape_dtype_and_range_are_kept():
    images = torch.rand(6, 3, 32, 32)
    warped = random_affine(images, torch.Generator().manual_seed(0))
    assert warped.shape == images.shape and warped.dtype == images.dtype
    assert warped.min() >= 0 and warped.max() <= 1  # bilinear weights are a convex combination


def test_same_generator_seed_same_warp_and_each_image_its_own():
    images = _blob(batch=4)
    first = random_affine(images, torch.Generator().manual_seed(3))
    again = random_affine(images, torch.Generator().manual_seed(3))
    other = random_affine(images, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert not torch.equal(first[0], first[1])  # identical inputs, different warps


def test_warps_are_small_and_keep_the_mass_roughly():
    images = _blob(batch=64)
    warped = random_affine(images, torch.Generator().manual_seed(0))
    mass = warped.sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    assert mass.min() > 1 / 1.1**2 - 0.1 and mass.max() < 1.1**2 + 0.1  # zoom within ±10%
    overlap = (warped * images).sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    assert overlap.min() > 0.3  # a small rotation and shift leave the blob mostly in place
    assert not torch.allclose(warped, images)


def test_gradients_flow_to_the_images():
    images = _blob(batch=2).requires_grad_(True)
    random_affine(images, torch.Generator().manual_seed(0)).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_rotation_zero_leaves_slant_alone_and_rotation_turns_it():
    bar = torch.zeros(64, 1, 28, 28)
    bar[:, :, 6:22, 13:15] = 1.0  # an upright stroke: slant 0
    generator = torch.Generator().manual_seed(0)
    upright = slant(random_affine(bar, generator, strength=1.5, rotation=0.0).numpy())
    turned = slant(random_affine(bar, torch.Generator().manual_seed(0), strength=1.5).numpy())
    assert np.abs(upright).max() < 1.0  # degrees: shift and zoom only
    assert np.abs(turned).max() > 10.0  # up to 22.5° at strength 1.5


def test_erase_zeroes_one_square_of_its_own_per_image():
    images = torch.ones(64, 1, 28, 28)
    erased = random_erase(images, torch.Generator().manual_seed(0), side=0.25)  # 7 px
    assert erased.shape == images.shape
    for image in erased[:, 0]:
        rows, columns = torch.nonzero(image == 0, as_tuple=True)
        assert 1 <= len(rows) <= 49
        # one axis-aligned block, cut by the frame at most
        height, width = rows.max() - rows.min() + 1, columns.max() - columns.min() + 1
        assert len(rows) == height * width and height <= 7 and width <= 7
    sizes = (erased == 0).sum(dim=(1, 2, 3))
    assert (sizes == 49).any() and (sizes < 49).any()  # inside the frame, and cut by it
    assert len({tuple(torch.nonzero(e[0] == 0)[0].tolist()) for e in erased}) > 10  # each its own place


def test_erase_is_seeded_and_reaches_every_pixel():
    images = torch.ones(2000, 1, 28, 28)
    first = random_erase(images, torch.Generator().manual_seed(5), side=0.25)
    assert torch.equal(first, random_erase(images, torch.Generator().manual_seed(5), side=0.25))
    assert ((first == 0).any(dim=0)).all()  # corners and edges too
