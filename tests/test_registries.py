"""An architecture, a dataset and a disentanglement metric are each one registration: a toy one of
each, registered, trained on and evaluated with end to end, then removed."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from infogan import InfoGAN, LatentSpec, ModelConfig, TrainConfig
from infogan.cli import main
from infogan.data import DATASETS, DatasetSource, DSprites, ImageDataset, load_dataset, register_dataset
from infogan.errors import InfoGANError
from infogan.metrics.disentanglement import DISENTANGLEMENT_METRICS, all_disentanglement_metrics, register_metric
from infogan.networks import ARCHITECTURES, Architecture, NetworkConfig, register_architecture
from infogan.registry import Registry
from infogan.training import Trainer

CPU = torch.device("cpu")
SPRITE = (1, 64, 64)  # the disentanglement metrics read dSprites-shaped images


def _toy_generator(dim: int, size: int, channels: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, channels * size * size), nn.Sigmoid(), nn.Unflatten(1, (channels, size, size)))


def _toy_body(size: int, channels: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 16), nn.LeakyReLU(0.2))


def _halves(root, split, *, shape, progress) -> ImageDataset:
    """16 images, the left half lit for label 0 and the right half for label 1."""
    labels = torch.arange(16) % 2
    images = torch.zeros(16, *SPRITE, dtype=torch.uint8)
    images[labels == 0, :, :, :32] = 255
    images[labels == 1, :, :, 32:] = 255
    return ImageDataset(images, labels)


def _reading_width(encode, dataset, *, seed, num_train, num_eval, batch_size) -> dict[str, float]:
    """The width of the representation, a known answer: Q's probabilities and means."""
    factors = dataset.sample_factors(4, np.random.default_rng(seed))
    return {"dims": float(encode(dataset.images_for(factors)).shape[1])}


@pytest.fixture
def toys():
    """A toy architecture, dataset and metric, registered for one test."""
    arch = Architecture(_toy_generator, _toy_body, lambda size: 16, channels=1, image_size=64, q_hidden=0)
    register_architecture("toy", arch)
    sprites = DSprites.generate((2, 2, 2, 2, 2))
    register_dataset("halves", DatasetSource(_halves, labelled=True, factors=lambda root: sprites))
    register_metric("width")(_reading_width)
    yield
    ARCHITECTURES.unregister("toy")
    DATASETS.unregister("halves")
    DISENTANGLEMENT_METRICS.unregister("width")


def test_a_toy_architecture_dataset_and_metric_work_end_to_end(toys, tmp_path, capsys):
    model = ModelConfig(LatentSpec(noise_dim=4, categorical=(2,), continuous=1), NetworkConfig("toy"))
    config = TrainConfig(model, dataset="halves", steps=2, batch_size=8, log_every=1, sample_every=2, eval_every=1)
    config = config.replace(checkpoint_every=2)
    train = load_dataset("halves", "train")
    trainer = Trainer(config, tmp_path / "run", train, device=CPU, eval_data=train, progress=False, tensorboard=False)
    before = [p.detach().clone() for p in trainer.nets.generator.parameters()]
    trainer.fit()
    assert trainer.step == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.nets.generator.parameters(), strict=True))
    reloaded = InfoGAN.load(tmp_path / "run", device="cpu")
    assert reloaded.config.network.arch == "toy" and reloaded.image_shape == SPRITE
    assert reloaded.nets.q_head[0].in_features == 16  # the toy body's width, one linear Q layer

    argv = ["evaluate", str(tmp_path / "run"), "--dataset", "halves", "--metrics", "codes,width", "--samples", "32"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert report["disentanglement"]["scores"] == {"width/dims": 3.0}  # c1's 2 probabilities and c2's mean
    assert report["images"] == 16 and "c1" in report


def test_an_unknown_architecture_is_refused_with_the_known_ones():
    with pytest.raises(InfoGANError, match=r"unknown architecture 'toy'; known: mnist, svhn, .*, dcgan$"):
        NetworkConfig("toy")


def test_all_disentanglement_metrics_runs_the_registry_or_the_named_families(toys):
    sprites = DSprites.generate((2, 2, 2, 2, 2))

    def encode(images):
        return images.reshape(len(images), -1)[:, :5].astype(np.float64)

    assert all_disentanglement_metrics(encode, sprites, metrics=["width"]) == {"width/dims": 5.0}
    with pytest.raises(InfoGANError, match="unknown disentanglement metric 'nope'"):
        all_disentanglement_metrics(encode, sprites, metrics=["nope"])
    assert list(DISENTANGLEMENT_METRICS)[-1] == "width"  # registration order is run order


def test_registry_refuses_a_taken_name_and_reports_unknown_ones():
    registry: Registry[int] = Registry("widget")
    registry.register("a", 1)
    with pytest.raises(InfoGANError, match="widget 'a' is already registered"):
        registry.register("a", 2)
    assert registry.register("a", 3, replace=True) == 3 and registry["a"] == 3
    with pytest.raises(InfoGANError, match="unknown widget 'b'; known: a"):
        registry.lookup("b")
    assert registry.unregister("a") == 3 and len(registry) == 0


def test_a_folder_only_dataset_is_a_registration_without_a_loader():
    register_dataset("renders", DatasetSource(None, description="the toy renders"))
    try:
        with pytest.raises(InfoGANError, match=r"the toy renders are not distributed by a package: .*--data FOLDER"):
            load_dataset("renders")
    finally:
        DATASETS.unregister("renders")
