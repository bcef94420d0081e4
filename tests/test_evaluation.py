import numpy as np
import pytest
import torch
from torch.testing import assert_close

from infogan import InfoGAN, ModelConfig
from infogan.errors import InfoGANError
from infogan.evaluation import check_factor_model, q_encoder
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
