"""Measurable properties of images, the units that calibration gives continuous codes.

Each measure is a pure function from a batch of images (N, C, H, W) in [0, 1] to one value
per image (N,), NaN where it is undefined (a blank image has no slant). Grayscale measures
treat bright pixels as ink, as in MNIST (light strokes on a dark ground).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from infogan.errors import InfoGANError

INK_THRESHOLD = 0.5  # a pixel is ink when brighter than this


@dataclass(frozen=True)
class Property:
    """A named measure with its unit; ``column`` names it in tables, e.g. ``slant_deg``."""

    name: str
    unit: str
    channels: int  # 1: grayscale shapes, 3: RGB images
    measure: Callable[[np.ndarray], np.ndarray]
    description: str

    @property
    def column(self) -> str:
        """The name of the measured value with its unit, e.g. ``slant_deg``."""
        return f"{self.name}_{self.unit}"


def _gray(images: np.ndarray) -> np.ndarray:
    """(N, H, W) from (N, 1, H, W) images, checked."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1:
        raise InfoGANError(f"grayscale measures need images (N, 1, H, W), got {images.shape}")
    return images[:, 0]


def _rgb(images: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) images, checked."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 3:
        raise InfoGANError(f"colour measures need images (N, 3, H, W), got {images.shape}")
    return images


# ----- grayscale shapes -------------------------------------------------------------------
def slant(images: np.ndarray) -> np.ndarray:
    """Degrees from upright, positive when the top leans right, from intensity-weighted second moments.

    The slant is the shear that would make the shape upright, atan(cov(x, y) / var(y)) with y
    pointing up: exact for a sheared (italic) copy of any upright symmetric shape, and for a
    thin line, whatever its width along x.
    """
    gray = _gray(images)
    height, width = gray.shape[1:]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    ys = -ys  # rows count downwards; slant is measured with y pointing up
    mass = gray.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = (gray * xs).sum(axis=(1, 2)) / mass
        mean_y = (gray * ys).sum(axis=(1, 2)) / mass
        dx, dy = xs - mean_x[:, None, None], ys - mean_y[:, None, None]
        cov = (gray * dx * dy).sum(axis=(1, 2)) / mass
        var_y = (gray * dy * dy).sum(axis=(1, 2)) / mass
        return np.degrees(np.arctan(cov / var_y))


def skeleton_length(mask: np.ndarray) -> float:
    """Length in pixels of a one-pixel-wide skeleton: 1 per orthogonal link, √2 per diagonal one,
    and 1 per connected piece for the half pixel beyond the centres at each of its ends.

    A diagonal link counts only where no orthogonal path joins the two pixels already, so a
    staircase is not counted twice.
    """
    from scipy import ndimage  # here, as scikit-image below: loading a model need not pay for them

    m = np.pad(mask.astype(bool), 1)
    centre = m[1:-1, 1:-1]
    right, down = centre & m[1:-1, 2:], centre & m[2:, 1:-1]
    down_right = centre & m[2:, 2:] & ~m[1:-1, 2:] & ~m[2:, 1:-1]
    down_left = centre & m[2:, :-2] & ~m[1:-1, :-2] & ~m[2:, 1:-1]
    links = right.sum() + down.sum() + math.sqrt(2) * (down_right.sum() + down_left.sum())
    pieces = ndimage.label(centre, structure=np.ones((3, 3)))[1]
    return float(links + pieces)


def thickness(images: np.ndarray) -> np.ndarray:
    """Stroke thickness in pixels: ink area over the length of the ink's skeleton (scikit-image).

    The skeleton stops short of a stroke's ends by about half its width, so a short thick
    stroke reads slightly thicker than it is (a 3×20 bar reads 3.3).
    """
    from skimage.morphology import skeletonize

    values = []
    for mask in _gray(images) > INK_THRESHOLD:
        length = skeleton_length(skeletonize(mask)) if mask.any() else 0.0
        values.append(mask.sum() / length if length > 0 else np.nan)
    return np.array(values)


def _ink_extent(images: np.ndarray, axis: int) -> np.ndarray:
    """Pixels from the first to the last row (axis 2) or column (axis 1) holding ink."""
    ink = (_gray(images) > INK_THRESHOLD).any(axis=axis)  # (N, W) or (N, H)
    first = ink.argmax(axis=1)
    last = ink.shape[1] - ink[:, ::-1].argmax(axis=1)
    return np.where(ink.any(axis=1), last - first, np.nan).astype(np.float64)


def height(images: np.ndarray) -> np.ndarray:
    """Height in pixels of the ink's bounding box."""
    return _ink_extent(images, axis=2)


def width(images: np.ndarray) -> np.ndarray:
    """Width in pixels of the ink's bounding box."""
    return _ink_extent(images, axis=1)


def ink(images: np.ndarray) -> np.ndarray:
    """Ink mass: the sum of intensities, in pixels of full ink."""
    return _gray(images).sum(axis=(1, 2))


# ----- RGB images -------------------------------------------------------------------------
def _hsv(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1], each (N, H, W)."""
    rgb = _rgb(images).clip(0, 1)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    value, low = rgb.max(axis=1), rgb.min(axis=1)
    chroma = value - low
    with np.errstate(invalid="ignore", divide="ignore"):
        saturation = np.where(value > 0, chroma / value, 0.0)
        sector = np.select(
            [chroma == 0, value == r, value == g],
            [0.0, ((g - b) / chroma) % 6, (b - r) / chroma + 2],
            (r - g) / chroma + 4,
        )
    return (60.0 * sector) % 360.0, saturation, value


def brightness(images: np.ndarray) -> np.ndarray:
    """Mean luma (ITU-R BT.601 weights) in percent."""
    rgb = _rgb(images)
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    return 100.0 * luma.mean(axis=(1, 2))


def saturation(images: np.ndarray) -> np.ndarray:
    """Mean HSV saturation in percent."""
    return 100.0 * _hsv(images)[1].mean(axis=(1, 2))


def hue(images: np.ndarray) -> np.ndarray:
    """Dominant hue in degrees [0, 360): the circular mean of pixels' hues, weighted by saturation."""
    angle, sat, _ = _hsv(images)
    radians = np.radians(angle)
    x, y = (sat * np.cos(radians)).sum(axis=(1, 2)), (sat * np.sin(radians)).sum(axis=(1, 2))
    return np.where((x == 0) & (y == 0), np.nan, np.degrees(np.arctan2(y, x)) % 360.0)


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property("slant", "deg", 1, slant, "lean from upright, positive to the right (second moments)"),
        Property("thickness", "px", 1, thickness, "stroke width: ink area over skeleton length"),
        Property("height", "px", 1, height, "height of the ink's bounding box"),
        Property("width", "px", 1, width, "width of the ink's bounding box"),
        Property("ink", "px", 1, ink, "ink mass: the sum of intensities"),
        Property("brightness", "pct", 3, brightness, "mean luma"),
        Property("saturation", "pct", 3, saturation, "mean HSV saturation"),
        Property("hue", "deg", 3, hue, "dominant hue, a saturation-weighted circular mean"),
    )
}


def get(name: str) -> Property:
    """The property called ``name`` (or by its column, ``slant_deg``), with a one-line error listing them."""
    for prop in PROPERTIES.values():
        if name in (prop.name, prop.column):
            return prop
    raise InfoGANError(f"unknown property {name!r}; known: {', '.join(PROPERTIES)}")


def for_channels(channels: int) -> list[Property]:
    """The properties that apply to images with this many channels."""
    return [p for p in PROPERTIES.values() if p.channels == channels]
