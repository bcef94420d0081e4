"""IIC's paired cluster information: known answers."""

import math

import torch
from torch.testing import assert_close

from infogan.losses import paired_cluster_information


def test_agreeing_balanced_views_reach_log_k():
    probs = torch.eye(4).repeat(8, 1)  # 32 images, each class 8 times, confident
    assert_close(paired_cluster_information(probs, probs), torch.tensor(math.log(4)), atol=1e-5, rtol=0)


def test_independent_views_carry_no_information():
    uniform = torch.full((16, 5), 0.2)
    assert_close(paired_cluster_information(uniform, uniform), torch.tensor(0.0), atol=1e-6, rtol=0)


def test_collapse_into_one_class_carries_no_information():
    one_class = torch.zeros(10, 3)
    one_class[:, 0] = 1
    assert paired_cluster_information(one_class, one_class).abs() < 1e-5


def test_disagreeing_views_score_below_agreeing_ones():
    probs = torch.eye(3).repeat(4, 1)
    shuffled = probs.roll(1, dims=1)  # the copy always lands in the next class
    agree = paired_cluster_information(probs, probs)
    # symmetrising the joint spreads each row over two cells: ln 1.5 instead of ln 3
    assert_close(paired_cluster_information(probs, shuffled), torch.tensor(math.log(1.5)), atol=1e-5, rtol=0)
    assert paired_cluster_information(probs, shuffled) < agree - 0.3
