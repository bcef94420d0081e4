"""The latent-code specification: what G is fed and what Q must recover.

Everything that touches noise or codes goes through :class:`LatentSpec`: sampling a
batch, building the generator's input vector, slicing Q's output into per-code
parameters, and the information loss of Eq. (5) in Chen et al. (2016).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from infogan.errors import InfoGANError
from infogan.options import check_options, int_list, option

Distribution = Literal["uniform", "normal"]
_DISTRIBUTIONS = ("uniform", "normal")
_UNKNOWN_DISTRIBUTION = "unknown distribution {value!r}: use uniform or normal"
_SIZES = "noise_dim and the number of continuous codes must be >= 0"
_LAMBDAS = "lambda_cat and lambda_cont must be finite numbers >= 0"
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# Continuous codes are drawn from [-1, 1] or N(0, 1); far beyond, G's activations overflow float32.
MAX_CODE_VALUE = 1000.0
PRIOR_DECAY = 0.99  # the learned prior averages Q's readings over about the last 100 batches
PRIOR_FLOOR = 0.25  # and keeps each class at about a quarter of its uniform share or more


@dataclass(frozen=True)
class Code:
    """One named latent code and where it lives in G's input and Q's output."""

    name: str
    kind: Literal["categorical", "continuous"]
    index: int  # position among codes of the same kind
    num_classes: int = 0  # categorical only


def continuous_value(name: str, value: float) -> float:
    """``value`` for a continuous code, checked to be finite and within ±MAX_CODE_VALUE."""
    value = float(value)
    if not (math.isfinite(value) and abs(value) <= MAX_CODE_VALUE):
        raise InfoGANError(f"{name} must be a finite number within ±{MAX_CODE_VALUE:g}, not {value:g}")
    return value


@dataclass(frozen=True)
class LatentBatch:
    """A batch of latent draws: noise (B, noise_dim), categories (B, n_cat), continuous (B, n_cont)."""

    noise: Tensor
    categories: Tensor
    continuous: Tensor

    @property
    def batch_size(self) -> int:
        return self.noise.shape[0]

    @staticmethod
    def concat(batches: list[LatentBatch]) -> LatentBatch:
        """The rows of several batches stacked into one."""
        fields = zip(*((b.noise, b.categories, b.continuous) for b in batches), strict=True)
        return LatentBatch(*(torch.cat(parts) for parts in fields))


@dataclass(frozen=True)
class QReading:
    """Q's output split per code: a logit tensor per categorical code, Gaussian parameters per continuous."""

    logits: tuple[Tensor, ...]  # each (B, k_i)
    mean: Tensor  # (B, n_cont)
    log_sigma: Tensor | None  # (B, n_cont), only when σ is learned


@dataclass(frozen=True)
class InformationTerms:
    """Per-code negative log-likelihoods (batch means) behind the information loss."""

    categorical_nll: tuple[Tensor, ...]
    continuous_nll: tuple[Tensor, ...]


