import math

import numpy as np
import pytest
from torch.testing import assert_close

from infogan.data import dsprites
from infogan.data.dsprites import FACTOR_SIZES, DSprites, cache_path, factor_strides, factor_values, render
from infogan.errors import InfoGANError

SMALL = (3, 2, 5, 8, 6)  # a reduced grid: every factor still varies, renders in milliseconds


@pytest.fixture(scope="module")
def small() -> DSprites:
    return DSprites.generate(SMALL)


def test_original_layout_constants():
    assert math.prod(FACTOR_SIZES) == 737_280
    assert factor_strides(FACTOR_SIZES).tolist() == [245_760, 40_960, 1024, 32, 1]
    shape, scale, orientation, pos_x, pos_y = factor_values()
    assert shape.tolist() == [1.0, 2.0, 3.0]
    assert_close(scale, np.linspace(0.5, 1.0, 6))
    assert orientation[0] == 0.0 and orientation[-1] == pytest.approx(2 * math.pi) and len(orientation) == 40
    assert_close(pos_x, np.linspace(0.0, 1.0, 32))
    assert_close(pos_y, pos_x)


def test_shapes_and_dtypes(small):
    n = math.prod(SMALL)
    assert len(small) == n and small.packed.shape == (n, 512) and small.packed.dtype == np.uint8
    classes, values = small.latents_classes, small.latents_values
    assert classes.shape == (n, 6) and classes.dtype == np.int64
    assert values.shape == (n, 6) and values.dtype == np.float64
    assert (classes[:, 0] == 0).all() and (values[:, 0] == 1.0).all()  # the constant color column
    images = small.images_for(classes[:7, 1:])
    assert images.shape == (7, 1, 64, 64) and images.dtype == np.float32
    assert set(np.unique(images).tolist()) <= {0.0, 1.0}


def test_index_order_follows_the_strides(small):
    indices = np.arange(len(small))
    classes = small.latents_classes[:, 1:]
    assert_close(classes @ factor_strides(SMALL), indices)
    assert (classes[1:, 4] != classes[:-1, 4]).all()  # posY varies fastest, as in the original
    assert_close(small.index_of(classes), indices)
    assert_close(small.factors_of(indices), classes)
    # every stored image is the picture of its own factors
    assert np.array_equal(small.masks_at(indices), render(classes, SMALL))
    x_values = small.latents_values[:, 4]
    assert_close(x_values, factor_values(SMALL)[3][classes[:, 3]])


