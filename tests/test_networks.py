import pytest
import torch
from torch import nn

from infogan.errors import InfoGANError
from infogan.networks import InfoGANNetworks, NetworkConfig, build_pair_classifier, count_parameters


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


@pytest.mark.parametrize(
    ("config", "features"),
    [
        (NetworkConfig("svhn"), 4096),
        (NetworkConfig("celeba"), 4096),
        (NetworkConfig("faces"), 1024),
        (NetworkConfig("chairs"), 1024),
        (NetworkConfig("dsprites"), 128),
        (NetworkConfig("dcgan", image_size=32, channels=1), 4096),
        (NetworkConfig("dcgan", image_size=64, channels=3), 8192),
        (NetworkConfig("dcgan", image_size=128, channels=3), 8192),
    ],
)
def test_every_architecture_round_trips_its_image_shape(config, features):
    nets = InfoGANNetworks(config, latent_dim=20, q_output_dim=7).eval()
    with torch.no_grad():
        images = nets.generate(torch.randn(2, 20))
        logits, body = nets.discriminate(images)
        q = nets.q_logits(images, body)
    assert images.shape == (2, *config.image_shape)
    assert images.min() >= 0 and images.max() <= 1
    assert logits.shape == (2,) and body.shape == (2, features) and q.shape == (2, 7)


def test_paper_tables_for_svhn_faces_and_chairs():
    svhn = InfoGANNetworks(NetworkConfig("svhn"), latent_dim=168, q_output_dim=44)
    assert svhn.generator[0].out_features == 2 * 2 * 448  # Table 2: FC 2×2×448
    up = [m for m in svhn.generator if isinstance(m, nn.ConvTranspose2d)]
    assert [m.out_channels for m in up] == [256, 128, 64, 3]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in svhn.generator) == 1  # BN after the first up-conv only
    assert [m.out_channels for m in svhn.body if isinstance(m, nn.Conv2d)] == [64, 128, 256]
    assert svhn.q_head[0].out_features == 128
    faces = InfoGANNetworks(NetworkConfig("faces"), latent_dim=133, q_output_dim=5)
    assert faces.generator[3].out_features == 8 * 8 * 128  # Table 4: FC 8×8×128
    assert len(faces.q_head) == 1  # Q differs from D only in its output units
    chairs = InfoGANNetworks(NetworkConfig("chairs"), latent_dim=189, q_output_dim=61)
    convs = [m for m in chairs.body if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.stride[0]) for m in convs] == [(64, 2), (128, 2), (256, 2), (256, 1), (256, 1)]
    assert len(chairs.q_head) == 1


def test_architecture_sizes_are_checked_and_stored_concretely():
    assert NetworkConfig("svhn").image_shape == (3, 32, 32)
    assert NetworkConfig("dcgan").image_shape == (3, 64, 64)
    assert NetworkConfig("chairs", image_size=64, channels=1) == NetworkConfig("chairs")
    with pytest.raises(InfoGANError, match="--arch dcgan"):
        NetworkConfig("svhn", image_size=64)
    with pytest.raises(InfoGANError, match="sizes 32, 64, 128"):
        NetworkConfig("dcgan", image_size=48)
    with pytest.raises(InfoGANError, match="channels"):
        NetworkConfig("dcgan", channels=2)


def test_spectral_norm_bounds_every_d_layer_and_spares_g_and_q_head():
    nets = _nets(spectral_norm=True).train()
    normalised = [m for m in [*nets.body.modules(), nets.d_head] if isinstance(m, nn.Conv2d | nn.Linear)]
    assert normalised and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in normalised)
    others = [*nets.generator.modules(), *nets.q_head.modules()]
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in others if isinstance(m, nn.Module))
    images = torch.rand(8, 1, 28, 28)
    for _ in range(20):  # power iterations run in training-mode forwards
        nets.discriminate(images)
    linear = nets.d_head
    assert torch.linalg.matrix_norm(linear.weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_spectral_norm_weights_round_trip_through_a_state_dict():
    first, second = _nets(spectral_norm=True), _nets(spectral_norm=True)
    second.load_state_dict(first.state_dict())
    images = torch.rand(4, 1, 28, 28)
    first.eval(), second.eval()
    assert torch.equal(first.discriminate(images)[0], second.discriminate(images)[0])


def test_dsprites_networks_are_infogan_crs():
    nets = InfoGANNetworks(NetworkConfig("dsprites", spectral_norm=True), latent_dim=10, q_output_dim=5)
    convs = [m for m in nets.body if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        (32, (4, 4), (2, 2)),
        (32, (4, 4), (2, 2)),
        (64, (4, 4), (2, 2)),
        (64, (4, 4), (2, 2)),
    ]
    assert not any(isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) for m in [*nets.body, *nets.q_head])
    assert nets.body[-2].out_features == 128 and nets.body[1].negative_slope == 0.2
    assert [m.out_features for m in nets.q_head if isinstance(m, nn.Linear)] == [128, 5]
    assert all(hasattr(m, "parametrizations") for m in convs)  # spectral norm on D's body
    linears = [m.out_features for m in nets.generator if isinstance(m, nn.Linear)]
    ups = [(m.in_channels, m.out_channels) for m in nets.generator if isinstance(m, nn.ConvTranspose2d)]
    assert linears == [128, 4 * 4 * 64] and ups == [(64, 64), (64, 32), (32, 32), (32, 1)]


@pytest.mark.parametrize("config", [NetworkConfig("dsprites", spectral_norm=True), NetworkConfig("mnist")])
def test_pair_classifier_reads_two_stacked_images(config):
    pair_classifier = build_pair_classifier(config, 5).eval()
    channels, size, _ = config.image_shape
    with torch.no_grad():
        logits = pair_classifier(torch.rand(3, 2 * channels, size, size))
    assert logits.shape == (3, 5)
