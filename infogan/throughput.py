"""How fast this machine trains and encodes with a preset's networks, and how long a whole run takes.

The training rate is the real :class:`~infogan.training.Trainer`'s step on random images of the
preset's shape (throughput does not depend on pixel values), timed after a warm-up.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from infogan.config import TrainConfig
from infogan.data import ImageDataset
from infogan.model import InfoGAN

WARMUP_STEPS = 2  # the first steps allocate buffers and pick kernels
MIN_TIMED_STEPS = 3
ENCODE_IMAGES = 2048


@dataclass(frozen=True)
class TrainingRate:
    """Images per second of training steps, from ``steps`` steps timed over ``seconds``."""

    images_per_s: float
    steps: int
    seconds: float
    batch_size: int
    precision: str


@dataclass(frozen=True)
class RunEstimate:
    """Wall seconds of a whole run: its training steps, and the evaluations in and after it."""

    train_s: float
    evaluation_s: float

    @property
    def total_s(self) -> float:
        """Training plus evaluation."""
        return self.train_s + self.evaluation_s

    def as_dict(self) -> dict[str, float]:
        """A JSON-ready form, with the total."""
        return asdict(self) | {"total_s": self.total_s}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_images(config: TrainConfig, count: int) -> ImageDataset:
    """``count`` uint8 images of random pixels, shaped for ``config``'s networks."""
    shape = (count, *config.model.network.image_shape)
    return ImageDataset(torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))


def training_rate(config: TrainConfig, device: torch.device, *, seconds: float) -> TrainingRate:
    """Images/s of ``config``'s training step on ``device``, timed for about ``seconds`` after a warm-up."""
    from infogan.training import Trainer  # the trainer imports most of the package

    data = random_images(config, 2 * config.batch_size)
    with tempfile.TemporaryDirectory() as run_dir:  # the trainer's run directory, never written to here
        trainer = Trainer(
            config.replace(eval_every=0), Path(run_dir), data, device=device, progress=False, tensorboard=False
        )
        for step in range(WARMUP_STEPS):
            trainer.train_step(trainer.real_batch(step))
        _synchronize(device)
        steps, started = 0, time.perf_counter()
        while steps < MIN_TIMED_STEPS or time.perf_counter() - started < seconds:
            trainer.train_step(trainer.real_batch(WARMUP_STEPS + steps))
            steps += 1
            _synchronize(device)
        elapsed = time.perf_counter() - started
    rate = steps * config.batch_size / elapsed
    return TrainingRate(rate, steps, elapsed, config.batch_size, trainer.precision.precision)


def encoding_rate(config: TrainConfig, device: torch.device) -> float:
    """Images/s of Q's reading of images (what evaluation mostly does) with ``config``'s networks."""
    model = InfoGAN(config.model, device=device)
    images = random_images(config, ENCODE_IMAGES).images
    model.encode(images[:64])  # warm-up
    _synchronize(device)
    started = time.perf_counter()
    model.encode(images)
    _synchronize(device)
    return ENCODE_IMAGES / (time.perf_counter() - started)


def evaluations(config: TrainConfig) -> int:
    """How many times a run of ``config`` evaluates (every ``eval_every`` steps and at the last)."""
    if not config.eval_every:
        return 0
    return config.steps // config.eval_every + (config.steps % config.eval_every > 0)


def estimate_run(config: TrainConfig, train: TrainingRate, encode_per_s: float, evaluated_images: int) -> RunEstimate:
    """Seconds for ``config.steps`` steps at ``train``'s rate, plus ``evaluated_images`` read by Q."""
    return RunEstimate(config.steps * config.batch_size / train.images_per_s, evaluated_images / encode_per_s)
