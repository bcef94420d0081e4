"""Generator, discriminator body, D head and Q head: the paper's networks (Chen et al., 2016,
Appendix C, Tables 1-6), InfoGAN-CR's dSprites networks (Lin et al., 2020), a DCGAN-style
family for other image sizes, and InfoGAN-CR's pair classifier H."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import pairwise

from torch import Tensor, nn

from infogan.errors import InfoGANError
from infogan.options import check_options, option
from infogan.registry import Registry

DCGAN_SIZES = (32, 64, 128)


@dataclass(frozen=True)
class Architecture:
    """A family of networks: how G and D's body are built, and the image shapes they take.

    Args:
        generator: G from (input_dim, image_size, channels): latent vectors (B, input_dim) to
            images (B, channels, image_size, image_size) in [0, 1].
        body: D's (and Q's own) trunk from (image_size, in_channels): images to features
            (B, features(image_size)).
        features: the body's output width for an image size.
        channels: the images' channels, by default (1 or 3).
        image_size: the images' height and width, by default.
        sizes: the image sizes the family can make; empty when its networks are fixed at
            ``image_size`` and ``channels``.
        q_hidden: width of Q's hidden layer; 0 makes Q's head one linear layer.
        q_norm: batch norm in Q's hidden layer.
    """

    generator: Callable[[int, int, int], nn.Module]
    body: Callable[[int, int], nn.Module]
    features: Callable[[int], int]
    channels: int
    image_size: int
    sizes: tuple[int, ...] = ()
    q_hidden: int = 128
    q_norm: bool = True


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def register_architecture(name: str, architecture: Architecture, *, replace: bool = False) -> Architecture:
    """Make ``NetworkConfig(arch=name)`` (and ``--arch name``) build ``architecture``'s networks."""
    return ARCHITECTURES.register(name, architecture, replace=replace)


@dataclass(frozen=True)
class NetworkConfig:
    """Which networks to build.

    Args:
        arch: ``mnist``, ``svhn``, ``celeba``, ``faces`` or ``chairs``: the paper's networks for
            that dataset, at its image size; ``dsprites``: InfoGAN-CR's networks for 64×64
            binary sprites; ``dcgan``: a DCGAN-style family for any ``image_size`` in 32, 64,
            128 and 1 or 3 ``channels``; or any name in :data:`ARCHITECTURES`.
        q_shares_body: Q is a head on D's body (the paper) rather than its own network of the
            same shape with separate weights.
        image_size: height and width; fixed by the paper's architectures, 64 by default for dcgan.
        channels: 1 (grayscale) or 3 (RGB); fixed by the paper's architectures, 3 by default for dcgan.
        spectral_norm: spectral normalisation (Miyato et al., 2018) on every conv and linear
            layer of D's body and head (and Q's own body, and InfoGAN-CR's H), which bounds D's
            Lipschitz constant.
    """

    arch: str = option("mnist", "networks: the paper's for a dataset, or dcgan", choices=ARCHITECTURES)
    q_shares_body: bool = option(True, "Q gets its own body instead of sharing D's", flag="--separate-q", sets=False)
    image_size: int | None = option(None, "dcgan networks: 32, 64 or 128 px", low=1, parse=int)
    channels: int | None = option(
        None,
        "dcgan networks: 1 (grayscale) or 3 (RGB)",
        choices=(1, 3),
        parse=int,
        error="images have 1 (grayscale) or 3 (RGB) channels, not {value}",
    )
    spectral_norm: bool = option(False, "spectral normalisation in D's layers")

    def __post_init__(self) -> None:
        architecture = ARCHITECTURES.lookup(self.arch)
        check_options(self)  # image_size and channels as given (None: the architecture's own)
        channels, size = architecture.channels, architecture.image_size
        if not architecture.sizes and (self.image_size or size, self.channels or channels) != (size, channels):
            raise InfoGANError(
                f"the {self.arch} networks are fixed at {size}×{size} with {channels} channel(s); "
                "use --arch dcgan for other sizes"
            )
        # Stored concretely so that a checkpoint or a resume compares like with like.
        object.__setattr__(self, "image_size", int(self.image_size or size))
        object.__setattr__(self, "channels", int(self.channels or channels))
        if architecture.sizes and self.image_size not in architecture.sizes:
            sizes = ", ".join(map(str, architecture.sizes))
            raise InfoGANError(f"{self.arch} networks come in sizes {sizes}, not {self.image_size}")
        check_options(self)  # and as resolved: a registered architecture's own channels

    @property
    def architecture(self) -> Architecture:
        """The registered family that ``arch`` names."""
        return ARCHITECTURES.lookup(self.arch)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the images this architecture makes and reads."""
        return (self.channels, self.image_size, self.image_size)


# Activations work in place: every one follows a conv, linear or batch norm layer, whose backward
# needs that layer's input, not its output; so the results are the same, with one buffer less.
def _relu() -> nn.ReLU:
    return nn.ReLU(inplace=True)


def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.1, inplace=True)  # Appendix C: leaky rate 0.1 in every discriminator


def _up(cin: int, cout: int, *, norm: bool = True) -> list[nn.Module]:
    """4×4 up-conv, stride 2 (doubles the size), then BN and ReLU."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    return [*layers, nn.BatchNorm2d(cout), _relu()] if norm else [*layers, _relu()]


