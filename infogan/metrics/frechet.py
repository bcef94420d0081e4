"""Distances between two sets of image features: the Fréchet distance of FID (Heusel et al.,
2017) and the kernel distance of KID (Bińkowski et al., 2018). Pure functions over (N, d) arrays;
which network gives the features is :mod:`infogan.feature_net`'s business."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000  # Bińkowski et al.'s defaults


@dataclass(frozen=True)
class GaussianStats:
    """Mean (d,) and covariance (d, d) of a set of features."""

    mean: np.ndarray
    covariance: np.ndarray


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """The mean and (unbiased) covariance of features (N, d), in float64."""
    features = _as_features(features, least=2)
    return GaussianStats(features.mean(0), np.atleast_2d(np.cov(features, rowvar=False)))


def frechet_distance_from_stats(a: GaussianStats, b: GaussianStats, *, eps: float = 1e-6) -> float:
    """d² = ||μa − μb||² + Tr(Σa + Σb − 2 (Σa Σb)^½), the squared 2-Wasserstein distance of two Gaussians.

    Args:
        eps: added to both diagonals when Σa Σb is too singular for a finite square root
            (features that never fire in either set).
    """
    if a.mean.shape != b.mean.shape or a.covariance.shape != b.covariance.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape} and {b.mean.shape}")
    with warnings.catch_warnings():  # a singular product is checked for below, not warned about
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(a.covariance @ b.covariance)
    if not np.isfinite(root).all():
        offset = eps * np.eye(len(a.mean))
        root = linalg.sqrtm((a.covariance + offset) @ (b.covariance + offset))
    # The product of two covariances can have a tiny imaginary part from rounding; its trace is real.
    trace = np.trace(a.covariance) + np.trace(b.covariance) - 2 * np.trace(root).real
    return float(np.sum((a.mean - b.mean) ** 2) + trace)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance (FID's formula) between Gaussians fitted to features a (N, d) and b (M, d)."""
    return frechet_distance_from_stats(gaussian_stats(a), gaussian_stats(b))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel k(x, y) = (x·y / d + 1)³ for every pair of rows: (N, M)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of MMD² between samples x (m, d) and y (n, d) under the cubic kernel.

    Within-set means leave out the diagonal (i = j) terms, which is what makes it unbiased;
    it can be slightly negative when both sets come from one distribution.
    """
    x, y = _as_features(x, least=2), _as_features(y, least=2)
    m, n = len(x), len(y)
    k_xx, k_yy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * polynomial_kernel(x, y).mean())


def kernel_distance(
    a: np.ndarray, b: np.ndarray, *, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """KID: the mean and standard deviation of unbiased MMD² over random equal-size subsets of a and b.

    Subsets are drawn without replacement within each subset; ``subset_size`` shrinks to the
    smaller set when either is smaller.
    """
    a, b = _as_features(a, least=2), _as_features(b, least=2)
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _as_features(features: np.ndarray, *, least: int) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < least:
        raise ValueError(f"expected features (N, d) with N >= {least}, got shape {features.shape}")
    return features
