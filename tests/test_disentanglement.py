"""Known answers for the disentanglement metrics on a toy dataset whose 'images' are the factors.

The representations: the true factors (ideal), Gaussian noise (chance), the first two factors
rotated by 45° into each other (mixed), and the first factor duplicated (redundant). Factors 0
and 1 have the same number of classes, so the rotation treats them symmetrically.
"""

import math

import numpy as np
import pytest
from torch.testing import assert_close

from infogan.data.dsprites import DSprites
from infogan.errors import InfoGANError
from infogan.metrics.disentanglement import (
    all_disentanglement_metrics,
    beta_vae_score,
    dci_completeness,
    dci_disentanglement,
    dci_score,
    factor_vae_score,
    histogram_discretize,
    mig_score,
    mutual_information_gap,
    sap_score,
    top_two_gap,
)

SIZES = (5, 5, 4, 6)
K = len(SIZES)
SMALL_VOTES = dict(batch_size=16, num_train=300, num_eval=200)  # BetaVAE / FactorVAE draws
CHANCE = 1 / K


class FactorGrid:
    """Uniform discrete factors whose observation is the factor vector itself."""

    def __init__(self, sizes=SIZES):
        self.factor_sizes = tuple(sizes)

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(size, size=n) for size in self.factor_sizes], axis=1)

    def images_for(self, factors):
        return factors.astype(np.float64)


def truth(x):
    return x


def mixed(x):
    z = x.copy()
    z[:, 0], z[:, 1] = (x[:, 0] + x[:, 1]) / math.sqrt(2), (x[:, 0] - x[:, 1]) / math.sqrt(2)
    return z


def duplicated(x):
    return np.concatenate([x[:, :1], x], axis=1)


def noise():
    rng = np.random.default_rng(123)
    return lambda x: rng.normal(size=(len(x), K))


@pytest.fixture
def grid():
    return FactorGrid()


# ----- BetaVAE ------------------------------------------------------------------------------
def test_beta_vae_known_answers(grid):
    # ideal: the shared factor is the dimension with zero difference, so the score is 1
    assert beta_vae_score(truth, grid, **SMALL_VOTES)["eval_accuracy"] >= 0.99
    # noise: chance 1/K; 1000 evaluation points give a standard error of 0.014
    chance = beta_vae_score(noise(), grid, **{**SMALL_VOTES, "num_eval": 1000})
    assert chance["eval_accuracy"] == pytest.approx(CHANCE, abs=0.05)
    # mixed: the two rotated factors look alike (|Δz1| = |Δz2| either way), so (K-1)/K
    assert beta_vae_score(mixed, grid, **SMALL_VOTES)["eval_accuracy"] == pytest.approx(1 - 0.5 * 2 / K, abs=0.1)
    # a duplicate does not hurt BetaVAE: it measures only whether the fixed factor is identifiable
    assert beta_vae_score(duplicated, grid, **SMALL_VOTES)["eval_accuracy"] >= 0.99


# ----- FactorVAE ----------------------------------------------------------------------------
def test_factor_vae_known_answers(grid):
    ideal = factor_vae_score(truth, grid, num_variance_estimate=1000, **SMALL_VOTES)
    assert ideal == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": K}  # exact: zero variance
    random = factor_vae_score(noise(), grid, num_variance_estimate=1000, **{**SMALL_VOTES, "num_eval": 1000})
    assert random["eval_accuracy"] == pytest.approx(CHANCE, abs=0.05)  # chance; standard error 0.014
    # mixed: fixing factor 0 or 1 halves the variance of both rotated dimensions alike
    rotated = factor_vae_score(mixed, grid, num_variance_estimate=1000, **SMALL_VOTES)
    assert rotated["eval_accuracy"] == pytest.approx(1 - 0.5 * 2 / K, abs=0.1)
    assert factor_vae_score(duplicated, grid, num_variance_estimate=1000, **SMALL_VOTES)["eval_accuracy"] == 1.0


def test_factor_vae_prunes_collapsed_dimensions(grid):
    def with_constant(x):
        return np.concatenate([x, np.full((len(x), 1), 3.0)], axis=1)

    scores = factor_vae_score(with_constant, grid, num_variance_estimate=500, **SMALL_VOTES)
    assert scores["num_active_dims"] == K and scores["eval_accuracy"] == 1.0
    collapsed = factor_vae_score(lambda x: np.zeros((len(x), 2)), grid, num_variance_estimate=500, **SMALL_VOTES)
    assert collapsed == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


