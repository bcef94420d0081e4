"""Known answers for the property measures on drawn shapes."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from infogan import InfoGANError, properties
from infogan.properties import PROPERTIES


def _canvas(n: int = 1, size: int = 28, channels: int = 1) -> np.ndarray:
    return np.zeros((n, channels, size, size))


def sheared_bar(angle: float, *, size: int = 56, half_width: float = 3.0, half_length: int = 18) -> np.ndarray:
    """An upright bar sheared so that its top leans right by ``angle`` degrees, antialiased along x."""
    image = _canvas(size=size)
    xs = np.arange(size) + 0.5
    centre = size / 2
    for row in range(size):
        up = centre - (row + 0.5)  # y pointing up
        if abs(up) > half_length:
            continue
        middle = centre + up * math.tan(math.radians(angle))
        cover = np.clip(half_width + 0.5 - np.abs(xs - middle), 0, 1)  # area coverage of each pixel
        image[0, 0, row] = cover
    return image


@pytest.mark.parametrize("angle", [-30.0, -12.5, 0.0, 8.0, 20.0, 35.0])
def test_slant_of_a_sheared_bar(angle):
    assert_allclose(properties.slant(sheared_bar(angle)), [angle], atol=0.05)


def test_slant_of_a_thin_rotated_line():
    image = _canvas(size=64)
    t = np.linspace(-20, 20, 4001)
    angle = math.radians(25)
    xs, ys = 32 + t * math.sin(angle), 32 - t * math.cos(angle)
    image[0, 0, ys.astype(int), xs.astype(int)] = 1.0
    assert_allclose(properties.slant(image), [25.0], atol=1.0)


def test_slant_of_a_blank_image_is_nan():
    assert np.isnan(properties.slant(_canvas())).all()


@pytest.mark.parametrize("stroke", [1, 2, 3, 4])
def test_thickness_of_straight_bars(stroke):
    upright, lying = _canvas(), _canvas()
    upright[0, 0, 4:24, 12 : 12 + stroke] = 1.0
    lying[0, 0, 12 : 12 + stroke, 4:24] = 1.0
    measured = properties.thickness(np.concatenate([upright, lying]))
    # the skeleton of a w × 20 bar stops up to w / 2 short of each end
    assert ((stroke <= measured) & (measured <= stroke * 20 / (20 - stroke) + 1e-9)).all(), measured


def test_thickness_of_a_diagonal_line_counts_diagonal_steps_as_root_two():
    image = _canvas()
    for i in range(4, 24):
        image[0, 0, i, i : i + 3] = 1.0  # a 45° band, 3 pixels across each row
    measured = properties.thickness(image)[0]
    assert_allclose(measured, 3 / math.sqrt(2), rtol=0.1)  # its true width across the stroke


def test_thickness_grows_with_a_disk_radius_and_is_nan_without_ink():
    ys, xs = np.mgrid[0:28, 0:28]
    disks = _canvas(3)
    for i, radius in enumerate((3, 5, 8)):
        disks[i, 0] = ((ys - 14) ** 2 + (xs - 14) ** 2 <= radius**2).astype(float)
    measured = properties.thickness(disks)
    assert measured[0] < measured[1] < measured[2]
    assert np.isnan(properties.thickness(_canvas())).all()


def test_skeleton_length():
    line = np.zeros((10, 10), bool)
    line[5, 1:8] = True
    assert properties.skeleton_length(line) == 7.0
    diagonal = np.eye(5, dtype=bool)
    assert_allclose(properties.skeleton_length(diagonal), 4 * math.sqrt(2) + 1)
    corner = np.zeros((5, 5), bool)
    corner[1, 1:3], corner[2, 2] = True, True  # an L: two orthogonal links, no diagonal
    assert properties.skeleton_length(corner) == 3.0
    assert properties.skeleton_length(line | np.pad(corner, (0, 5))) == 10.0  # two pieces
    assert properties.skeleton_length(np.zeros((3, 3), bool)) == 0.0


def test_bounding_box_and_ink():
    image = _canvas()
    image[0, 0, 5:15, 8:12] = 1.0
    image[0, 0, 20, 20] = 0.4  # faint: not ink for the box, but counts in the mass
    assert properties.height(image)[0] == 10 and properties.width(image)[0] == 4
    assert_allclose(properties.ink(image), [40.4])
    assert np.isnan(properties.height(_canvas())).all()


def test_colour_measures():
    images = _canvas(3, size=4, channels=3)
    images[0, 0] = 1.0  # pure red
    images[1, 1], images[1, 2] = 0.5, 0.5  # half-bright cyan
    images[2] = 0.25  # grey
    assert_allclose(properties.hue(images[:2]), [0.0, 180.0], atol=1e-9)
    assert np.isnan(properties.hue(images[2:])).all()
    assert_allclose(properties.saturation(images), [100.0, 100.0, 0.0])
    assert_allclose(properties.brightness(images), [29.9, 0.5 * (58.7 + 11.4), 25.0])


def test_registry():
    assert properties.get("slant_deg") is PROPERTIES["slant"]
    assert PROPERTIES["thickness"].column == "thickness_px"
    assert {p.name for p in properties.for_channels(3)} == {"brightness", "saturation", "hue"}
    with pytest.raises(InfoGANError, match="unknown property"):
        properties.get("curl")
    with pytest.raises(InfoGANError, match="grayscale"):
        properties.slant(_canvas(channels=3))
