import numpy as np
import pytest
import torch
from torch.testing import assert_close

from infogan import InfoGAN, ModelConfig
from infogan.errors import InfoGANError
from infogan.evaluation import check_factor_model, generated, generated_classes, q_encoder, sample_quality
from infogan.latent import LatentSpec
from infogan.networks import NetworkConfig


def test_q_encoder_reads_every_code_in_order():
    spec = LatentSpec(noise_dim=3, categorical=(3,), continuous=2)
    model = InfoGAN(ModelConfig(spec, NetworkConfig("dsprites")))
    images = np.random.default_rng(0).integers(0, 2, (6, 1, 64, 64)).astype(np.float32)
    codes = q_encoder(model)(images)
    reading = model.encode(images)
    assert codes.shape == (6, 3 + 2) and codes.dtype == np.float64
    assert_close(torch.from_numpy(codes[:, :3]).float(), reading.probabilities["c1"])
    assert_close(torch.from_numpy(codes[:, 3]).float(), reading.means["c2"])
    assert_close(torch.from_numpy(codes[:, 4]).float(), reading.means["c3"])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ModelConfig(), "1×28×28"),
        (ModelConfig(LatentSpec(noise_dim=4, categorical=(), continuous=1), NetworkConfig("dsprites")), "2 dim"),
    ],
)
def test_models_the_metrics_cannot_read_are_refused(config, message):
    with pytest.raises(InfoGANError, match=message):
        check_factor_model(InfoGAN(config))


def test_generated_images_are_one_seeded_draw_rendered_in_batches(vivid_model):
    whole = vivid_model.render(vivid_model.sample_latents(5, seed=3))
    assert_close(generated(vivid_model, 5, seed=3, batch_size=2), whole)


def test_sample_quality_reports_fid_and_kid_on_the_datasets_feature_net(vivid_model, mnist_root):
    from infogan.data import load_dataset

    test = load_dataset("mnist", "test", mnist_root)
    report = sample_quality(vivid_model, "mnist", real=test, n=300, seed=1)
    assert (report["feature_net"], report["samples"], report["real_images"]) == ("mnist-v1", 300, 300)
    assert report["fid"] > 0 and report["kid"] > 0 and report["kid_std"] >= 0
    assert sample_quality(vivid_model, "mnist", real=test, n=300, seed=1) == report  # seeded both sides
    # a random network's samples are further from the digits than a tenth of the test set is from the rest
    halves = test.subset(600, seed=2)
    assert report["fid"] > 10 * _real_fid(halves)


def _real_fid(data):
    from infogan.feature_net import features, load_feature_net
    from infogan.metrics.frechet import frechet_distance

    feats = features(load_feature_net("mnist"), data.images)
    return frechet_distance(feats[::2], feats[1::2])


@pytest.mark.parametrize(("dataset", "n", "message"), [("mnist", 1, "at least 2"), ("svhn", 10, "no feature net")])
def test_sample_quality_refuses_what_it_cannot_score(vivid_model, tiny_data, dataset, n, message):
    with pytest.raises(InfoGANError, match=message):
        sample_quality(vivid_model, dataset, real=tiny_data, n=n)


def test_generated_classes_read_what_g_draws_for_each_class(vivid_model, mnist_root, monkeypatch):
    """A stand-in G that draws real test digits: class k the digit (k + 3) % 10, except class 9,
    which draws 7s for a fifth of its samples (a 7 among the 2s)."""
    from infogan.data import load_dataset

    test = load_dataset("mnist", "test", mnist_root)
    by_digit = {d: test.images[test.labels == d] for d in range(10)}

    def draw(n, *, codes, seed):
        digit = (codes["c1"] + 3) % 10
        if codes["c1"] != 9:
            return by_digit[digit][seed : seed + n]
        strays = n // 5
        return torch.cat([by_digit[digit][: n - strays], by_digit[7][:strays]])

    monkeypatch.setattr(vivid_model, "generate", draw)
    report = generated_classes(vivid_model, "mnist", per_class=200, seed=1)
    assert report["feature_net"] == "mnist-v1" and report["samples_per_class"] == 200
    assert np.sum(report["confusion"]) == 2000 and len(report["confusion"]) == 10
    classes = report["classes"]
    assert [classes[str(k)]["label"] for k in range(10)] == [(k + 3) % 10 for k in range(10)]
    assert all(classes[str(k)]["share"] > 0.95 for k in range(9))  # the net reads 98.8% of the test set right
    assert 0.74 < classes["9"]["share"] < 0.81 and classes["9"]["strays_to"]["label"] == 7
    assert 0.18 <= classes["9"]["strays_to"]["share"] < 0.25
    assert 0.93 < report["accuracy"] < 0.98  # nine faithful classes and one at four fifths


def test_generated_classes_of_a_code_g_ignores_are_near_chance(vivid_model, monkeypatch):
    noise = torch.rand(100, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(vivid_model, "generate", lambda n, *, codes, seed: noise[:n])
    report = generated_classes(vivid_model, "mnist", per_class=100)
    assert report["accuracy"] <= 0.2  # one image set for every class: at most one class can match its labels


@pytest.mark.parametrize(("code", "per_class", "message"), [("c2", 10, "continuous"), ("c1", 0, "at least 1")])
def test_generated_classes_refuse_what_they_cannot_read(vivid_model, code, per_class, message):
    with pytest.raises(InfoGANError, match=message):
        generated_classes(vivid_model, "mnist", code, per_class=per_class)
