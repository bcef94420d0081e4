"""Choosing among trained runs without labels: InfoGAN-CR's model centrality.

Lin et al. (2020, section 5) train several runs of one configuration and keep the one the
others agree with most. A good solution is found, in much the same form, by many runs; a bad
one (on MNIST: 4 and 9 split by slant instead of by digit) is found differently by each, so
it agrees less with the rest. Agreement of run ``a`` with run ``b``: draw codes from ``a``'s
prior, render them with ``a``'s G, read the images with ``b``'s Q, and measure how well some
code of ``b`` recovers each code of ``a``. InfoGAN-CR scores the pair with the FactorVAE
metric; here a categorical code is scored by NMI against ``b``'s best-matching categorical
code and a continuous one by the largest absolute correlation with one of ``b``'s continuous
readings, so that a permutation of classes, an exchange of codes or a flipped sign costs
nothing. Both lie in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from infogan.errors import InfoGANError
from infogan.latent import LatentBatch, LatentSpec
from infogan.model import Encoding, InfoGAN


@dataclass(frozen=True)
class Centrality:
    """Pairwise agreement of N runs and each run's mean agreement with the others."""

    names: tuple[str, ...]
    agreement: np.ndarray  # (N, N): row a, column b = how well b's Q reads a's codes
    scores: np.ndarray  # (N,): centrality, mean of the symmetrised agreement with the others

    @property
    def chosen(self) -> str:
        """The most central run."""
        return self.names[int(np.argmax(self.scores))]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "chosen": self.chosen,
            "centrality": dict(zip(self.names, self.scores.round(6).tolist(), strict=True)),
            "agreement": self.agreement.round(6).tolist(),
            "names": list(self.names),
        }


def code_agreement(
    spec: LatentSpec, latents: LatentBatch, reading: Encoding, codes: Sequence[str] | None = None
) -> float:
    """Mean over run a's codes (or the named ones) of how well ``reading`` recovers each.

    Args:
        spec, latents: run a's code specification and the codes it drew.
        reading: run b's Q reading of the images a rendered from ``latents``.
        codes: names of a's codes to score (default: all).
    """
    scores = []
    for code in spec.codes:
        if codes is not None and code.name not in codes:
            continue
        if code.kind == "categorical":
            truth = latents.categories[:, code.index].cpu().numpy()
            guesses = [p.argmax(1).numpy() for p in reading.probabilities.values()]
            scores.append(max((normalized_mutual_info_score(truth, g) for g in guesses), default=0.0))
        else:
            truth = latents.continuous[:, code.index].cpu().double().numpy()
            readings = [m.double().numpy() for m in reading.means.values()]
            scores.append(max((_abs_correlation(truth, r) for r in readings), default=0.0))
    if not scores:
        raise InfoGANError(f"none of the codes {list(codes or [])} is in the model")
    return float(np.mean(scores))


def _abs_correlation(x: np.ndarray, y: np.ndarray) -> float:
    if x.std() == 0 or y.std() == 0:  # a constant reading carries no information
        return 0.0
    return float(abs(np.corrcoef(x, y)[0, 1]))


def model_centrality(
    models: Sequence[InfoGAN],
    names: Sequence[str],
    *,
    samples: int = 5_000,
    seed: int = 0,
    codes: Sequence[str] | None = None,
) -> Centrality:
    """Every run's agreement with every other on ``samples`` draws, and its centrality."""
    if len(models) < 2:
        raise InfoGANError("model centrality compares runs: give at least 2")
    shapes = {tuple(m.image_shape) for m in models}
    if len(shapes) > 1:
        raise InfoGANError(f"the runs make images of different shapes {sorted(shapes)}; they cannot read each other's")
    n = len(models)
    agreement = np.eye(n)
    for a, model_a in enumerate(models):
        latents = model_a.sample_latents(samples, seed=seed)
        images = model_a.render(latents)
        for b, model_b in enumerate(models):
            if a != b:
                reading = model_b.encode(images)
                agreement[a, b] = code_agreement(model_a.spec, latents, reading, codes)
    symmetric = (agreement + agreement.T) / 2
    scores = (symmetric.sum(1) - 1) / (n - 1)  # leave out each run's agreement with itself
    return Centrality(tuple(names), agreement, scores)


def run_centrality(
    paths: Sequence[str],
    *,
    samples: int = 5_000,
    seed: int = 0,
    codes: Sequence[str] | None = None,
    device: str = "auto",
) -> Centrality:
    """Load runs (directories or checkpoint files) and rank them by :func:`model_centrality`."""
    models = [InfoGAN.load(path, device=device) for path in paths]
    return model_centrality(models, [str(p) for p in paths], samples=samples, seed=seed, codes=codes)
