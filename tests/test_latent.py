import math

import pytest
import torch
from torch.testing import assert_close

from infogan.errors import InfoGANError
from infogan.latent import InformationTerms, LatentBatch, LatentSpec, QReading


def test_layout_and_names():
    spec = LatentSpec(noise_dim=5, categorical=(10, 3), continuous=2, learn_sigma=True)
    assert [c.name for c in spec.codes] == ["c1", "c2", "c3", "c4"]
    assert [c.kind for c in spec.codes] == ["categorical", "categorical", "continuous", "continuous"]
    assert spec.input_dim == 5 + 13 + 2
    assert spec.q_output_dim == 13 + 2 * 2
    assert spec.code("c4").index == 1


def test_sample_shapes_ranges_and_determinism():
    spec = LatentSpec(noise_dim=62, categorical=(10,), continuous=2)
    a = spec.sample(4096, generator=torch.Generator().manual_seed(3))
    b = spec.sample(4096, generator=torch.Generator().manual_seed(3))
    assert_close(a.noise, b.noise)
    assert a.noise.shape == (4096, 62) and a.categories.shape == (4096, 1) and a.continuous.shape == (4096, 2)
    assert a.noise.min() >= -1 and a.noise.max() <= 1
    assert a.continuous.min() >= -1 and a.continuous.max() <= 1
    counts = torch.bincount(a.categories[:, 0], minlength=10).float() / 4096
    assert_close(counts, torch.full((10,), 0.1), atol=0.02, rtol=0)


def test_normal_noise_is_unbounded_with_unit_std():
    spec = LatentSpec(noise_dim=8, noise_dist="normal", continuous=0)
    noise = spec.sample(20000, generator=torch.Generator().manual_seed(0)).noise
    assert_close(noise.std().item(), 1.0, atol=0.02, rtol=0)
    assert noise.abs().max() > 1


def test_generator_input_places_one_hot_and_continuous():
    spec = LatentSpec(noise_dim=2, categorical=(3, 2), continuous=1)
    batch = LatentBatch(torch.tensor([[0.5, -0.5]]), torch.tensor([[2, 0]]), torch.tensor([[0.25]]))
    expected = torch.tensor([[0.5, -0.5, 0, 0, 1, 1, 0, 0.25]])
    assert_close(spec.generator_input(batch), expected)


def test_fixed_codes_and_their_errors():
    spec = LatentSpec(categorical=(10,), continuous=2)
    batch = spec.sample(5, fixed={"c1": 3, "c3": 1.5})
    assert (batch.categories[:, 0] == 3).all()
    assert_close(batch.continuous[:, 1], torch.full((5,), 1.5))
    for bad in ({"c1": 10}, {"c1": 2.5}, {"c9": 0}, {"c2": float("nan")}):
        with pytest.raises(InfoGANError):
            spec.sample(2, fixed=bad)


def test_read_q_splits_in_layout_order():
    spec = LatentSpec(noise_dim=0, categorical=(2, 3), continuous=2, learn_sigma=True)
    out = torch.arange(9.0).unsqueeze(0)
    reading = spec.read_q(out)
    assert_close(reading.logits[0], torch.tensor([[0.0, 1.0]]))
    assert_close(reading.logits[1], torch.tensor([[2.0, 3.0, 4.0]]))
    assert_close(reading.mean, torch.tensor([[5.0, 6.0]]))
    assert_close(reading.log_sigma, torch.tensor([[5.0, 5.0]]))  # 7 and 8 clamped to 5
    with pytest.raises(ValueError):
        spec.read_q(torch.zeros(1, 8))


def test_information_terms_known_answers():
    spec = LatentSpec(noise_dim=0, categorical=(4,), continuous=1, lambda_cat=1.0, lambda_cont=0.5)
    batch = LatentBatch(torch.zeros(2, 0), torch.tensor([[1], [3]]), torch.tensor([[0.5], [-1.0]]))
    reading = spec.read_q(torch.tensor([[0.0, 0, 0, 0, 0.5], [0, 0, 0, 0, 0.0]]))
    terms = spec.information_terms(reading, batch)
    assert_close(terms.categorical_nll[0], torch.tensor(math.log(4)))  # uniform logits
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    assert_close(terms.continuous_nll[0], torch.tensor(half_log_2pi + 0.5 * (0 + 1.0) / 2))
    loss = spec.information_loss(terms)
    assert_close(loss, terms.categorical_nll[0] + 0.5 * terms.continuous_nll[0])
    bounds = spec.mutual_information_bounds(terms)
    assert_close(bounds["c1"], torch.tensor(0.0), atol=1e-6, rtol=0)


def test_learned_sigma_nll_matches_torch_gaussian():
    spec = LatentSpec(noise_dim=0, categorical=(), continuous=1, learn_sigma=True)
    target, mean, log_sigma = torch.tensor([[0.3]]), torch.tensor([[0.1]]), torch.tensor([[-0.7]])
    terms = spec.information_terms(
        spec.read_q(torch.cat([mean, log_sigma], 1)),
        LatentBatch(torch.zeros(1, 0), torch.zeros(1, 0, dtype=torch.long), target),
    )
    expected = -torch.distributions.Normal(mean, log_sigma.exp()).log_prob(target).mean()
    assert_close(terms.continuous_nll[0], expected)