# ----- MIG ----------------------------------------------------------------------------------
def test_mutual_information_gap_by_hand():
    mutual_info = np.array([[2.0, 0.1], [0.5, 0.3], [0.0, 0.9]])  # (codes, factors)
    entropy = np.array([2.0, 1.0])
    # factor 0: (2.0 - 0.5) / 2 = 0.75; factor 1: (0.9 - 0.3) / 1 = 0.6
    assert mutual_information_gap(mutual_info, entropy) == pytest.approx((0.75 + 0.6) / 2)
    with pytest.raises(InfoGANError, match="at least 2"):
        mutual_information_gap(mutual_info[:1], entropy)


def test_histogram_discretize_by_hand():
    # column 0: bins [0, .25), [.25, .5), [.5, .75), [.75, 1]; column 1 is constant, and numpy
    # widens a constant's range to 5 ± 0.5, which puts 5 in bin 3 of 4
    codes = np.array([[0.0, 5.0], [0.5, 5.0], [1.0, 5.0], [0.24, 5.0]])
    assert_close(histogram_discretize(codes, bins=4), np.array([[1, 3], [3, 3], [4, 3], [1, 3]]))


def test_mig_known_answers(grid):
    # ideal: I(z_k; v_k) = H(v_k) and the runner-up is estimator bias (~ classes² / 2N nats)
    assert mig_score(truth, grid, num_train=2000)["score"] >= 0.98
    assert mig_score(noise(), grid, num_train=2000)["score"] < 0.02
    # mixed: factors 0 and 1 inform both rotated codes equally, a zero gap for 2 of the K factors
    assert mig_score(mixed, grid, num_train=2000)["score"] == pytest.approx(1 - 2 / K, abs=0.05)
    # duplicated: factor 0's top two codes are identical, a zero gap for 1 of the K factors
    assert mig_score(duplicated, grid, num_train=2000)["score"] == pytest.approx(1 - 1 / K, abs=0.02)


def test_mig_caps_factors_with_more_classes_than_bins():
    # 40 classes in 20 bins: the code keeps log 20 of the factor's log 40 nats; the binary factor keeps all
    scores = mig_score(truth, FactorGrid((40, 2)), num_train=20_000)
    assert scores["score"] == pytest.approx((math.log(20) / math.log(40) + 1) / 2, abs=0.01)


# ----- DCI ----------------------------------------------------------------------------------
def test_dci_from_importance_by_hand():
    assert dci_disentanglement(np.eye(3)) == pytest.approx(1.0)
    assert dci_completeness(np.eye(3)) == pytest.approx(1.0)
    assert dci_disentanglement(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    assert dci_completeness(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    importance = np.array([[1.0, 1.0], [0.0, 2.0]])  # (codes, factors)
    # code 0 serves two factors equally (0), code 1 one factor (1); each holds half the importance
    assert dci_disentanglement(importance) == pytest.approx(0.5)
    # factor 0 lives in one code (1, weight 1/4); factor 1 in codes with shares 1/3, 2/3 (weight 3/4)
    h = -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))
    assert dci_completeness(importance) == pytest.approx(0.25 + 0.75 * (1 - h))
    assert dci_disentanglement(np.zeros((2, 2))) == pytest.approx(0.0, abs=1e-9)  # nothing predicts anything


def test_dci_known_answers(grid):
    sizes = dict(num_train=400, num_test=300)
    ideal = dci_score(truth, grid, **sizes)
    assert ideal["disentanglement"] >= 0.95 and ideal["completeness"] >= 0.95 and ideal["informativeness_test"] >= 0.99
    random = dci_score(noise(), grid, **sizes)
    assert random["disentanglement"] < 0.1 and random["completeness"] < 0.1
    chance = np.mean([1 / s for s in SIZES])
    assert random["informativeness_test"] == pytest.approx(chance, abs=0.1)
    # mixed: two codes each split evenly over two of K factors, 1 - log 2 / log K each, holding half the importance
    rotated = dci_score(mixed, grid, **sizes)
    assert rotated["disentanglement"] == pytest.approx(0.5 + 0.5 * (1 - math.log(2) / math.log(K)), abs=0.05)
    # duplicated: each code still serves one factor, but factor 0 is split over two of K + 1 codes
    redundant = dci_score(duplicated, grid, **sizes)
    assert redundant["disentanglement"] >= 0.95
    assert redundant["completeness"] == pytest.approx(1 - 1 / K * math.log(2) / math.log(K + 1), abs=0.05)


