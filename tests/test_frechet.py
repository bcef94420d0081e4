"""Known answers of the Fréchet and kernel distances between feature sets."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from infogan.metrics.frechet import (
    GaussianStats,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    kernel_distance,
    mmd2_unbiased,
    polynomial_kernel,
)


def _gaussian(n, d, seed, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(shift, scale, (n, d))


def test_identical_sets_are_at_distance_zero():
    features = _gaussian(500, 8, 0)
    assert_allclose(frechet_distance(features, features), 0.0, atol=1e-8)


def test_shifted_gaussians_with_equal_covariance_are_the_squared_mean_shift_apart():
    rng = np.random.default_rng(1)
    root = rng.normal(size=(5, 5))
    covariance = root @ root.T + np.eye(5)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    a, b = GaussianStats(np.zeros(5), covariance), GaussianStats(shift, covariance)
    assert_allclose(frechet_distance_from_stats(a, b), shift @ shift, rtol=1e-8)  # 14.25


def test_diagonal_covariances_give_the_sum_of_squared_std_differences():
    # Tr(Σa + Σb - 2(ΣaΣb)^½) = Σ_i (σa_i - σb_i)² when both are diagonal
    a = GaussianStats(np.zeros(3), np.diag([1.0, 4.0, 9.0]))
    b = GaussianStats(np.ones(3), np.diag([4.0, 4.0, 1.0]))
    assert_allclose(frechet_distance_from_stats(a, b), 3 + (1 + 0 + 4), rtol=1e-8)
    assert_allclose(frechet_distance_from_stats(b, a), 8.0, rtol=1e-8)


def test_samples_approach_the_closed_form():
    a, b = _gaussian(20_000, 4, 2), _gaussian(20_000, 4, 3, shift=1.0, scale=2.0)
    # means differ by 1 in each of 4 dimensions, standard deviations by 1: 4 + 4
    assert_allclose(frechet_distance(a, b), 8.0, rtol=0.03)


def test_features_that_never_fire_still_give_a_finite_distance():
    a, b = _gaussian(300, 6, 4), _gaussian(300, 6, 5, shift=0.5)
    a[:, :3] = 0.0  # dead units: a singular covariance
    b[:, :3] = 0.0
    distance = frechet_distance(a, b)
    assert np.isfinite(distance)
    assert_allclose(distance, frechet_distance(a[:, 3:], b[:, 3:]), atol=1e-3)


def test_gaussian_stats_are_the_sample_mean_and_unbiased_covariance():
    stats = gaussian_stats(np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]]))
    assert_allclose(stats.mean, [2.0, 2.0])
    assert_allclose(stats.covariance, [[4.0, 3.0], [3.0, 3.0]])


def test_the_cubic_kernel_and_unbiased_mmd_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    assert_allclose(polynomial_kernel(x, y), [[1.0, 1.0], [27.0, 64.0]])
    # within x: k(0, 1) = 1; within y: k(2, 3) = 343; across: (1 + 1 + 27 + 64) / 4 = 23.25
    assert_allclose(mmd2_unbiased(x, y), 1 + 343 - 2 * 23.25)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    same = kernel_distance(_gaussian(2000, 16, 6), _gaussian(2000, 16, 7), subsets=20, subset_size=500)
    near = kernel_distance(_gaussian(2000, 16, 6), _gaussian(2000, 16, 7, shift=0.2), subsets=20, subset_size=500)
    far = kernel_distance(_gaussian(2000, 16, 6), _gaussian(2000, 16, 7, shift=1.0), subsets=20, subset_size=500)
    assert abs(same[0]) < 3 * same[1]  # zero within its spread over subsets
    assert same[0] < 0.1 * near[0] and near[0] < far[0]


def test_kid_is_deterministic_under_its_seed_and_shrinks_subsets_to_fit():
    a, b = _gaussian(50, 4, 8), _gaussian(30, 4, 9, shift=0.3)
    assert kernel_distance(a, b, subsets=5, seed=1) == kernel_distance(a, b, subsets=5, seed=1)
    # one subset as large as the smaller set, drawn without replacement: all of b
    value, spread = kernel_distance(a, b, subsets=1, subset_size=1000)
    assert spread == 0.0 and np.isfinite(value)


@pytest.mark.parametrize("bad", [np.zeros((1, 4)), np.zeros(4)])
def test_too_few_or_flat_features_are_refused(bad):
    with pytest.raises(ValueError, match="features"):
        frechet_distance(bad, np.zeros((5, 4)))
