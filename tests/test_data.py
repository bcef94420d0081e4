from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infogan.data import EpochSampler, data_root, find_images, load_dataset, read_images
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