@dataclass(frozen=True)
class LatentSpec:
    """Noise and codes of an InfoGAN.

    Codes are named ``c1, c2, …`` with the categorical ones first, as in the paper.

    Args:
        noise_dim: size of the incompressible noise ``z``.
        noise_dist: ``uniform`` on [-1, 1] (the official code) or standard ``normal``.
        categorical: number of classes of each categorical code.
        continuous: number of continuous codes.
        continuous_dist: prior of each continuous code, ``uniform`` on [-1, 1] or ``normal``.
        learn_sigma: Q predicts a log σ per continuous code (the paper) instead of σ = 1
            (the official code).
        lambda_cat: weight of the categorical terms in the information loss.
        lambda_cont: weight of the continuous terms in the information loss.
        categorical_prior: ``uniform`` (the paper), or ``learned``: the classes are drawn with
            probabilities that training estimates from Q's reading of real images (real classes
            are rarely equal in size); the model then carries the estimate with its weights.
    """

    noise_dim: int = option(62, "size of the noise z", low=0, error=_SIZES)
    noise_dist: Distribution = option("uniform", "prior of z", choices=_DISTRIBUTIONS, error=_UNKNOWN_DISTRIBUTION)
    categorical: tuple[int, ...] = option(
        (10,),
        "classes per categorical code, e.g. 10 or 10,4",
        low=2,
        parse=int_list,
        error="every categorical code needs at least 2 classes",
    )
    continuous: int = option(2, "number of continuous codes", low=0, error=_SIZES)
    continuous_dist: Distribution = option(
        "uniform", "prior of each continuous code", choices=_DISTRIBUTIONS, error=_UNKNOWN_DISTRIBUTION, cli=False
    )
    learn_sigma: bool = option(False, "Q predicts σ for continuous codes (the paper) instead of σ = 1")
    lambda_cat: float = option(1.0, "weight of the categorical information terms", low=0, error=_LAMBDAS)
    lambda_cont: float = option(0.1, "weight of the continuous information terms", low=0, error=_LAMBDAS)
    categorical_prior: Literal["uniform", "learned"] = option(
        "uniform",
        "class probabilities: uniform, or learned from Q on real images",
        choices=("uniform", "learned"),
        error="unknown categorical prior {value!r}: use uniform or learned",
    )
    codes: tuple[Code, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categorical", tuple(int(k) for k in self.categorical))
        self._validate()
        cats = [Code(f"c{i + 1}", "categorical", i, k) for i, k in enumerate(self.categorical)]
        conts = [Code(f"c{len(cats) + i + 1}", "continuous", i) for i in range(self.continuous)]
        object.__setattr__(self, "codes", tuple(cats + conts))

    def _validate(self) -> None:
        check_options(self)
        if self.noise_dim + sum(self.categorical) + self.continuous == 0:
            raise InfoGANError("the latent space is empty: give noise or at least one code")

    # ----- layout -------------------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        """Length of G's input: noise, then one-hot categories, then continuous values."""
        return self.noise_dim + sum(self.categorical) + self.continuous

    @property
    def q_output_dim(self) -> int:
        """Length of Q's output: logits of each categorical code, then means (and log σ)."""
        per_continuous = 2 if self.learn_sigma else 1
        return sum(self.categorical) + per_continuous * self.continuous

    def code(self, name: str) -> Code:
        """The code called ``name`` (``c1``, ``c2``, …)."""
        for code in self.codes:
            if code.name == name:
                return code
        known = ", ".join(c.name for c in self.codes) or "none"
        raise InfoGANError(f"unknown code {name!r}; this model has: {known}")

    # ----- sampling -----------------------------------------------------------------------
    def sample(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        fixed: Mapping[str, float] | None = None,
        prior: Tensor | None = None,
    ) -> LatentBatch:
        """Draw a batch from the priors; ``fixed`` pins codes by name, e.g. ``{"c1": 3}``.

        ``prior``: class probabilities of every categorical code, concatenated (sum of k), as
        :meth:`updated_prior` learns them; without it each code is uniform.
        """
        device = generator.device if generator is not None else device
        noise = self._draw(self.noise_dist, (batch_size, self.noise_dim), generator, device)
        if prior is None:
            categories = [
                torch.randint(k, (batch_size, 1), generator=generator, device=device) for k in self.categorical
            ]
        else:
            categories = [
                torch.multinomial(p.to(device), batch_size, replacement=True, generator=generator)[:, None]
                for p in self.split_prior(prior)
            ]
        categories = (
            torch.cat(categories, dim=1) if categories else torch.zeros(batch_size, 0, dtype=torch.long, device=device)
        )
        continuous = self._draw(self.continuous_dist, (batch_size, self.continuous), generator, device)
        batch = LatentBatch(noise, categories, continuous)
        return self.with_codes(batch, fixed) if fixed else batch

    @staticmethod
    def _draw(dist: Distribution, shape: tuple[int, int], generator, device) -> Tensor:
        if dist == "normal":
            return torch.randn(shape, generator=generator, device=device)
        return torch.rand(shape, generator=generator, device=device) * 2 - 1

    def with_codes(self, batch: LatentBatch, values: Mapping[str, float]) -> LatentBatch:
        """A copy of ``batch`` with the named codes set to the given values for every row."""
        categories, continuous = batch.categories.clone(), batch.continuous.clone()
        for name, value in values.items():
            code = self.code(name)
            if code.kind == "categorical":
                if float(value) != int(value) or not 0 <= int(value) < code.num_classes:
                    raise InfoGANError(
                        f"{name} is categorical with {code.num_classes} classes: "
                        f"give an integer in 0..{code.num_classes - 1}, not {value}"
                    )
                categories[:, code.index] = int(value)
            else:
                continuous[:, code.index] = continuous_value(name, value)
        return LatentBatch(batch.noise, categories, continuous)

    def contrastive_pairs(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        gap: float = 0.0,
        share_noise: bool = False,
    ) -> tuple[LatentBatch, LatentBatch, Tensor]:
        """Pairs of draws that agree on one continuous code, for InfoGAN-CR's H (Lin et al., 2020).

        Row i of both batches has the same value of continuous code ``shared[i]``, chosen
        uniformly; every other code and the noise are drawn afresh for each side (the noise is
        copied with ``share_noise``). With ``gap`` > 0 each unshared continuous code differs
        between the sides by at least ``gap``: both values are drawn on [-1 + gap/2, 1 - gap/2]
        and pushed gap/2 apart from each other, as InfoGAN-CR's code does.

        Returns:
            the first and second draws, and the shared code's index among the continuous codes (B,).
        """
        if self.continuous < 1:
            raise InfoGANError("contrastive pairs need at least one continuous code")
        if gap and (self.continuous_dist != "uniform" or not 0 < gap < 2):
            raise InfoGANError(f"a gap between unshared codes needs uniform codes and lies in (0, 2), not {gap}")
        device = generator.device if generator is not None else device
        first = self.sample(batch_size, generator=generator, device=device)
        second = self.sample(batch_size, generator=generator, device=device)
        shared = torch.randint(self.continuous, (batch_size,), generator=generator, device=device)
        a, b = first.continuous, second.continuous
        if gap:
            a, b = a * (1 - gap / 2), b * (1 - gap / 2)  # uniform on [-1 + gap/2, 1 - gap/2]
            push = torch.where(a >= b, gap / 2, -gap / 2)
            a, b = a + push, b - push
        rows = torch.arange(batch_size, device=device)
        b = b.clone()
        b[rows, shared] = a[rows, shared]
        noise = first.noise if share_noise else second.noise
        return LatentBatch(first.noise, first.categories, a), LatentBatch(noise, second.categories, b), shared

    def generator_input(self, batch: LatentBatch) -> Tensor:
        """G's input vector (B, input_dim): [z, one_hot(c_cat)…, c_cont]."""
        one_hots = [F.one_hot(batch.categories[:, i], k).to(batch.noise.dtype) for i, k in enumerate(self.categorical)]
        return torch.cat([batch.noise, *one_hots, batch.continuous], dim=1)

    # ----- Q's side -----------------------------------------------------------------------
    def read_q(self, q_output: Tensor) -> QReading:
        """Split Q's raw output (B, q_output_dim) into per-code parameters."""
        if q_output.shape[-1] != self.q_output_dim:
            raise ValueError(f"Q output has {q_output.shape[-1]} features, expected {self.q_output_dim}")
        sizes = [*self.categorical, self.continuous] + ([self.continuous] if self.learn_sigma else [])
        parts = torch.split(q_output, sizes, dim=1)
        n_cat = len(self.categorical)
        # Clamped so that one bad batch cannot drive σ to 0 and the NLL to -inf.
        log_sigma = parts[n_cat + 1].clamp(-5.0, 5.0) if self.learn_sigma else None
        return QReading(tuple(parts[:n_cat]), parts[n_cat], log_sigma)

    def information_terms(self, reading: QReading, batch: LatentBatch) -> InformationTerms:
        """-E[log Q(c_i | x)] for each code, averaged over the batch."""
        cat_nll = tuple(
            F.cross_entropy(logits.float(), batch.categories[:, i]) for i, logits in enumerate(reading.logits)
        )
        target, mean = batch.continuous, reading.mean.float()
        log_sigma = reading.log_sigma.float() if reading.log_sigma is not None else torch.zeros_like(mean)
        per_value = log_sigma + 0.5 * ((target - mean) * torch.exp(-log_sigma)) ** 2 + _HALF_LOG_2PI
        cont_nll = tuple(per_value[:, i].mean() for i in range(self.continuous))
        return InformationTerms(cat_nll, cont_nll)

    def information_loss(self, terms: InformationTerms) -> Tensor:
        """λ_cat·Σ CE + λ_cont·Σ NLL: minimising it maximises the bound L_I of Eq. (5)."""
        weighted = [self.lambda_cat * nll for nll in terms.categorical_nll]
        weighted += [self.lambda_cont * nll for nll in terms.continuous_nll]
        return torch.stack(weighted).sum() if weighted else torch.zeros(())

    # ----- the categorical prior -------------------------------------------------------------
    def uniform_prior(self) -> Tensor:
        """Every categorical code's uniform class probabilities, concatenated (sum of k,)."""
        return torch.cat([torch.full((k,), 1.0 / k) for k in self.categorical]) if self.categorical else torch.zeros(0)

    def split_prior(self, prior: Tensor) -> tuple[Tensor, ...]:
        """The concatenated class probabilities split per categorical code."""
        return torch.split(prior, list(self.categorical))

    def updated_prior(self, prior: Tensor, reading: QReading, *, decay: float = PRIOR_DECAY) -> Tensor:
        """One step of the learned prior: an exponential average of Q's mean class probabilities on a
        batch of real images, with every class kept near PRIOR_FLOOR / k or more so that no class
        dies (a class G never draws is one Q never learns, and so never finds in real data)."""
        updated = []
        for old, logits, k in zip(self.split_prior(prior), reading.logits, self.categorical, strict=True):
            mean = logits.detach().float().softmax(dim=1).mean(dim=0).to(old)
            new = (decay * old + (1 - decay) * mean).clamp_min(PRIOR_FLOOR / k)
            updated.append(new / new.sum())
        return torch.cat(updated)

    # ----- entropies and the bound ----------------------------------------------------------
    def entropy(self, code: Code, prior: Tensor | None = None) -> float:
        """H(c) in nats under the code's prior (differential entropy for continuous codes)."""
        if code.kind == "categorical" and prior is not None:
            probs = self.split_prior(prior)[code.index].double()
            return float(-(probs * probs.log()).sum())
        if code.kind == "categorical":
            return math.log(code.num_classes)
        if self.continuous_dist == "uniform":
            return math.log(2.0)  # uniform on [-1, 1]
        return 0.5 * math.log(2 * math.pi * math.e)

    def mutual_information_bounds(self, terms: InformationTerms, prior: Tensor | None = None) -> dict[str, Tensor]:
        """Eq. (5) per code: L_I(c_i) = H(c_i) - NLL_i, a lower bound on I(c_i; G(z, c)) in nats."""
        nlls = [*terms.categorical_nll, *terms.continuous_nll]
        return {code.name: self.entropy(code, prior) - nll for code, nll in zip(self.codes, nlls, strict=True)}
