"""InfoGAN: interpretable representation learning by information maximizing GANs."""

__version__ = "0.1.0"

from infogan.config import ModelConfig, TrainConfig, preset
from infogan.errors import InfoGANError
from infogan.latent import LatentSpec
from infogan.model import Encoding, InfoGAN

__all__ = ["Encoding", "InfoGAN", "InfoGANError", "LatentSpec", "ModelConfig", "TrainConfig", "preset"]
