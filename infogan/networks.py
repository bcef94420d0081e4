"""Generator, discriminator body, D head and Q head (Chen et al., 2016, Appendix C.1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from infogan.errors import InfoGANError

ARCHITECTURES = ("mnist",)


@dataclass(frozen=True)
class NetworkConfig:
    """Which networks to build.

    Args:
        arch: architecture family; ``mnist`` is the paper's MNIST networks (28×28, 1 channel).
        q_shares_body: Q is a head on D's body (the paper) rather than its own network of the
            same shape with separate weights.
    """

    arch: str = "mnist"
    q_shares_body: bool = True

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise InfoGANError(f"unknown architecture {self.arch!r}; known: {', '.join(ARCHITECTURES)}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the images this architecture makes and reads."""
        return (1, 28, 28)


def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.1)


def mnist_generator(input_dim: int) -> nn.Sequential:
    """FC 1024 → FC 7·7·128 → up-conv 64 → up-conv 1, sigmoid: images in [0, 1]."""
    return nn.Sequential(
        nn.Linear(input_dim, 1024, bias=False),
        nn.BatchNorm1d(1024),
        nn.ReLU(),
        nn.Linear(1024, 7 * 7 * 128, bias=False),
        nn.BatchNorm1d(7 * 7 * 128),
        nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False),  # (B, 64, 14, 14)
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
        nn.Sigmoid(),
    )


def mnist_body() -> nn.Sequential:
    """Shared D/Q trunk: conv 64 (no BN) → conv 128 → FC 1024; features (B, 1024)."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, stride=2, padding=1),  # (B, 64, 14, 14)
        _leaky(),
        nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False),  # (B, 128, 7, 7)
        nn.BatchNorm2d(128),
        _leaky(),
        nn.Flatten(),
        nn.Linear(7 * 7 * 128, 1024, bias=False),
        nn.BatchNorm1d(1024),
        _leaky(),
    )


def q_head(features: int, outputs: int) -> nn.Sequential:
    """FC 128, BN, leaky ReLU → FC to Q's output layout."""
    return nn.Sequential(
        nn.Linear(features, 128, bias=False),
        nn.BatchNorm1d(128),
        _leaky(),
        nn.Linear(128, outputs),
    )


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for conv and linear weights, as in the paper's code (and DCGAN)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class InfoGANNetworks(nn.Module):
    """G, D's body and head, and Q's head (with its own body when not shared)."""

    def __init__(self, config: NetworkConfig, *, latent_dim: int, q_output_dim: int) -> None:
        super().__init__()
        self.config = config
        self.generator = mnist_generator(latent_dim)
        self.body = mnist_body()
        self.d_head = nn.Linear(1024, 1)
        self.q_body = None if config.q_shares_body else mnist_body()
        self.q_head = q_head(1024, q_output_dim)
        self.apply(init_weights)

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """D's body and head: what the GAN loss trains on the discriminator side."""
        return [*self.body.parameters(), *self.d_head.parameters()]

    def q_parameters(self) -> list[nn.Parameter]:
        """Q's own weights: its head, and its body when it does not share D's."""
        own_body = list(self.q_body.parameters()) if self.q_body is not None else []
        return [*own_body, *self.q_head.parameters()]

    def q_logits(self, images: Tensor, body_features: Tensor) -> Tensor:
        """Q's raw output (B, q_output_dim), reusing D's features when Q shares the body."""
        features = body_features if self.q_body is None else self.q_body(images)
        return self.q_head(features)

    def discriminate(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """D's logit (B,) and the body features (B, 1024) that Q may share."""
        features = self.body(images)
        return self.d_head(features).squeeze(1), features

    def generate(self, generator_input: Tensor) -> Tensor:
        """Images (B, C, H, W) in [0, 1] from G's input vectors."""
        return self.generator(generator_input)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@torch.no_grad()
def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Load ``source``'s tensors into ``target`` in place."""
    target.load_state_dict(source.state_dict())
