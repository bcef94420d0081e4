import os

import numpy as np
import pytest
import torch
from datasets_on_disk import write_image_folder
from PIL import Image

from infogan.data import image_folder
from infogan.data.image_folder import load_image_folder, scan_folder
from infogan.errors import InfoGANError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOGAN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pets"
    write_image_folder(root)
    return root


def _count_decodes(monkeypatch):
    calls = []
    original = image_folder.decode_image

    def counting(path, shape):
        calls.append(path)
        return original(path, shape)

    monkeypatch.setattr(image_folder, "decode_image", counting)
    return calls


def test_class_subfolders_become_labels_and_bad_files_are_skipped(folder):
    data = load_image_folder(folder, (3, 16, 16))
    assert data.images.shape == (5, 3, 16, 16) and data.images.dtype == np.uint8
    assert data.labels.tolist() == [0, 0, 0, 1, 1]  # cats/{a,b,c}, dogs/nested/{d,e}
    readable = ["cats/a.png", "cats/b.jpg", "cats/c.webp", "dogs/nested/d.gif", "dogs/nested/e.bmp"]
    for row, name in enumerate(readable):  # rows stay aligned with their files past the skipped ones
        assert np.array_equal(data.images[row], image_folder.decode_image(folder / name, (3, 16, 16)))
    assert len(data.skipped) == 2
    assert any("corrupt.png" in s for s in data.skipped) and any("empty.jpg" in s for s in data.skipped)
    gray = load_image_folder(folder, (1, 8, 8))
    assert gray.images.shape == (5, 1, 8, 8)


def test_strict_images_fail_instead_of_skipping(folder):
    with pytest.raises(InfoGANError, match=r"cannot read image .*(corrupt\.png|empty\.jpg)"):
        load_image_folder(folder, (3, 16, 16), strict=True)
    load_image_folder(folder, (3, 16, 16))  # a cache that skipped files must not satisfy strict
    with pytest.raises(InfoGANError, match="strict-images"):
        load_image_folder(folder, (3, 16, 16), strict=True)


def test_decoded_once_then_read_from_the_cache(folder, monkeypatch, tmp_path):
    calls = _count_decodes(monkeypatch)
    first = load_image_folder(folder, (3, 16, 16))
    assert len(calls) == 7  # every candidate file, the two bad ones included
    second = load_image_folder(folder, (3, 16, 16))
    assert len(calls) == 7 and np.array_equal(first.images, second.images)
    assert second.skipped == first.skipped and torch.equal(second.labels, first.labels)
    load_image_folder(folder, (3, 8, 8))  # another size is another array
    assert len(calls) == 14
    touched = folder / "cats" / "a.png"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    load_image_folder(folder, (3, 16, 16))  # a changed file invalidates the cache
    assert len(calls) == 21
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".json"] * 3 + [".npy"] * 6


def test_folders_without_classes_have_no_labels(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.fromarray(np.full((4, 4), i * 100, np.uint8)).save(flat / f"{i}.png")
    (flat / "one_class").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(flat / "one_class" / "x.png")
    scan = scan_folder(flat)
    assert scan.labels is None and len(scan.files) == 4
    data = load_image_folder(flat, (1, 4, 4))
    assert data.labels is None and [int(data.images[i].max()) for i in range(3)] == [0, 100, 200]


def test_empty_or_missing_or_unreadable_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InfoGANError, match="no images"):
        load_image_folder(tmp_path / "empty", (1, 8, 8))
    with pytest.raises(InfoGANError, match="no such folder"):
        load_image_folder(tmp_path / "missing", (1, 8, 8))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"garbage")
    with pytest.raises(InfoGANError, match="none of the 1 image files"):
        load_image_folder(tmp_path / "bad", (1, 8, 8))


def test_a_folder_of_16_bit_images_decodes_to_their_gradients(tmp_path):
    ramps = tmp_path / "ramps"
    ramps.mkdir()
    for i in range(2):
        ramp = np.tile(np.linspace(0, 65535, 32).round().astype(np.uint16), (32, 1))
        Image.fromarray(ramp if i == 0 else ramp[:, ::-1].copy()).save(ramps / f"{i}.png")
    data = load_image_folder(ramps, (1, 32, 32))
    expected = np.round(np.linspace(0, 255, 32)).astype(np.uint8)
    assert np.abs(data.images[0, 0, 0].astype(int) - expected).max() <= 1
    assert np.abs(data.images[1, 0, 0].astype(int) - expected[::-1]).max() <= 1
