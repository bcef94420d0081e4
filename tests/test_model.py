import math

import pytest
import torch
from torch.testing import assert_close

from infogan import InfoGAN, InfoGANError, LatentSpec, ModelConfig
from infogan.networks import NetworkConfig


@pytest.fixture
def model():
    return InfoGAN(ModelConfig(LatentSpec(categorical=(10,), continuous=2, learn_sigma=True)))


def test_generate_is_seeded_and_respects_codes(model):
    a = model.generate(6, codes={"c1": 3}, seed=5)
    assert a.shape == (6, 1, 28, 28)
    assert_close(a, model.generate(6, codes={"c1": 3}, seed=5))
    assert not torch.equal(a, model.generate(6, codes={"c1": 4}, seed=5))
    with pytest.raises(InfoGANError):
        model.generate(0)


def test_generate_does_not_change_batchnorm_statistics(model):
    before = model.nets.body[3].running_mean.clone()
    model.generate(4)
    model.encode(torch.rand(4, 1, 28, 28))
    assert_close(model.nets.body[3].running_mean, before)


def test_encode_layout(model):
    encoding = model.encode(torch.rand(5, 1, 28, 28), batch_size=2)
    assert encoding.probabilities["c1"].shape == (5, 10)
    assert_close(encoding.probabilities["c1"].sum(1), torch.ones(5))
    assert set(encoding.means) == {"c2", "c3"} and encoding.means["c2"].shape == (5,)
    assert (encoding.sigmas["c3"] > 0).all()
    records = encoding.records()
    assert len(records) == 5 and {"c1", "c1_p9", "c2", "c2_sigma", "c3"} <= set(records[0])
    with pytest.raises(InfoGANError, match="shape"):
        model.encode(torch.rand(5, 3, 28, 28))


def test_traversals(model):
    categorical = model.traversal("c1", steps=7)
    assert categorical.shape == (10, 7, 1, 28, 28)
    continuous = model.traversal("c2", span=(-1, 1), steps=5)
    assert continuous.shape == (10, 5, 1, 28, 28)
    latents = model._continuous_rows("c2", torch.linspace(-1, 1, 5), seed=0)
    assert_close(latents[3].continuous[:, 0], torch.linspace(-1, 1, 5))
    assert (latents[3].categories[:, 0] == 3).all()
    assert_close(latents[3].continuous[:, 1], torch.zeros(5))
    assert_close(latents[0].noise, latents[9].noise)  # noise held fixed across the figure


def test_traversal_without_categorical_code():
    model = InfoGAN(ModelConfig(LatentSpec(categorical=(), continuous=1)))
    assert model.traversal("c1", steps=3).shape == (8, 3, 1, 28, 28)


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = InfoGAN.load(path, device="cpu")
    assert loaded.config == model.config
    assert_close(loaded.generate(3, seed=1), model.generate(3, seed=1))


def test_load_refuses_mismatched_weights(model, tmp_path):
    path = tmp_path / "m.safetensors"
    model.save(path)
    from infogan import checkpoint

    tensors, meta = checkpoint.read(path)
    meta["model_config"]["latent"]["categorical"] = [5]  # claims another layout
    checkpoint.write(path, tensors, meta)
    with pytest.raises(InfoGANError, match="does not match"):
        InfoGAN.load(path)


def test_information_bounds_are_below_entropy(model):
    bounds = model.information_bounds(64)
    assert set(bounds) == {"c1", "c2", "c3"}
    assert bounds["c1"] <= model.spec.entropy(model.spec.code("c1"))


def test_separate_q_model_encodes():
    model = InfoGAN(ModelConfig(network=NetworkConfig(q_shares_body=False)))
    assert model.encode(torch.rand(2, 1, 28, 28)).probabilities["c1"].shape == (2, 10)


def test_unknown_device():
    from infogan.model import resolve_device

    with pytest.raises(InfoGANError):
        resolve_device("tpu")
    assert resolve_device("cpu").type == "cpu"


def test_other_architectures_rebuild_from_the_checkpoint(tmp_path):
    config = ModelConfig(LatentSpec(categorical=(5,), continuous=1), NetworkConfig("dcgan", image_size=32, channels=1))
    InfoGAN(config).save(tmp_path / "d.safetensors")
    loaded = InfoGAN.load(tmp_path / "d.safetensors", device="cpu")
    assert loaded.config == config and loaded.image_shape == (1, 32, 32)
    assert loaded.generate(2, seed=0).shape == (2, 1, 32, 32)


def test_encode_reads_uint8_tensors_and_memory_maps_as_their_floats(model, tmp_path):
    import numpy as np

    pixels = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    np.save(tmp_path / "p.npy", pixels.numpy())
    expected = model.encode(pixels.float() / 255).probabilities["c1"]
    assert_close(model.encode(pixels).probabilities["c1"], expected)
    assert_close(model.encode(np.load(tmp_path / "p.npy", mmap_mode="r"), batch_size=2).probabilities["c1"], expected)


def test_a_crafted_header_is_refused_before_a_model_of_its_sizes_is_built(model, tmp_path, monkeypatch):
    from infogan import checkpoint

    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors, meta = checkpoint.read(path)
    meta["model_config"]["latent"]["noise_dim"] = 1_000_000  # G's first layer would be 1024 × 1,000,012 floats
    checkpoint.write(path, tensors, meta)

    def build(*args, **kwargs):
        raise AssertionError("a model was built at the header's sizes before they were checked")

    monkeypatch.setattr(InfoGAN, "__init__", build)
    with pytest.raises(
        InfoGANError, match=r"does not match its configuration: .* is F32 \[.*\], .* needs F32 \[.*1000"
    ):
        InfoGAN.load(path, device="cpu")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.half(), "is F16"),
        (lambda t: t.bool(), "is BOOL"),
        (lambda t: torch.full_like(t, float("nan")), "holds NaN or infinite values"),
        (lambda t: torch.full_like(t, float("inf")), "holds NaN or infinite values"),
    ],
)
def test_weights_of_another_dtype_or_not_finite_are_refused(model, tmp_path, change, message):
    from infogan import checkpoint

    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors, meta = checkpoint.read(path)
    tensors["model.generator.0.weight"] = change(tensors["model.generator.0.weight"])
    checkpoint.write(path, tensors, meta)
    with pytest.raises(InfoGANError, match=message):
        InfoGAN.load(path, device="cpu")
    with pytest.raises(InfoGANError, match=message.replace("F16", "torch.float16").replace("BOOL", "torch.bool")):
        model.load_weights(checkpoint.strip_prefix("model.", tensors))  # the API's own check, past the header's


@pytest.mark.parametrize("name", ["meta", "xla", "cpuu"])
def test_devices_nothing_here_runs_on_are_refused(name):
    from infogan.model import resolve_device

    with pytest.raises(InfoGANError, match=f"unknown device '{name}'"):
        resolve_device(name)


@pytest.mark.parametrize(("codes", "span"), [({"c2": 1e308}, None), ({}, (-1e300, 2.0)), ({"c2": math.nan}, None)])
def test_code_values_beyond_float32s_range_are_refused(model, codes, span):
    with pytest.raises(InfoGANError, match="c2 must be a finite number within"):
        if span is None:
            model.generate(2, codes=codes, seed=0)
        else:
            model.traversal("c2", span=span, steps=3)