# ----- SAP ----------------------------------------------------------------------------------
def test_top_two_gap_by_hand():
    scores = np.array([[0.9, 0.2], [0.5, 0.3], [0.1, 0.8]])
    assert top_two_gap(scores) == pytest.approx(((0.9 - 0.5) + (0.8 - 0.3)) / 2)


def test_sap_known_answers(grid):
    sizes = dict(num_train=1000, num_test=500, continuous_factors=True)
    assert sap_score(truth, grid, **sizes)["score"] >= 0.98  # R² 1 for the own code, ~0 for the rest
    assert sap_score(noise(), grid, **sizes)["score"] < 0.05
    assert sap_score(mixed, grid, **sizes)["score"] == pytest.approx(1 - 2 / K, abs=0.05)  # R² 1/2 and 1/2
    assert sap_score(duplicated, grid, **sizes)["score"] == pytest.approx(1 - 1 / K, abs=0.02)


def test_sap_discrete_factors_use_classifier_accuracy():
    # binary factors: one threshold on the own code is perfect, any other code is a coin flip
    binary = FactorGrid((2, 2, 2))
    assert sap_score(truth, binary, num_train=1000, num_test=1000)["score"] == pytest.approx(0.5, abs=0.05)
    # many classes: one linear boundary per class cannot carve a line into intervals, so the ideal code scores low
    assert sap_score(truth, FactorGrid(), num_train=1000, num_test=500)["score"] < 0.6


# ----- everything, determinism, errors ------------------------------------------------------
SUITE = dict(num_train=300, num_eval=200, batch_size=16)
KEYS = {
    "beta_vae/train_accuracy",
    "beta_vae/eval_accuracy",
    "factor_vae/train_accuracy",
    "factor_vae/eval_accuracy",
    "factor_vae/num_active_dims",
    "mig/score",
    "dci/disentanglement",
    "dci/completeness",
    "dci/informativeness_train",
    "dci/informativeness_test",
    "sap/score",
}


def test_all_metrics_are_deterministic_under_a_seed():
    grid = FactorGrid((3, 3, 2))  # few classes keep the gradient-boosted trees quick

    def noisy(x):  # a representation with some slack, so that every score depends on the draws
        return mixed(x) + np.sin(7 * x.sum(axis=1, keepdims=True))

    first = all_disentanglement_metrics(noisy, grid, seed=3, **SUITE)
    assert set(first) == KEYS
    assert first == all_disentanglement_metrics(noisy, grid, seed=3, **SUITE)
    other = all_disentanglement_metrics(noisy, grid, seed=4, **SUITE)
    assert any(first[k] != other[k] for k in KEYS)


def test_metrics_run_on_dsprites_images():
    data = DSprites.generate((3, 2, 4, 8, 8))

    def centre_and_area(images):  # a hand-made encoder: centre of mass and pixel count, all in [0, 1]
        masks = images[:, 0]
        area = masks.sum(axis=(1, 2))
        rows, cols = np.arange(64)[None, :, None] / 64, np.arange(64)[None, None, :] / 64
        x, y = (masks * cols).sum(axis=(1, 2)) / area, (masks * rows).sum(axis=(1, 2)) / area
        return np.stack([x, y, area / 4096], axis=1)

    scores = all_disentanglement_metrics(centre_and_area, data, seed=0, num_train=200, num_eval=100, batch_size=8)
    assert set(scores) == KEYS
    assert all(0.0 <= v <= 1.0 for k, v in scores.items() if k != "factor_vae/num_active_dims")
    # posX and posY each live in one code exactly, so MIG gives them a full gap
    assert mig_score(centre_and_area, data, num_train=500)["score"] > 0.4


def test_bad_encoders_and_datasets(grid):
    with pytest.raises(InfoGANError, match=r"\(N, d\)"):
        mig_score(lambda x: x[:, 0], grid, num_train=100)
    with pytest.raises(InfoGANError, match=r"\(N, d\)"):
        sap_score(lambda x: x[:-1], grid, num_train=100, num_test=100)
    with pytest.raises(InfoGANError, match="at least 2 classes"):
        dci_score(truth, FactorGrid((4, 1)), num_train=100, num_test=100)
