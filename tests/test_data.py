from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from infogan.data import EpochSampler, ImageDataset, as_float, data_root, find_images, load_dataset, read_images
from infogan.errors import InfoGANError


def test_sampler_covers_each_epoch_once_and_is_a_function_of_step():
    sampler = EpochSampler(10, 3, seed=0, device=torch.device("cpu"))
    epoch = torch.cat([sampler.indices(s) for s in range(3)])
    assert len(set(epoch.tolist())) == 9  # 3 batches, ragged tail dropped
    again = EpochSampler(10, 3, seed=0, device=torch.device("cpu"))
    assert torch.equal(again.indices(4), sampler.indices(4))
    assert not torch.equal(sampler.indices(0), sampler.indices(3))  # next epoch reshuffled
    with pytest.raises(InfoGANError):
        EpochSampler(2, 3, seed=0, device=torch.device("cpu"))


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("INFOGAN_DATA_ROOT", str(tmp_path / "env"))
    assert data_root("explicit") == Path("explicit")
    assert str(data_root(None)).endswith("env")
    monkeypatch.delenv("INFOGAN_DATA_ROOT")
    assert data_root(None).name == "data"


def test_missing_mnist_offline_says_where_files_go(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv

    def offline(*args, **kwargs):
        raise RuntimeError("no network")

    monkeypatch.setattr(tv.MNIST, "download", offline)
    with pytest.raises(InfoGANError, match=r"MNIST/raw"):
        load_dataset("mnist", "train", tmp_path)


def test_unknown_dataset_and_split(tmp_path):
    with pytest.raises(InfoGANError):
        load_dataset("imagenet", "train", tmp_path)
    with pytest.raises(InfoGANError):
        load_dataset("mnist", "val", tmp_path)


def test_images_from_files_and_folders(tmp_path):
    folder = tmp_path / "imgs" / "nested"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((56, 56), 255, np.uint8)).save(folder / "white.png")
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(tmp_path / "black.jpg")
    (folder / "notes.txt").write_text("not an image")
    paths = find_images([tmp_path / "imgs", tmp_path / "black.jpg"])
    assert [p.name for p in paths] == ["white.png", "black.jpg"]
    images = read_images(paths, (1, 28, 28))
    assert images.shape == (2, 1, 28, 28)
    assert images[0].min() == 1.0 and images[1].max() == 0.0


