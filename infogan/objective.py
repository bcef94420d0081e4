"""The InfoGAN objective: every term of D's, Q's, H's and G's losses, in one place.

Chen et al. (2016), Eq. 6: min_{G,Q} max_D V(D, G) - λ L_I(G, Q). D's loss is V's (on detached
fakes), Q's the information loss λ L_I on the same fakes; G's is the non-saturating V plus λ L_I,
through a frozen D and Q. The training config adds terms: the consistency term (Q's categorical
reading of warped fakes), IIC on real images and warped copies (Ji et al., 2019), instance noise
and one-sided label smoothing for D, and InfoGAN-CR's contrastive regulariser (Lin et al., 2020):
a pair classifier H learns which code a pair of fakes shares, and G's loss adds cr_weight × H's
cross-entropy. The information loss itself is the code spec's (:meth:`LatentSpec.information_loss`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from infogan.augment import random_affine, random_erase
from infogan.config import TrainConfig
from infogan.latent import LatentBatch, LatentSpec, QReading
from infogan.losses import discriminator_loss, generator_loss, paired_cluster_information
from infogan.networks import InfoGANNetworks


@dataclass(frozen=True)
class StepLosses:
    """The two parts of one player's objective, and scalars to log."""

    gan: Tensor
    info: Tensor | None
    scalars: dict[str, Tensor]
    real_reading: QReading | None = None  # Q on the real batch, when the IIC term or a learned prior needs it

    @property
    def total(self) -> Tensor:
        """GAN loss plus information loss (λ is inside the latter)."""
        return self.gan if self.info is None else self.gan + self.info


@dataclass(frozen=True)
class ContrastivePairs:
    """Fakes paired for H: two images stacked on channels (B, 2C, H, W) and the code they share (B,)."""

    images: Tensor
    shared: Tensor

    def detached(self) -> ContrastivePairs:
        """The same pairs cut from G's graph, for H's own step."""
        return ContrastivePairs(self.images.detach(), self.shared)


def _sum(first: Tensor, second: Tensor | None) -> Tensor:
    return first if second is None else first + second


