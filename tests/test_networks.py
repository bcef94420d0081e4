import pytest
import torch
from torch import nn

from infogan.errors import InfoGANError
from infogan.networks import InfoGANNetworks, NetworkConfig, count_parameters


def _nets(**kwargs):
    return InfoGANNetworks(NetworkConfig(**kwargs), latent_dim=74, q_output_dim=12)


def test_shapes_and_ranges():
    nets = _nets()
    images = nets.generate(torch.randn(5, 74))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    logits, features = nets.discriminate(images)
    assert logits.shape == (5,) and features.shape == (5, 1024)
    assert nets.q_logits(images, features).shape == (5, 12)


def test_paper_layer_sequence():
    nets = _nets()
    kinds = [type(m).__name__ for m in nets.body]
    assert kinds == [
        "Conv2d",
        "LeakyReLU",
        "Conv2d",
        "BatchNorm2d",
        "LeakyReLU",
        "Flatten",
        "Linear",
        "BatchNorm1d",
        "LeakyReLU",
    ]
    assert nets.body[1].negative_slope == 0.1
    gen = [type(m).__name__ for m in nets.generator]
    assert gen == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Unflatten",
        "ConvTranspose2d",
        "BatchNorm2d",
        "ReLU",
        "ConvTranspose2d",
        "Sigmoid",
    ]
    assert nets.q_head[0].out_features == 128


def test_weight_init_is_normal_002():
    weights = torch.cat([m.weight.flatten() for m in _nets().modules() if isinstance(m, nn.Linear | nn.Conv2d)])
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)


def test_separate_q_has_its_own_body():
    shared, separate = _nets(), _nets(q_shares_body=False)
    assert shared.q_body is None and separate.q_body is not None
    assert count_parameters(separate) == count_parameters(shared) + count_parameters(separate.q_body)
    body_ids = {id(p) for p in separate.body.parameters()}
    assert not body_ids & {id(p) for p in separate.q_parameters()}


def test_unknown_architecture():
    with pytest.raises(InfoGANError):
        NetworkConfig(arch="resnet")