def test_bad_image_inputs(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(InfoGANError, match="cannot read image"):
        read_images([tmp_path / "broken.png"], (1, 28, 28))
    with pytest.raises(InfoGANError, match="no such file"):
        find_images([tmp_path / "missing.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InfoGANError, match="no images"):
        find_images([tmp_path / "empty"])


# ----- named datasets in their on-disk formats ---------------------------------------------------
def test_fashion_mnist_from_torchvision_layout(tmp_path):
    from datasets_on_disk import write_idx_dataset

    written = write_idx_dataset(tmp_path, "FashionMNIST")
    for split in ("train", "test"):
        data = load_dataset("fashion-mnist", split, tmp_path)
        images, labels = written[split]
        assert data.images.dtype == torch.uint8 and data.images.shape == (len(images), 1, 28, 28)
        assert torch.equal(data.images[:, 0], torch.from_numpy(images))
        assert torch.equal(data.labels, torch.from_numpy(labels).long())


def test_svhn_from_its_mat_files(tmp_path):
    from datasets_on_disk import write_svhn

    pixels, digits = write_svhn(tmp_path, "test", n=10)
    data = load_dataset("svhn", "test", tmp_path)
    assert data.images.dtype == torch.uint8 and data.images.shape == (10, 3, 32, 32)
    assert torch.equal(data.images[3], torch.from_numpy(pixels[..., 3].transpose(2, 0, 1).copy()))
    assert data.labels.tolist() == digits.tolist()  # the .mat's 10 is the digit 0


def test_svhn_missing_offline_says_where_files_go(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    monkeypatch.setattr(tv_utils, "download_url", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(InfoGANError, match=r"train_32x32\.mat .* in .*SVHN"):
        load_dataset("svhn", "train", tmp_path)
    (tmp_path / "SVHN").mkdir()
    (tmp_path / "SVHN" / "train_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(InfoGANError, match=r"not SVHN's \.mat"):
        load_dataset("svhn", "train", tmp_path)


def test_celeba_from_torchvision_layout(tmp_path, monkeypatch):
    from datasets_on_disk import write_celeba

    monkeypatch.setenv("INFOGAN_CACHE_DIR", str(tmp_path / "cache"))
    write_celeba(tmp_path, partition=(0, 0, 0, 0, 0, 1, 2, 2))
    train = load_dataset("celeba", "train", tmp_path, shape=(3, 32, 32))
    test = load_dataset("celeba", "test", tmp_path, shape=(3, 64, 64))
    assert train.images.shape == (5, 3, 32, 32) and train.images.dtype == np.uint8
    assert test.images.shape == (2, 3, 64, 64) and train.labels is None
    assert 100 < train.images.mean() < 155  # uniform noise stays mid-grey through JPEG and resizing


def test_celeba_missing_offline_says_where_files_go(tmp_path, monkeypatch):
    from torchvision.datasets import CelebA

    monkeypatch.setattr(CelebA, "download", lambda self: (_ for _ in ()).throw(RuntimeError("offline")))
    with pytest.raises(InfoGANError, match=r"img_align_celeba/ .* list_eval_partition\.txt in .*celeba"):
        load_dataset("celeba", "train", tmp_path)


def test_renders_without_a_package_point_to_image_folders(tmp_path):
    with pytest.raises(InfoGANError, match="--data FOLDER"):
        load_dataset("chairs", "train", tmp_path)


def test_dataset_subset_and_residency(tmp_path):
    array = np.arange(10 * 4, dtype=np.uint8).reshape(10, 1, 2, 2)
    np.save(tmp_path / "a.npy", array)
    data = ImageDataset(np.load(tmp_path / "a.npy", mmap_mode="r"), torch.arange(10))
    assert data.nbytes == 40
    resident = data.resident()
    assert isinstance(resident.images, torch.Tensor) and torch.equal(resident.images, torch.from_numpy(array))
    part = data.subset(4, seed=1)
    assert len(part) == 4 and torch.equal(part.images[:, 0, 0, 0], part.labels.to(torch.uint8) * 4)
    assert data.subset(20) is data
    assert as_float(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [0.0, 1.0]


def test_images_are_scaled_to_cover_and_centre_cropped(tmp_path):
    bands = np.zeros((30, 10), np.uint8)  # a tall image: white band in the middle rows only
    bands[10:20] = 255
    Image.fromarray(bands).save(tmp_path / "tall.png")
    image = read_images([tmp_path / "tall.png"], (1, 10, 10))[0, 0]
    assert image.min() == 1.0  # the crop kept the middle, so the black ends are gone
    Image.fromarray(np.full((8, 8, 3), (255, 0, 0), np.uint8)).save(tmp_path / "red.png")
    gray = read_images([tmp_path / "red.png"], (1, 4, 4))
    assert_close(gray, torch.full((1, 1, 4, 4), 76 / 255))  # ITU-R 601 luma of pure red


def _gradient_16_bit(path: Path) -> np.ndarray:
    """A 16-bit grayscale PNG (PIL mode I;16), a left-to-right ramp over the full 0..65535 range."""
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (16, 1))
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    return ramp


def test_16_bit_images_are_scaled_not_clipped_to_white(tmp_path):
    ramp = _gradient_16_bit(tmp_path / "ramp16.png")
    expected = torch.from_numpy(np.round(ramp / 257.0)).float() / 255  # 65535 / 255 = 257 levels per step
    gray = read_images([tmp_path / "ramp16.png"], (1, 16, 64))[0, 0]
    assert_close(gray, expected, atol=1 / 255, rtol=0)
    assert gray.mean() == pytest.approx(0.5, abs=0.01)  # was 0.995: everything above 255 became white
    rgb = read_images([tmp_path / "ramp16.png"], (3, 16, 64))[0]
    assert_close(rgb, expected.expand(3, -1, -1), atol=1 / 255, rtol=0)