def test_full_grid_subset_in_index_order():
    rng = np.random.default_rng(0)
    strides = factor_strides(FACTOR_SIZES)
    for shape, scale, angle in [(0, 5, 3), (1, 0, 39), (2, 3, 17)]:
        start = shape * strides[0] + scale * strides[1] + angle * strides[2]
        block = dsprites._render_block(shape, scale, angle, FACTOR_SIZES)  # posX * posY images
        picked = rng.choice(1024, size=64, replace=False)
        indices = start + picked
        factors = (indices[:, None] // strides) % np.array(FACTOR_SIZES)
        assert (factors[:, :3] == [shape, scale, angle]).all()
        direct = np.packbits(render(factors).reshape(64, -1), axis=1)
        assert np.array_equal(block[picked], direct)


def test_rendering_is_deterministic(small):
    factors = small.sample_factors(50, np.random.default_rng(1))
    assert np.array_equal(render(factors, SMALL), render(factors, SMALL))
    assert np.array_equal(DSprites.generate(SMALL).packed, DSprites.generate(SMALL).packed)


def test_scale_grows_the_pixel_count():
    for shape in range(3):
        for angle in (0, 7, 21):
            factors = np.array([[shape, scale, angle, 16, 16] for scale in range(6)])
            counts = render(factors).sum(axis=(1, 2))
            assert (np.diff(counts) > 0).all(), (shape, angle, counts)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(image)
    return rows.mean(), cols.mean()


def test_position_shifts_the_centre_of_mass_by_whole_pixels():
    for shape, scale, angle in [(0, 5, 5), (1, 2, 11), (2, 5, 30)]:
        base = [shape, scale, angle]
        ref_row, ref_col = _centre_of_mass(render(np.array([[*base, 0, 0]]))[0])
        for x, y in [(1, 0), (0, 1), (31, 0), (0, 31), (31, 31), (12, 20)]:
            row, col = _centre_of_mass(render(np.array([[*base, x, y]]))[0])
            assert col - ref_col == pytest.approx(x) and row - ref_row == pytest.approx(y)


def test_largest_sprites_are_never_clipped():
    factors = np.array([[s, 5, a, x, y] for s in range(3) for a in range(40) for x, y in [(0, 0), (31, 31), (16, 16)]])
    images = render(factors)
    counts = images.sum(axis=(1, 2)).reshape(3, 40, 3)
    assert (counts == counts[:, :, 2:]).all()  # the same pixel count at the corners as in the middle
    edges = images[:, [0, -1], :].any() or images[:, :, [0, -1]].any()
    assert not edges


def test_sample_factors_and_fixed_factors(small):
    rng = np.random.default_rng(0)
    factors = small.sample_factors(2000, rng)
    assert factors.shape == (2000, 5) and factors.dtype == np.int64
    assert (factors.min(axis=0) == 0).all() and (factors.max(axis=0) == np.array(SMALL) - 1).all()
    held = small.sample_factors(100, rng, fixed={"shape": 2, 3: 4})
    assert (held[:, 0] == 2).all() and (held[:, 3] == 4).all() and len(np.unique(held[:, 4])) > 1
    again = small.sample_factors(2000, np.random.default_rng(0))
    assert np.array_equal(factors, again)
    with pytest.raises(InfoGANError, match="posX class 9"):
        small.sample_factors(1, rng, fixed={"posX": 9})
    with pytest.raises(InfoGANError, match="unknown dSprites factor"):
        small.sample_factors(1, rng, fixed={"colour": 0})


def test_bad_factor_arrays(small):
    with pytest.raises(InfoGANError, match="out of range"):
        small.index_of(np.array([[0, 0, 0, 8, 0]]))
    with pytest.raises(InfoGANError, match=r"\(N, 5\)"):
        small.images_for(np.zeros((2, 4), dtype=int))


def test_cache_round_trip(tmp_path, monkeypatch):
    first = DSprites.load(tmp_path, factor_sizes=SMALL)
    path = cache_path(tmp_path, SMALL)
    assert path.is_file() and path.parent == tmp_path

    def no_render(*args):
        raise AssertionError("rendered although the cache is valid")

    monkeypatch.setattr(dsprites, "render_packed", no_render)
    assert np.array_equal(DSprites.load(tmp_path, factor_sizes=SMALL).packed, first.packed)


def test_corrupt_or_stale_cache_is_rebuilt(tmp_path, monkeypatch):
    path = cache_path(tmp_path, SMALL)
    path.write_bytes(b"not a zip file")
    rebuilt = DSprites.load(tmp_path, factor_sizes=SMALL)
    assert dsprites.read_cache(path, SMALL) is not None
    np.savez_compressed(path, version=0, factor_sizes=np.array(SMALL), packed=rebuilt.packed)  # older renderer
    assert dsprites.read_cache(path, SMALL) is None
    assert np.array_equal(DSprites.load(tmp_path, factor_sizes=SMALL).packed, rebuilt.packed)
    assert dsprites.read_cache(path, SMALL) is not None


def test_default_cache_lives_under_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOGAN_DATA_ROOT", str(tmp_path))
    assert cache_path(None).parent == tmp_path / "dsprites"
    assert cache_path(None).name == "dsprites_procedural_v1_3x6x40x32x32.npz"


def _write_original_style_npz(path, sizes, rng):
    """A tiny npz with the original's keys, dtypes and column layout, rows shuffled."""
    n = math.prod(sizes)
    factors = (np.arange(n)[:, None] // factor_strides(sizes)) % np.array(sizes)
    classes = np.concatenate([np.zeros((n, 1), dtype=np.int64), factors], axis=1)
    values = np.concatenate(
        [np.ones((n, 1))] + [v[factors[:, f]][:, None] for f, v in enumerate(factor_values(sizes))], axis=1
    )
    imgs = rng.integers(0, 2, size=(n, 64, 64), dtype=np.uint8)
    order = rng.permutation(n)
    np.savez(path, imgs=imgs[order], latents_classes=classes[order], latents_values=values[order])
    return imgs, factors


def test_from_npz_loads_original_layout(tmp_path):
    sizes = (3, 2, 2, 2, 3)
    path = tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    imgs, factors = _write_original_style_npz(path, sizes, np.random.default_rng(0))
    loaded = DSprites.from_npz(path)
    assert loaded.factor_sizes == sizes
    assert_close(loaded.images_for(factors)[:, 0], imgs.astype(np.float32))
    assert_close(loaded.latents_values[:, 2], factor_values(sizes)[1][factors[:, 1]])


def test_from_npz_refuses_bad_files(tmp_path):
    missing = tmp_path / "missing_key.npz"
    np.savez(missing, imgs=np.zeros((2, 64, 64), dtype=np.uint8), latents_classes=np.zeros((2, 6), dtype=int))
    with pytest.raises(InfoGANError, match="lacks the dSprites arrays latents_values"):
        DSprites.from_npz(missing)
    with pytest.raises(InfoGANError, match="cannot read"):
        DSprites.from_npz(tmp_path / "absent.npz")
    wrong = tmp_path / "wrong_shape.npz"
    np.savez(wrong, imgs=np.zeros((2, 28, 28)), latents_classes=np.zeros((2, 6)), latents_values=np.zeros((2, 6)))
    with pytest.raises(InfoGANError, match=r"\(N, 64, 64\)"):
        DSprites.from_npz(wrong)
    sizes = (3, 2, 2, 2, 3)
    holes = tmp_path / "holes.npz"
    _write_original_style_npz(holes, sizes, np.random.default_rng(0))
    with np.load(holes) as archive:
        arrays = {k: archive[k][1:] for k in archive.files}  # one combination missing
    np.savez(holes, **arrays)
    with pytest.raises(InfoGANError, match="exactly once"):
        DSprites.from_npz(holes)


def test_image_dataset_unpacks_rows_on_demand(small):
    from infogan.data import take

    data = small.image_dataset()
    n = math.prod(SMALL)
    assert len(data) == n and data.images.shape == (n, 1, 64, 64) and data.nbytes == n * 4096
    indices = np.array([5, 0, n - 1])
    rows = take(data.images, indices)
    assert rows.dtype.is_floating_point is False and set(rows.unique().tolist()) <= {0, 255}
    np.testing.assert_array_equal(rows.numpy() / 255, small.images_at(indices))
    np.testing.assert_array_equal(data.images[3], small.images_at(np.array([3]))[0] * 255)
    np.testing.assert_array_equal(data.resident().images.numpy()[:10], data.images[:10])
    assert data.labels.tolist() == small.factors_of(np.arange(n))[:, 0].tolist()  # the shape factor


def test_load_dataset_caches_dsprites_under_the_data_root(tmp_path, monkeypatch):
    from infogan.data import load_dataset

    calls = []

    def tiny_load(cls, cache_dir=None, **kwargs):
        calls.append(cache_dir)
        return DSprites.generate(SMALL)

    monkeypatch.setattr(DSprites, "load", classmethod(tiny_load))
    data = load_dataset("dsprites", "test", tmp_path)
    assert calls == [tmp_path / "dsprites"] and data.images.shape[1:] == (1, 64, 64)
