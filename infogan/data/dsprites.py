"""dSprites (Matthey et al., 2017) rendered procedurally, with the original's layout and index order.

The original is 737,280 binary 64×64 images of a square, an ellipse or a heart, one per
combination of five factors: shape (3), scale (6, linspace(0.5, 1)), orientation (40,
linspace(0, 2π)), posX (32) and posY (32, linspace(0, 1)). Images are stored with posY varying
fastest, then posX, orientation, scale and shape, so image ``i`` has the factors of ``i``'s
mixed-radix digits (strides 245760, 40960, 1024, 32, 1). ``latents_classes`` and
``latents_values`` keep the original's six columns (color, shape, scale, orientation, posX,
posY); the constant color column is not a factor for sampling or for the metrics.

This module draws the same grid of factors; it approximates, not reproduces, the original
pixels (the original renderer was never published). The original file loads too, through
:meth:`DSprites.from_npz`.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from infogan.data.image_dataset import ImageDataset
from infogan.data.root import data_root
from infogan.errors import InfoGANError

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
LATENT_NAMES = ("color", *FACTOR_NAMES)  # the original's columns of latents_classes / latents_values
SHAPES = ("square", "ellipse", "heart")
IMAGE_SIZE = 64
ORIGINAL_NPZ = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
NPZ_KEYS = ("imgs", "latents_classes", "latents_values")
RENDER_VERSION = 1  # bump when the pictures change, so stale caches are rebuilt
# A square's side at scale 1 as a fraction of the canvas: ~20 px, a guess from looking at the
# original. Off the half-pixel grid, so no pixel centre sits exactly on a straight edge.
SPRITE_SIZE = 0.32
HEART_WIDTH = 2.278  # width of the curve (x²+y²-1)³ = x²y³, measured numerically
HEART_MID_Y = 0.118  # middle of its vertical extent [-1.0, 1.236]


# ----- factor arithmetic --------------------------------------------------------------------
def factor_strides(sizes: Sequence[int]) -> np.ndarray:
    """Row-major strides of the factor grid: (245760, 40960, 1024, 32, 1) for dSprites."""
    return np.cumprod((*sizes[1:], 1)[::-1])[::-1].astype(np.int64)


def factor_values(sizes: Sequence[int] = FACTOR_SIZES) -> tuple[np.ndarray, ...]:
    """The value of each class of each factor, as in the original's ``latents_values``."""
    shape, scale, orientation, pos_x, pos_y = sizes
    return (
        np.arange(1.0, shape + 1),  # the original stores shapes as 1, 2, 3
        np.linspace(0.5, 1.0, scale),
        np.linspace(0.0, 2 * math.pi, orientation),  # 0 and 2π both present, as in the original
        np.linspace(0.0, 1.0, pos_x),
        np.linspace(0.0, 1.0, pos_y),
    )


# ----- rendering ----------------------------------------------------------------------------
def _inside(shape: int, dx: np.ndarray, dy: np.ndarray, cos: np.ndarray, sin: np.ndarray, size: np.ndarray):
    """Whether pixel-centre offsets (dx right, dy down) from the sprite centre fall inside it.

    The offsets are rotated into the sprite's frame (counter-clockwise on screen by the angle
    whose cos/sin are given) and divided by the sprite's size in pixels; all arrays broadcast.
    """
    up = -dy  # the sprite's own frame has y pointing up, the image's rows point down
    u = (dx * cos + up * sin) / size
    v = (up * cos - dx * sin) / size
    if shape == 0:  # square of side 1
        return (np.abs(u) <= 0.5) & (np.abs(v) <= 0.5)
    if shape == 1:  # ellipse 1 wide and 0.5 tall
        return (u * u) * 4.0 + (v * v) * 16.0 <= 1.0
    # heart (x²+y²-1)³ <= x²y³ scaled to width 1 with its box centred; point down at angle 0
    x, y = u * HEART_WIDTH, v * HEART_WIDTH + HEART_MID_Y
    r = x * x + y * y - 1.0
    return r * r * r <= (x * x) * (y * y * y)


def _position_offsets(count: int, length: int) -> np.ndarray:
    """Pixel-centre offsets from the sprite centre for each position class (count, length).

    Position classes sit one pixel apart, centred on the canvas: the smallest step at which
    every position still gives different pixels, which the original says it chose.
    """
    first = (IMAGE_SIZE - count) / 2  # class 0's offset at pixel 0, 16 for 32 classes
    return np.arange(length)[None, :] - first - np.arange(count)[:, None]