def test_perfect_categorical_prediction_reaches_entropy():
    spec = LatentSpec(noise_dim=0, categorical=(10,), continuous=0)
    batch = spec.sample(64)
    logits = torch.nn.functional.one_hot(batch.categories[:, 0], 10).float() * 50
    bounds = spec.mutual_information_bounds(spec.information_terms(spec.read_q(logits), batch))
    assert_close(bounds["c1"], torch.tensor(math.log(10)), atol=1e-4, rtol=0)


def test_entropies():
    spec = LatentSpec(categorical=(10,), continuous=1)
    assert spec.entropy(spec.code("c1")) == pytest.approx(math.log(10))
    assert spec.entropy(spec.code("c2")) == pytest.approx(math.log(2))
    normal = LatentSpec(categorical=(), continuous=1, continuous_dist="normal")
    assert normal.entropy(normal.code("c1")) == pytest.approx(0.5 * math.log(2 * math.pi * math.e))


def test_empty_information_loss_is_zero():
    spec = LatentSpec(noise_dim=4, categorical=(), continuous=0)
    assert_close(spec.information_loss(InformationTerms((), ())), torch.tensor(0.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"categorical": (1,)},
        {"noise_dim": -1},
        {"noise_dist": "cauchy"},
        {"lambda_cat": -1.0},
        {"noise_dim": 0, "categorical": (), "continuous": 0},
    ],
)
def test_invalid_specs_are_refused(kwargs):
    with pytest.raises(InfoGANError):
        LatentSpec(**kwargs)


@pytest.mark.parametrize("share_noise", [False, True])
def test_contrastive_pairs_share_exactly_the_chosen_code(share_noise):
    spec = LatentSpec(noise_dim=4, categorical=(), continuous=5)
    first, second, shared = spec.contrastive_pairs(
        2000, generator=torch.Generator().manual_seed(0), share_noise=share_noise
    )
    assert first.continuous.shape == second.continuous.shape == (2000, 5) and shared.shape == (2000,)
    same = first.continuous == second.continuous  # (B, n_cont)
    expected = torch.nn.functional.one_hot(shared, 5).bool()
    assert torch.equal(same, expected)  # the chosen code equal, every other one different
    assert torch.equal(torch.bincount(shared, minlength=5) > 300, torch.ones(5, dtype=torch.bool))
    assert torch.equal(first.noise == second.noise, torch.full_like(first.noise, share_noise, dtype=torch.bool))
    assert first.continuous.abs().max() <= 1 and second.continuous.abs().max() <= 1


def test_contrastive_pairs_gap_and_categorical_codes():
    spec = LatentSpec(noise_dim=2, categorical=(10,), continuous=3)
    first, second, shared = spec.contrastive_pairs(1000, generator=torch.Generator().manual_seed(1), gap=0.5)
    distance = (first.continuous - second.continuous).abs()
    unshared = ~torch.nn.functional.one_hot(shared, 3).bool()
    assert distance[unshared].min() >= 0.5 - 1e-6 and distance[~unshared].max() == 0
    assert first.continuous.abs().max() <= 1 and second.continuous.abs().max() <= 1
    assert (first.categories != second.categories).float().mean() > 0.8  # resampled, not shared
    with pytest.raises(InfoGANError, match="gap"):
        LatentSpec(continuous=2, continuous_dist="normal").contrastive_pairs(4, gap=0.5)
    with pytest.raises(InfoGANError, match="continuous code"):
        LatentSpec(continuous=0).contrastive_pairs(4)


def test_learned_prior_draws_classes_in_its_proportions():
    spec = LatentSpec(categorical=(4,), continuous=0, categorical_prior="learned")
    prior = torch.tensor([0.7, 0.1, 0.1, 0.1])
    draws = spec.sample(20_000, generator=torch.Generator().manual_seed(0), prior=prior).categories[:, 0]
    shares = torch.bincount(draws, minlength=4).double() / 20_000
    assert_close(shares, prior.double(), atol=0.015, rtol=0)


def test_learned_prior_follows_q_and_keeps_every_class_alive():
    spec = LatentSpec(categorical=(4, 2), continuous=0, categorical_prior="learned")
    prior = spec.uniform_prior()
    certain_first = torch.tensor([[20.0, 0, 0, 0]]).expand(64, 4)  # Q sees only class 0 of c1
    reading = QReading((certain_first, torch.zeros(64, 2)), torch.zeros(64, 0), None)
    for _ in range(2000):
        prior = spec.updated_prior(prior, reading)
    first, second = spec.split_prior(prior)
    assert_close(first.sum(), torch.tensor(1.0))
    assert first[0] > 0.75 and torch.all(first[1:] >= 0.99 * 0.25 / 4)  # the floor (renormalised) holds the others
    assert_close(second, torch.tensor([0.5, 0.5]))


def test_entropy_under_a_learned_prior():
    spec = LatentSpec(categorical=(2,), continuous=0, categorical_prior="learned")
    code = spec.code("c1")
    assert spec.entropy(code) == pytest.approx(math.log(2))
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert spec.entropy(code, torch.tensor([0.9, 0.1])) == pytest.approx(expected)
