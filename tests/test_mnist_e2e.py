"""Brief training on the real MNIST files: learning must happen, and λ must matter."""

import math

import pytest
import torch

from infogan.config import preset
from infogan.data import load_dataset
from infogan.evaluation import categorical_score
from infogan.run import read_metrics
from infogan.training import Trainer

pytestmark = pytest.mark.slow
STEPS = 400


@pytest.fixture(scope="module")
def mnist(mnist_root):
    return load_dataset("mnist", "train", mnist_root), load_dataset("mnist", "test", mnist_root)


def _train(mnist, run_dir, **changes):
    train, _ = mnist
    config = preset("mnist").replace(
        steps=STEPS, batch_size=64, log_every=50, eval_every=0, sample_every=STEPS, checkpoint_every=STEPS, **changes
    )
    trainer = Trainer(config, run_dir, train, device=torch.device("cpu"), progress=False, tensorboard=False)
    trainer.fit()
    return trainer


def _final_mi(run_dir, code="c1"):
    return [r[f"mi/{code}"] for r in read_metrics(run_dir) if f"mi/{code}" in r][-1]


@pytest.fixture(scope="module")
def infogan_run(mnist, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("e2e") / "infogan"
    return _train(mnist, run_dir), run_dir


def test_information_term_approaches_ln10(infogan_run):
    _, run_dir = infogan_run
    assert _final_mi(run_dir) > 0.9 * math.log(10)


def test_categorical_code_classifies_digits_far_above_chance(infogan_run, mnist):
    trainer, _ = infogan_run
    score = categorical_score(trainer.model, mnist[1], "c1")
    assert score.accuracy > 0.45, score.confusion
    assert score.nmi > 0.35


def test_plain_gan_learns_no_code(mnist, tmp_path, infogan_run):
    run_dir = tmp_path / "plain"
    _train(mnist, run_dir, plain_gan=True)
    assert _final_mi(run_dir) < 0.5 * math.log(10) < _final_mi(infogan_run[1])