def _down(cin: int, cout: int, *, stride: int = 2, norm: bool = True) -> list[nn.Module]:
    """4×4 conv, then BN (except on the first layer, as in DCGAN and the paper) and leaky ReLU."""
    if stride == 2:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    else:  # padded as TensorFlow's SAME (1 before, 2 after), which the paper's code used
        layers = [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(cin, cout, 4, bias=not norm)]
    return [*layers, nn.BatchNorm2d(cout), _leaky()] if norm else [*layers, _leaky()]


def _same_conv(cin: int, cout: int) -> list[nn.Module]:
    """A stride-1 "up-conv" (size kept): a plain conv, since its learned kernel need not be flipped."""
    return [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(cin, cout, 4, bias=False), nn.BatchNorm2d(cout), _relu()]


def _fc(fin: int, fout: int, activation: nn.Module) -> list[nn.Module]:
    return [nn.Linear(fin, fout, bias=False), nn.BatchNorm1d(fout), activation]


# ----- the paper's networks -------------------------------------------------------------------
def mnist_generator(input_dim: int, base: int = 7) -> nn.Sequential:
    """FC 1024 → FC base²·128 → up-conv 64 → up-conv 1, sigmoid: images (4·base)² in [0, 1].

    ``base`` 7 is MNIST's Table 1 (28×28), 8 the 3D Faces' Table 4 (32×32).
    """
    return nn.Sequential(
        nn.Linear(input_dim, 1024, bias=False),
        nn.BatchNorm1d(1024),
        _relu(),
        nn.Linear(1024, base * base * 128, bias=False),
        nn.BatchNorm1d(base * base * 128),
        _relu(),
        nn.Unflatten(1, (128, base, base)),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False),  # (B, 64, 2·base, 2·base)
        nn.BatchNorm2d(64),
        _relu(),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),  # (B, 1, 4·base, 4·base)
        nn.Sigmoid(),
    )