class DiscriminatorPass(nn.Module):
    """D and Q on a real and a fake batch in one forward, so that DDP syncs one backward."""

    def __init__(self, nets: InfoGANNetworks, *, info_reaches_body: bool, iic_reaches_body: bool = True) -> None:
        super().__init__()
        # Only D's and Q's parts are registered: G's weights get no gradient in D's step.
        self.body, self.d_head, self.q_body, self.q_head = nets.body, nets.d_head, nets.q_body, nets.q_head
        # They run through the networks' own forwards, kept as bound methods so that G stays unregistered.
        self._discriminate, self._q_logits, self._q_logits_of = nets.discriminate, nets.q_logits, nets.q_logits_of
        # 'body' lets the information loss shape D's shared body, as the official code does.
        self.detach_body = not info_reaches_body
        # Q's readings of real images serve the IIC term only, which may be kept out of the body
        # so that D's features (and the continuous codes read from them) keep what IIC's warps erase.
        self.detach_body_for_reals = self.detach_body or not iic_reaches_body

    def forward(
        self,
        real: Tensor,
        fake: Tensor,
        warped: Tensor | None = None,
        real_warped: Tensor | None = None,
        read_real: bool = False,
        neighbours_warped: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
        """Real and fake logits (B,), Q's raw output on the fakes (B, q_output_dim), on ``warped``
        fakes (the consistency option), on the real images (with ``read_real`` or
        ``real_warped``), on ``real_warped`` (the IIC option) and on ``neighbours_warped`` (its
        neighbour pairs); None where not asked for."""
        detach, detach_reals = self.detach_body, self.detach_body_for_reals
        real_logits, real_features = self._discriminate(real)
        fake_logits, features = self._discriminate(fake)
        q_output = self._q_logits(fake, features, detach_body=detach)
        q_warped = None if warped is None else self._q_logits_of(warped, detach_body=detach)
        read_real = read_real or real_warped is not None
        q_real = self._q_logits(real, real_features, detach_body=detach_reals) if read_real else None
        q_real_warped = None if real_warped is None else self._q_logits_of(real_warped, detach_body=detach_reals)
        q_neighbours = (
            None if neighbours_warped is None else self._q_logits_of(neighbours_warped, detach_body=detach_reals)
        )
        return real_logits, fake_logits, q_output, q_warped, q_real, q_real_warped, q_neighbours


def discriminator_pass(config: TrainConfig, nets: InfoGANNetworks) -> DiscriminatorPass:
    """D's step's forward as ``config`` asks: the information loss (and the IIC term) into D's shared
    body or not."""
    reaches_body = config.info_reaches == "body" and not config.plain_gan
    return DiscriminatorPass(nets, info_reaches_body=reaches_body, iic_reaches_body=not config.iic_head_only)


class Objective:
    """D's (with Q's), H's and G's losses under one training config's weights.

    ``step`` sets the schedules (instance noise, the contrastive weight), ``generator`` draws
    the instance noise and warps: the trainer passes its step-seeded latent stream.

    Args:
        d_pass: the module that D's losses run (default: :func:`discriminator_pass` of
            ``nets``); the trainer hands one wrapped in DDP when training on several processes.
        pair_classifier: InfoGAN-CR's H, with the contrastive regulariser.
    """

    def __init__(
        self,
        config: TrainConfig,
        nets: InfoGANNetworks,
        spec: LatentSpec,
        *,
        d_pass: nn.Module | None = None,
        pair_classifier: nn.Module | None = None,
    ) -> None:
        self.config, self.nets, self.spec = config, nets, spec
        self.d_pass = discriminator_pass(config, nets) if d_pass is None else d_pass
        self.pair_classifier = pair_classifier

    # ----- schedules and what D sees --------------------------------------------------------------
    def contrastive_weight(self, step: int) -> float:
        """The contrastive regulariser's weight at ``step``: 0 before ``cr_start``, then ``cr_weight``.
        InfoGAN-CR's dSprites run switches it on once, late (step 288,000 of 322,560), with a fresh
        H; H here first trains at that step too."""
        return self.config.cr_weight if step >= self.config.cr_start else 0.0

    def instance_noise_sigma(self, step: int) -> float:
        """σ of the instance noise at ``step``: linear decay from its setting to 0."""
        return self.config.instance_noise * max(0.0, 1.0 - step / self.config.steps)

    def with_instance_noise(self, images: Tensor, *, step: int, generator: torch.Generator) -> Tensor:
        """Images as D sees them at ``step``: with instance noise, drawn from ``generator``."""
        sigma = self.instance_noise_sigma(step)
        if sigma == 0:
            return images
        noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
        return images + sigma * noise

    def warped_fakes(self, fake: Tensor, generator: torch.Generator) -> Tensor | None:
        """The fakes under small random warps, for the consistency term (None when it is off)."""
        if self.config.consistency == 0 or not self.spec.categorical:
            return None  # the term reads categorical codes only
        return random_affine(fake, generator)

    def warped_reals(self, real: Tensor, generator: torch.Generator) -> Tensor | None:
        """Real images under random warps (and erasing), for the IIC term (None when it is off)."""
        if self.config.iic == 0 or not self.spec.categorical:
            return None
        warped = random_affine(real, generator, strength=self.config.iic_warp, rotation=self.config.iic_rotation)
        return random_erase(warped, generator, side=self.config.iic_erase) if self.config.iic_erase else warped

    # ----- the terms ------------------------------------------------------------------------------
    def consistency_loss(self, q_warped: Tensor | None, latents: LatentBatch) -> Tensor | None:
        """consistency × the categorical NLLs of Q's reading of the warped fakes."""
        if q_warped is None:
            return None
        terms = self.spec.information_terms(self.spec.read_q(q_warped), latents)
        return self.config.consistency * torch.stack(terms.categorical_nll).sum()

    def real_pair_information(self, q_real: Tensor, q_paired: Tensor) -> dict[str, Tensor]:
        """Per categorical code, I(c; c') between Q's readings of real images and of their pairs,
        warped copies of themselves or of their neighbours (IIC, Ji et al., 2019): Q learns from
        real images to sort them into balanced classes that survive a warp, and G's codes follow
        Q's classes through L_I."""
        clean, paired = self.spec.read_q(q_real), self.spec.read_q(q_paired)
        codes = [code for code in self.spec.codes if code.kind == "categorical"]
        return {
            code.name: paired_cluster_information(
                a.float().softmax(dim=1), b.float().softmax(dim=1), balance=self.config.iic_balance
            )
            for code, a, b in zip(codes, clean.logits, paired.logits, strict=True)
        }

    def contrastive_loss(self, pairs: ContrastivePairs, classifier: nn.Module | None = None) -> tuple[Tensor, Tensor]:
        """H's cross-entropy at naming the code a pair shares (Lin et al., 2020), and its accuracy.

        ``classifier``: the module to run, H itself by default (H's step passes it wrapped in DDP).
        """
        logits = (classifier or self.pair_classifier)(pairs.images).float()  # (B, n_continuous)
        accuracy = (logits.argmax(dim=1) == pairs.shared).float().mean()
        return F.cross_entropy(logits, pairs.shared), accuracy

    # ----- the players' losses --------------------------------------------------------------------
    def discriminator_losses(
        self,
        real: Tensor,
        fake: Tensor,
        latents: LatentBatch,
        *,
        step: int,
        generator: torch.Generator,
        neighbours: Tensor | None = None,
    ) -> StepLosses:
        """D's GAN loss and Q's information loss on detached fakes, with every term the config adds;
        ``neighbours``: a neighbour of each real image, for the IIC term's second pair."""
        real = self.with_instance_noise(real, step=step, generator=generator)
        fake = self.with_instance_noise(fake, step=step, generator=generator)
        warped = self.warped_fakes(fake, generator)
        learned_prior = self.nets.category_prior is not None
        real_warped = self.warped_reals(real, generator)
        neighbours_warped = None
        if neighbours is not None and real_warped is not None:
            neighbours = self.with_instance_noise(neighbours, step=step, generator=generator)
            neighbours_warped = self.warped_reals(neighbours, generator)
        outputs = self.d_pass(real, fake, warped, real_warped, learned_prior, neighbours_warped)
        real_logits, fake_logits, q_output, q_warped, q_real, q_real_warped, q_neighbours = outputs
        gan = discriminator_loss(real_logits, fake_logits, real_target=1.0 - self.config.label_smoothing)
        terms = self.spec.information_terms(self.spec.read_q(q_output), latents)
        bounds = self.spec.mutual_information_bounds(terms, self.nets.category_prior)
        scalars = {f"mi/{k}": v for k, v in bounds.items()}
        scalars |= {"D/real": real_logits.sigmoid().mean(), "D/fake": fake_logits.sigmoid().mean()}
        info = _sum(self.spec.information_loss(terms), self.consistency_loss(q_warped, latents))
        if q_real_warped is not None:
            pair_information = self.real_pair_information(q_real, q_real_warped)
            scalars |= {f"iic/{name}": value for name, value in pair_information.items()}
            if q_neighbours is not None:
                neighbour_information = self.real_pair_information(q_real, q_neighbours)
                scalars |= {f"iic_neighbours/{name}": value for name, value in neighbour_information.items()}
                pair_information |= {f"{name}/neighbours": value for name, value in neighbour_information.items()}
            info = info - self.config.iic * torch.stack(list(pair_information.values())).sum()
        real_reading = None if q_real is None else self.spec.read_q(q_real)
        return StepLosses(gan, info, scalars, real_reading)

    def generator_losses(
        self,
        fake: Tensor,
        latents: LatentBatch,
        pairs: ContrastivePairs | None = None,
        *,
        step: int,
        generator: torch.Generator,
    ) -> StepLosses:
        """G's non-saturating loss and, unless plain GAN, its information loss (Eq. 6); with
        ``pairs``, plus the contrastive term: G helps H name the shared code (it minimises the
        same cross-entropy as H, Lin et al., 2020). Run it under :meth:`only_generator_learns`."""
        # D, Q and H are frozen here, so they run outside DDP: only G's gradients need syncing.
        contrastive = self.contrastive_weight(step) * self.contrastive_loss(pairs)[0] if pairs is not None else None
        fake = self.with_instance_noise(fake, step=step, generator=generator)
        fake_logits, features = self.nets.discriminate(fake)
        if self.config.plain_gan:
            return StepLosses(generator_loss(fake_logits), contrastive, {})
        reading = self.spec.read_q(self.nets.q_logits(fake, features))
        info = self.spec.information_loss(self.spec.information_terms(reading, latents))
        warped = self.warped_fakes(fake, generator)
        if warped is not None:
            info = _sum(info, self.consistency_loss(self.nets.q_logits_of(warped), latents))
        return StepLosses(generator_loss(fake_logits), info if contrastive is None else info + contrastive, {})

    @contextlib.contextmanager
    def only_generator_learns(self) -> Iterator[None]:
        """D, Q and H frozen for G's forward and backward: G's loss flows through them but must not
        accumulate their gradients."""
        frozen = [*self.nets.discriminator_parameters(), *self.nets.q_parameters()]
        if self.pair_classifier is not None:
            frozen += list(self.pair_classifier.parameters())
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)
