"""The rate measurements and the run estimate built on them."""

import pytest
import torch

from infogan import throughput
from infogan.config import preset

CPU = torch.device("cpu")


@pytest.mark.parametrize(("steps", "every", "count"), [(5000, 500, 10), (5001, 500, 11), (499, 500, 1), (100, 0, 0)])
def test_evaluations_count_every_interval_and_the_last_step(steps, every, count):
    assert throughput.evaluations(preset("mnist").replace(steps=steps, eval_every=every)) == count


def test_the_estimate_is_steps_times_batch_over_the_rate_plus_reading(monkeypatch):
    monkeypatch.setattr(throughput, "WARMUP_STEPS", 0)
    monkeypatch.setattr(throughput, "MIN_TIMED_STEPS", 2)
    config = preset("mnist").replace(batch_size=4, steps=100, precision="fp32")
    rate = throughput.training_rate(config, CPU, seconds=0)
    assert (rate.steps, rate.batch_size, rate.precision) == (2, 4, "fp32")
    assert rate.images_per_s == pytest.approx(2 * 4 / rate.seconds)
    estimate = throughput.estimate_run(config, rate, encode_per_s=1000.0, evaluated_images=500)
    assert estimate.train_s == pytest.approx(100 * 4 / rate.images_per_s)
    assert estimate.as_dict() == {"train_s": estimate.train_s, "evaluation_s": 0.5, "total_s": estimate.train_s + 0.5}