def mnist_body(base: int = 7, in_channels: int = 1) -> nn.Sequential:
    """Shared D/Q trunk: conv 64 (no BN) → conv 128 → FC 1024; features (B, 1024)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, 4, stride=2, padding=1),  # (B, 64, 2·base, 2·base)
        _leaky(),
        nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False),  # (B, 128, base, base)
        nn.BatchNorm2d(128),
        _leaky(),
        nn.Flatten(),
        nn.Linear(base * base * 128, 1024, bias=False),
        nn.BatchNorm1d(1024),
        _leaky(),
    )


def svhn_generator(input_dim: int, channels: int = 3) -> nn.Sequential:
    """Tables 2 and 3 (SVHN, CelebA): FC 2·2·448 → up-conv 256 (BN) → 128 → 64 → channels; 32×32.

    The paper ends in tanh for images in [-1, 1]; a sigmoid for [0, 1] is the same map, since
    (tanh(x) + 1) / 2 = sigmoid(2x), and keeps every model's images in [0, 1].
    """
    return nn.Sequential(
        *_fc(input_dim, 2 * 2 * 448, _relu()),
        nn.Unflatten(1, (448, 2, 2)),
        *_up(448, 256),  # (B, 256, 4, 4); the table puts BN after this up-conv only
        *_up(256, 128, norm=False),  # (B, 128, 8, 8)
        *_up(128, 64, norm=False),  # (B, 64, 16, 16)
        nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),  # (B, C, 32, 32)
        nn.Sigmoid(),
    )


def chairs_generator(input_dim: int) -> nn.Sequential:
    """Table 6 (3D Chairs): FC 1024 → FC 8·8·256 → up-conv 256, 256 (stride 1) → 128 → 64 → 1; 64×64.

    The table's last up-conv has no stride, which yields 32×32 images for its 64×64 input (as
    reimplementations note); here it has stride 2, the one change that makes 64×64.
    """
    return nn.Sequential(
        *_fc(input_dim, 1024, _relu()),
        *_fc(1024, 8 * 8 * 256, _relu()),
        nn.Unflatten(1, (256, 8, 8)),
        *_same_conv(256, 256),  # (B, 256, 8, 8)
        *_same_conv(256, 256),
        *_up(256, 128),  # (B, 128, 16, 16)
        *_up(128, 64),  # (B, 64, 32, 32)
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),  # (B, 1, 64, 64)
        nn.Sigmoid(),
    )


def chairs_body(in_channels: int = 1) -> nn.Sequential:
    """Table 6: conv 64 → 128 → 256 (stride 2) → 256, 256 (stride 1) → FC 1024; features (B, 1024)."""
    return nn.Sequential(
        *_down(in_channels, 64, norm=False),  # (B, 64, 32, 32)
        *_down(64, 128),  # (B, 128, 16, 16)
        *_down(128, 256),  # (B, 256, 8, 8)
        *_down(256, 256, stride=1),
        *_down(256, 256, stride=1),
        nn.Flatten(),
        *_fc(8 * 8 * 256, 1024, _leaky()),
    )


# ----- InfoGAN-CR's dSprites networks ----------------------------------------------------------
# Lin et al. (2020) and their code (InfoGAN-CR_*/gan/network.py): no batch norm in D, Q or H,
# leaky ReLU 0.2, spectral norm in D (set by the preset); batch norm in G.
DSPRITES_WIDTHS = (32, 32, 64, 64)
DSPRITES_FEATURES = 128


def _leaky_cr() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)  # InfoGAN-CR's lrelu (the DCGAN-tensorflow default), not Appendix C's 0.1


def dsprites_generator(input_dim: int) -> nn.Sequential:
    """FC 128 → FC 4·4·64 → up-conv 64 → 32 → 32 (BN, ReLU) → up-conv 1, sigmoid; 64×64.

    InfoGAN-CR's decoder puts each activation before its batch norm and uses leaky ReLU in the
    up-convs; here BN comes first and ReLU follows, as in every generator of this package.
    """
    return nn.Sequential(
        *_fc(input_dim, 128, _relu()),
        *_fc(128, 4 * 4 * 64, _relu()),
        nn.Unflatten(1, (64, 4, 4)),
        *_up(64, 64),  # (B, 64, 8, 8)
        *_up(64, 32),  # (B, 32, 16, 16)
        *_up(32, 32),  # (B, 32, 32, 32)
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),  # (B, 1, 64, 64)
        nn.Sigmoid(),
    )


def dsprites_body(in_channels: int = 1) -> nn.Sequential:
    """4×4 stride-2 convs 32, 32, 64, 64 (leaky ReLU, no BN) → FC 128; features (B, 128)."""
    layers: list[nn.Module] = []
    for cin, cout in pairwise((in_channels, *DSPRITES_WIDTHS)):
        layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), _leaky_cr()]  # 64 → 32 → 16 → 8 → 4
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * 4 * 64, DSPRITES_FEATURES), _leaky_cr())


# ----- the DCGAN family -----------------------------------------------------------------------
def dcgan_widths(image_size: int) -> list[int]:
    """Feature maps per resolution from the image down to 4×4: 64, 128, 256, ... capped at 512."""
    return [min(64 * 2**i, 512) for i in range(int(math.log2(image_size // 4)))]


def dcgan_generator(input_dim: int, image_size: int, channels: int) -> nn.Sequential:
    """FC to 4×4 maps, then stride-2 up-convs (BN, ReLU) to ``image_size``, sigmoid (Radford et al., 2016)."""
    widths = dcgan_widths(image_size)[::-1]  # e.g. [512, 256, 128, 64] for 64×64
    layers: list[nn.Module] = [*_fc(input_dim, widths[0] * 16, _relu()), nn.Unflatten(1, (widths[0], 4, 4))]
    for cin, cout in pairwise(widths):
        layers += _up(cin, cout)
    layers += [nn.ConvTranspose2d(widths[-1], channels, 4, stride=2, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def dcgan_body(image_size: int, channels: int) -> nn.Sequential:
    """Stride-2 convs (BN but on the first, leaky ReLU) down to 4×4, flattened: (B, 16·width).

    At 32×32 with 3 channels this is also the paper's SVHN/CelebA discriminator (Tables 2, 3).
    """
    widths = dcgan_widths(image_size)
    layers = _down(channels, widths[0], norm=False)
    for cin, cout in pairwise(widths):
        layers += _down(cin, cout)
    return nn.Sequential(*layers, nn.Flatten())


def q_head(features: int, outputs: int, hidden: int = 128, *, norm: bool = True) -> nn.Sequential:
    """FC 128, BN, leaky ReLU → FC to Q's output layout; ``hidden=0``: a single FC.

    ``norm=False`` is InfoGAN-CR's Q head: FC 128, leaky ReLU 0.2 (no BN), FC.
    """
    if not hidden:
        return nn.Sequential(nn.Linear(features, outputs))
    if not norm:
        return nn.Sequential(nn.Linear(features, hidden), _leaky_cr(), nn.Linear(hidden, outputs))
    return nn.Sequential(*_fc(features, hidden, _leaky()), nn.Linear(hidden, outputs))


def dcgan_features(image_size: int) -> int:
    """Width of the DCGAN body's flattened 4×4 output."""
    return 16 * dcgan_widths(image_size)[-1]


