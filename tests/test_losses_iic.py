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


def test_balance_weighs_the_marginal_entropy():
    probs = torch.eye(4).repeat(8, 1)  # agreeing, balanced, confident: H(y) = H(y, y') = ln 4
    assert_close(
        paired_cluster_information(probs, probs, balance=2.0), torch.tensor(3 * math.log(4)), atol=1e-5, rtol=0
    )


def test_more_balance_makes_an_oversized_cluster_cost_more():
    balanced = torch.eye(2).repeat(8, 1)  # two clusters of 8
    lopsided = torch.eye(2)[[0] * 12 + [1] * 4]  # 12 in one cluster, 4 in the other, still agreeing
    gaps = [
        paired_cluster_information(balanced, balanced, balance=b)
        - paired_cluster_information(lopsided, lopsided, balance=b)
        for b in (1.0, 2.0)
    ]
    assert 0 < gaps[0] < gaps[1]