def render(factors: np.ndarray, sizes: Sequence[int] = FACTOR_SIZES) -> np.ndarray:
    """Binary images (N, 64, 64) for factor classes (N, 5), drawn one by one (vectorised)."""
    factors = np.asarray(factors, dtype=np.int64)
    _, scales, angles, _, _ = factor_values(sizes)
    cos, sin = np.cos(angles), np.sin(angles)
    size = (scales * (SPRITE_SIZE * IMAGE_SIZE))[factors[:, 1]][:, None, None]
    dx = _position_offsets(sizes[3], IMAGE_SIZE)[factors[:, 3]][:, None, :]  # (N, 1, 64)
    dy = _position_offsets(sizes[4], IMAGE_SIZE)[factors[:, 4]][:, :, None]  # (N, 64, 1)
    c, s = cos[factors[:, 2]][:, None, None], sin[factors[:, 2]][:, None, None]
    images = np.zeros((len(factors), IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for shape in np.unique(factors[:, 0]):
        rows = factors[:, 0] == shape
        images[rows] = _inside(int(shape), dx[rows], dy[rows], c[rows], s[rows], size[rows])
    return images


def _render_block(shape: int, scale: int, angle: int, sizes: Sequence[int]) -> np.ndarray:
    """Packed images (posX * posY, 512) of one (shape, scale, orientation), in index order.

    Positions are whole-pixel shifts, so the sprite is drawn once on a canvas padded by the
    position range and every position is a 64×64 window of it.
    """
    n_x, n_y = sizes[3], sizes[4]
    _, scales, angles, _, _ = factor_values(sizes)
    dx = np.arange(IMAGE_SIZE + n_x - 1)[None, :] - (IMAGE_SIZE + n_x) / 2 + 1
    dy = np.arange(IMAGE_SIZE + n_y - 1)[:, None] - (IMAGE_SIZE + n_y) / 2 + 1
    c, s = np.cos(angles)[angle : angle + 1], np.sin(angles)[angle : angle + 1]
    size = scales[scale : scale + 1] * (SPRITE_SIZE * IMAGE_SIZE)
    canvas = _inside(shape, dx, dy, c, s, size)
    windows = np.lib.stride_tricks.sliding_window_view(canvas, (IMAGE_SIZE, IMAGE_SIZE))
    # window (j, i) shows the sprite at posY class n_y-1-j, posX class n_x-1-i
    block = windows[::-1, ::-1].transpose(1, 0, 2, 3)  # (posX, posY, 64, 64)
    return np.packbits(block.reshape(n_x * n_y, IMAGE_SIZE * IMAGE_SIZE), axis=1)


def render_packed(sizes: Sequence[int] = FACTOR_SIZES) -> np.ndarray:
    """Every image of the grid as packed bits (N, 512), in the original's index order."""
    shapes, scales, angles, n_x, n_y = sizes
    packed = np.empty((math.prod(sizes), IMAGE_SIZE * IMAGE_SIZE // 8), dtype=np.uint8)
    block = n_x * n_y
    for start, (shape, scale, angle) in zip(
        range(0, len(packed), block), np.ndindex(shapes, scales, angles), strict=True
    ):
        packed[start : start + block] = _render_block(shape, scale, angle, sizes)
    return packed


# ----- the dataset --------------------------------------------------------------------------
class DSprites:
    """dSprites images as packed bits, addressed by factor classes through the index strides.

    Args:
        packed: images as ``np.packbits`` rows (N, 512), in index order.
        factor_sizes: classes per factor (shape, scale, orientation, posX, posY).
        values: the value of each class of each factor; the original's by default.
    """

    factor_names = FACTOR_NAMES

    def __init__(
        self,
        packed: np.ndarray,
        factor_sizes: Sequence[int] = FACTOR_SIZES,
        values: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        if len(self.factor_sizes) != len(FACTOR_NAMES) or min(self.factor_sizes) < 1:
            raise InfoGANError(f"dSprites needs five factor sizes >= 1, got {self.factor_sizes}")
        expected = (math.prod(self.factor_sizes), IMAGE_SIZE * IMAGE_SIZE // 8)
        if packed.shape != expected or packed.dtype != np.uint8:
            raise InfoGANError(f"packed images must be uint8 {expected}, got {packed.dtype} {packed.shape}")
        self.packed = packed
        values = factor_values(self.factor_sizes) if values is None else values
        self.values = tuple(np.asarray(v, dtype=np.float64) for v in values)
        self.strides = factor_strides(self.factor_sizes)

    # ----- construction -----------------------------------------------------------------
    @classmethod
    def generate(cls, factor_sizes: Sequence[int] = FACTOR_SIZES) -> DSprites:
        """Render the whole grid in memory, without touching the cache."""
        return cls(render_packed(factor_sizes), factor_sizes)

    @classmethod
    def load(cls, cache_dir: str | Path | None = None, *, factor_sizes: Sequence[int] = FACTOR_SIZES) -> DSprites:
        """The rendered set from ``cache_dir`` (default ``data_root()/dsprites``); rendered and
        cached first when the cache is missing, unreadable or from another renderer version."""
        path = cache_path(cache_dir, factor_sizes)
        packed = read_cache(path, factor_sizes)
        if packed is None:
            packed = render_packed(factor_sizes)
            write_cache(path, packed, factor_sizes)
        return cls(packed, factor_sizes)

    @classmethod
    def from_npz(cls, path: str | Path) -> DSprites:
        """The original ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (or any npz with its
        keys ``imgs``, ``latents_classes``, ``latents_values`` over a complete factor grid)."""
        imgs, classes, values = _read_npz(path)
        factors = classes[:, 1:].astype(np.int64)  # column 0 is the constant color
        sizes = tuple(int(s) for s in factors.max(axis=0) + 1)
        order = _grid_order(factors, sizes, path)
        factor_vals = [np.zeros(s) for s in sizes]
        for f, vals in enumerate(factor_vals):
            vals[factors[:, f]] = values[:, f + 1]
        packed = np.packbits(imgs.reshape(len(imgs), -1), axis=1)  # any non-zero pixel is on
        return cls(packed[order], sizes, factor_vals)

    # ----- the original's arrays --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.packed)

    @property
    def num_factors(self) -> int:
        """Number of factors that vary (five; color is constant)."""
        return len(self.factor_sizes)

    @property
    def latents_classes(self) -> np.ndarray:
        """(N, 6) int64: color, shape, scale, orientation, posX, posY class of every image."""
        factors = self.factors_of(np.arange(len(self)))
        return np.concatenate([np.zeros((len(self), 1), dtype=np.int64), factors], axis=1)

    @property
    def latents_values(self) -> np.ndarray:
        """(N, 6) float64: the value of each latent of every image (color is 1)."""
        classes = self.latents_classes
        columns = [np.ones(len(self))] + [v[classes[:, f + 1]] for f, v in enumerate(self.values)]
        return np.stack(columns, axis=1)

    # ----- factor-indexed access --------------------------------------------------------
    def index_of(self, factors: np.ndarray) -> np.ndarray:
        """Image indices (N,) of factor classes (N, 5): the dot product with the strides."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise InfoGANError(f"factors must be (N, {self.num_factors}) classes, got shape {factors.shape}")
        if (factors < 0).any() or (factors >= np.array(self.factor_sizes)).any():
            raise InfoGANError(f"factor classes out of range for sizes {self.factor_sizes}")
        return factors @ self.strides

    def factors_of(self, indices: np.ndarray) -> np.ndarray:
        """Factor classes (N, 5) of image indices (N,)."""
        indices = np.asarray(indices, dtype=np.int64)
        return (indices[:, None] // self.strides) % np.array(self.factor_sizes)

    def factor_index(self, name: str | int) -> int:
        """Column of a factor given by name (``posX``) or number."""
        if isinstance(name, int) and 0 <= name < self.num_factors:
            return name
        if name in self.factor_names:
            return self.factor_names.index(name)
        raise InfoGANError(f"unknown dSprites factor {name!r}; known: {', '.join(self.factor_names)}")

    def sample_factors(
        self, n: int, rng: np.random.Generator, fixed: Mapping[str | int, int] | None = None
    ) -> np.ndarray:
        """``n`` factor classes (n, 5) drawn uniformly, with the factors in ``fixed`` held at a class."""
        factors = np.stack([rng.integers(size, size=n) for size in self.factor_sizes], axis=1)
        for name, value in (fixed or {}).items():
            column = self.factor_index(name)
            if not 0 <= value < self.factor_sizes[column]:
                raise InfoGANError(f"{self.factor_names[column]} class {value} not in [0, {self.factor_sizes[column]})")
            factors[:, column] = value
        return factors

    def _bits_at(self, indices: np.ndarray) -> np.ndarray:
        """Unpacked pixels (N, 4096) as uint8 0/1 at image indices (N,)."""
        return np.unpackbits(self.packed[np.asarray(indices, dtype=np.int64)], axis=1)

    def masks_at(self, indices: np.ndarray) -> np.ndarray:
        """Binary images (N, 64, 64) at image indices (N,)."""
        return self._bits_at(indices).view(bool).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)  # 0/1 bytes are valid bools

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        """Images (N, 1, 64, 64) as float32 in {0, 1} at image indices (N,)."""
        return self._bits_at(indices).astype(np.float32).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)

    def images_for(self, factors: np.ndarray) -> np.ndarray:
        """Images (N, 1, 64, 64) as float32 for factor classes (N, 5)."""
        return self.images_at(self.index_of(factors))

    # ----- as a training set ------------------------------------------------------------
    def image_dataset(self) -> ImageDataset:
        """The images as an :class:`~infogan.data.ImageDataset` for training, labelled by shape.

        The pixels stay packed (92 MB for the full set instead of 3 GB as bytes) and are
        unpacked a batch at a time; asking for the dataset resident unpacks all of them.
        """
        shapes = torch.from_numpy(self.factors_of(np.arange(len(self)))[:, 0])
        return ImageDataset(PackedImages(self.packed), shapes)


class PackedImages:
    """uint8 images (N, 1, 64, 64) in {0, 255}, unpacked from bits row by row as they are indexed.

    Behaves as the read-only array :class:`~infogan.data.ImageDataset` and the batch sources
    expect: ``shape``, ``dtype``, ``len``, indexing by an integer, a slice or an index array,
    and ``np.array(images)`` for the whole set.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, packed: np.ndarray) -> None:
        self.packed = packed

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.packed), 1, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.packed)

    def __getitem__(self, index) -> np.ndarray:
        rows = self.packed[index]
        if rows.ndim == 1:  # a single integer index
            return self._unpack(rows[None])[0]
        return self._unpack(rows)

    @staticmethod
    def _unpack(rows: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(rows, axis=1)  # (N, 4096) of 0/1
        np.multiply(bits, 255, out=bits)
        return bits.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        images = self._unpack(self.packed)
        return images if dtype is None else images.astype(dtype)


def _read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``imgs``, ``latents_classes`` and ``latents_values`` of an npz, checked for shape.

    Only these keys are read: the original's pickled ``metadata`` is never unpickled.
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise InfoGANError(f"cannot read {path} as an npz archive: {err}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InfoGANError(f"{path} is a single array, not an npz archive with dSprites' keys")
    with archive:
        missing = [key for key in NPZ_KEYS if key not in archive.files]
        if missing:
            raise InfoGANError(f"{path} lacks the dSprites arrays {', '.join(missing)}")
        try:
            imgs, classes, values = (archive[key] for key in NPZ_KEYS)
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise InfoGANError(f"cannot read the arrays in {path}: {err}") from None
    if (
        len(imgs) == 0
        or imgs.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE)
        or classes.shape != (len(imgs), 6)
        or values.shape != classes.shape
    ):
        raise InfoGANError(f"{path}: expected imgs (N, 64, 64) with latents_classes and latents_values (N, 6)")
    return imgs, classes, values


def _grid_order(factors: np.ndarray, sizes: Sequence[int], path: str | Path) -> np.ndarray:
    """Row order that puts an npz's images into index order; refuses an incomplete grid."""
    indices = factors @ factor_strides(sizes)
    order = np.argsort(indices, kind="stable")
    if len(indices) != math.prod(sizes) or not np.array_equal(indices[order], np.arange(len(indices))):
        raise InfoGANError(f"{path}: latents_classes do not cover each factor combination exactly once")
    return order


# ----- the cache ----------------------------------------------------------------------------
def cache_path(cache_dir: str | Path | None, factor_sizes: Sequence[int] = FACTOR_SIZES) -> Path:
    """Where the rendered set is cached: ``cache_dir`` or ``data_root()/dsprites``."""
    folder = Path(cache_dir).expanduser() if cache_dir else data_root() / "dsprites"
    return folder / f"dsprites_procedural_v{RENDER_VERSION}_{'x'.join(map(str, factor_sizes))}.npz"


def read_cache(path: Path, factor_sizes: Sequence[int]) -> np.ndarray | None:
    """The packed images in a cache file, or None when it is absent, corrupt or stale."""
    if not path.is_file():
        return None
    try:  # zip members carry CRCs, so a truncated or corrupted file fails here
        with np.load(path, allow_pickle=False) as archive:
            version, sizes, packed = archive["version"], archive["factor_sizes"], archive["packed"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    expected = (math.prod(factor_sizes), IMAGE_SIZE * IMAGE_SIZE // 8)
    if int(version) != RENDER_VERSION or tuple(sizes.tolist()) != tuple(factor_sizes) or packed.shape != expected:
        return None
    return packed if packed.dtype == np.uint8 else None


def write_cache(path: Path, packed: np.ndarray, factor_sizes: Sequence[int]) -> Path:
    """Save packed images compressed, atomically (a reader never sees half a file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.partial")
        with open(partial, "wb") as file:  # a file object stops numpy appending ".npz"
            np.savez_compressed(file, version=RENDER_VERSION, factor_sizes=np.asarray(factor_sizes), packed=packed)
        os.replace(partial, path)
    except OSError as err:
        raise InfoGANError(f"could not write the dSprites cache {path}: {err.strerror or err}") from None
    return path