# ----- the architectures ----------------------------------------------------------------------
# Appendix C's networks, each fixed to its dataset's (channels, size). SVHN's Table 2 and
# CelebA's Table 3 are the same networks; both names are kept so a checkpoint says which.
# ``dsprites`` is InfoGAN-CR's network for dSprites, fixed the same way.
register_architecture(
    "mnist",
    Architecture(
        generator=lambda dim, size, channels: mnist_generator(dim, base=size // 4),
        body=lambda size, channels: mnist_body(base=size // 4, in_channels=channels),
        features=lambda size: 1024,
        channels=1,
        image_size=28,
    ),
)
register_architecture(
    "svhn",
    Architecture(
        generator=lambda dim, size, channels: svhn_generator(dim),
        body=dcgan_body,  # at 32×32 with 3 channels this is the paper's SVHN/CelebA discriminator
        features=dcgan_features,
        channels=3,
        image_size=32,
    ),
)
register_architecture("celeba", ARCHITECTURES["svhn"])
# Table 4 is Table 1 at 32×32; in Faces and Chairs, Q and D differ only in their output units.
register_architecture("faces", replace(ARCHITECTURES["mnist"], image_size=32, q_hidden=0))
register_architecture(
    "chairs",
    Architecture(
        generator=lambda dim, size, channels: chairs_generator(dim),
        body=lambda size, channels: chairs_body(channels),
        features=lambda size: 1024,
        channels=1,
        image_size=64,
        q_hidden=0,
    ),
)
register_architecture(
    "dsprites",
    Architecture(
        generator=lambda dim, size, channels: dsprites_generator(dim),
        body=lambda size, channels: dsprites_body(channels),
        features=lambda size: DSPRITES_FEATURES,
        channels=1,
        image_size=64,
        q_norm=False,  # InfoGAN-CR's Q head: FC 128, leaky ReLU 0.2, FC
    ),
)
register_architecture(
    "dcgan",
    Architecture(
        generator=dcgan_generator,
        body=dcgan_body,
        features=dcgan_features,
        channels=3,
        image_size=64,
        sizes=DCGAN_SIZES,
    ),
)


def build_generator(config: NetworkConfig, input_dim: int) -> nn.Module:
    """G for ``config``: latent vectors (B, input_dim) to images (B, C, H, W) in [0, 1]."""
    return config.architecture.generator(input_dim, config.image_size, config.channels)


def build_body(config: NetworkConfig, in_channels: int | None = None) -> nn.Module:
    """D's (or Q's own) trunk for ``config``: images to features (B, body_features(config)).

    ``in_channels`` overrides the image's channels (H reads two images stacked on channels).
    """
    return config.architecture.body(config.image_size, in_channels or config.channels)


def body_features(config: NetworkConfig) -> int:
    """Width of the body's output."""
    return config.architecture.features(config.image_size)


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode (BatchNorm's running statistics, no dropout), back in the mode it
    was in afterwards, whatever happens inside."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for conv and linear weights, as in the paper's code (and DCGAN)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _add_spectral_norm(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.utils.parametrizations.spectral_norm(module)


class InfoGANNetworks(nn.Module):
    """G, D's body and head, and Q's head (with its own body when not shared)."""

    def __init__(
        self, config: NetworkConfig, *, latent_dim: int, q_output_dim: int, category_prior: Tensor | None = None
    ) -> None:
        super().__init__()
        self.config = config
        # A learned categorical prior travels with the weights (and only exists when learned).
        self.category_prior: Tensor | None
        if category_prior is None:
            self.category_prior = None
        else:
            self.register_buffer("category_prior", category_prior.clone())
        features = body_features(config)
        self.generator = build_generator(config, latent_dim)
        self.body = build_body(config)
        self.d_head = nn.Linear(features, 1)
        self.q_body = None if config.q_shares_body else build_body(config)
        architecture = config.architecture
        self.q_head = q_head(features, q_output_dim, architecture.q_hidden, norm=architecture.q_norm)
        self.apply(init_weights)
        if config.spectral_norm:
            for module in (self.body, self.d_head, self.q_body):
                if module is not None:
                    module.apply(_add_spectral_norm)

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """D's body and head: what the GAN loss trains on the discriminator side."""
        return [*self.body.parameters(), *self.d_head.parameters()]

    def q_parameters(self) -> list[nn.Parameter]:
        """Q's own weights: its head, and its body when it does not share D's."""
        own_body = list(self.q_body.parameters()) if self.q_body is not None else []
        return [*own_body, *self.q_head.parameters()]

    def q_logits_of(self, images: Tensor, *, detach_body: bool = False) -> Tensor:
        """Q's raw output for images with no D features at hand (runs the shared body if Q uses it)."""
        return self.q_logits(images, self.body(images) if self.q_body is None else None, detach_body=detach_body)

    def q_logits(self, images: Tensor, body_features: Tensor | None, *, detach_body: bool = False) -> Tensor:
        """Q's raw output (B, q_output_dim), reusing D's features when Q shares the body.

        ``detach_body``: Q's loss trains Q's head only, not the body it shares with D.
        """
        if self.q_body is not None:
            return self.q_head(self.q_body(images))
        return self.q_head(body_features.detach() if detach_body else body_features)

    def discriminate(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """D's logit (B,) and the body features (B, F) that Q may share."""
        features = self.body(images)
        return self.d_head(features).squeeze(1), features

    def generate(self, generator_input: Tensor) -> Tensor:
        """Images (B, C, H, W) in [0, 1] from G's input vectors."""
        return self.generator(generator_input)


def build_pair_classifier(config: NetworkConfig, outputs: int) -> nn.Sequential:
    """InfoGAN-CR's H: D's body design, own weights, over two images stacked on channels
    (B, 2C, H, W), then one logit per continuous code (B, outputs): which code the pair shares."""
    network = nn.Sequential(
        build_body(config, in_channels=2 * config.channels), nn.Linear(body_features(config), outputs)
    )
    network.apply(init_weights)
    if config.spectral_norm:
        network.apply(_add_spectral_norm)
    return network


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
