import numpy as np
import pytest
from torch.testing import assert_close

from infogan.metrics.clustering import confusion_matrix, hungarian_mapping, score_clustering


def test_permuted_perfect_clustering_scores_one():
    labels = np.repeat(np.arange(10), 20)
    clusters = (labels * 3 + 1) % 10
    score = score_clustering(labels, clusters)
    assert score.accuracy == 1.0
    assert score.nmi == pytest.approx(1.0)
    assert score.mapping == {(k * 3 + 1) % 10: k for k in range(10)}


def test_known_partial_answer():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    clusters = np.array([1, 1, 0, 0, 0, 0, 2, 1])
    score = score_clustering(labels, clusters)
    # best matching: cluster 1->0 (2), cluster 0->1 (3), cluster 2->2 (1) = 6 of 8
    assert score.accuracy == pytest.approx(6 / 8)
    assert_close(score.confusion, np.array([[1, 2, 0], [3, 0, 0], [0, 1, 1]]))


def test_merged_classes_cap_accuracy():
    labels = np.repeat(np.arange(4), 25)
    clusters = np.where(labels == 3, 2, labels)  # digit 3 merged into cluster 2
    assert score_clustering(labels, clusters, n_clusters=4).accuracy == pytest.approx(0.75)


def test_random_clusters_near_chance():
    rng = np.random.default_rng(0)
    labels, clusters = rng.integers(0, 10, 20000), rng.integers(0, 10, 20000)
    score = score_clustering(labels, clusters)
    assert 0.1 <= score.accuracy < 0.13
    assert score.nmi < 0.01


def test_confusion_and_mapping_helpers():
    matrix = confusion_matrix(np.array([0, 1, 1]), np.array([1, 0, 0]), 2, 2)
    assert_close(matrix, np.array([[0, 1], [2, 0]]))
    assert hungarian_mapping(matrix) == {1: 0, 0: 1}


def test_bad_shapes():
    with pytest.raises(ValueError):
        score_clustering(np.array([0, 1]), np.array([0]))


def test_confused_pairs_finds_merges_and_style_splits():
    from infogan.metrics.clustering import confused_pairs

    assert confused_pairs(np.eye(4, dtype=int) * 50) == []
    merged = np.eye(4, dtype=int) * 50
    merged[3] = [0, 0, 50, 0]  # label 3 lands in label 2's cluster
    assert confused_pairs(merged) == [(2, 3, 1.0)]
    split = np.array([[30, 20, 0], [25, 25, 0], [0, 0, 50]])  # 0 and 1 share two clusters
    (pair,) = confused_pairs(split)
    assert pair[:2] == (0, 1) and pair[2] == pytest.approx(0.9)


def test_weakest_label_names_the_least_held_label_and_where_it_strays():
    from infogan.metrics.clustering import weakest_label

    confusion = np.array([[48, 2, 0], [0, 45, 5], [0, 0, 50]])  # columns: clusters of 0, 1, 2
    confusion = confusion[:, [2, 0, 1]]  # clusters in another order than the labels
    stray = weakest_label(confusion)
    assert (stray.label, stray.strays_to) == (1, 2) and stray.held == pytest.approx(0.9)
    # 0 splits over its cluster and 1's, and is the larger part of 1's: the matching names that cluster 1's
    split = np.array([[30, 25, 0], [10, 20, 0], [0, 0, 50]])
    assert weakest_label(split) == weakest_label(split[:, [1, 2, 0]])
    stray = weakest_label(split)
    assert (stray.label, stray.strays_to) == (0, 1) and stray.held == pytest.approx(30 / 55)


def test_matched_shares_are_each_labels_accuracy_in_its_matched_cluster():
    from infogan.metrics.clustering import matched_shares

    confusion = np.array([[48, 2, 0], [0, 45, 5], [0, 0, 50]])[:, [2, 0, 1]]
    np.testing.assert_allclose(matched_shares(confusion), [0.96, 0.9, 1.0])
    # four labels, three clusters: the label left without a cluster holds 0
    np.testing.assert_allclose(matched_shares(np.array([[9, 1, 0], [0, 10, 0], [0, 0, 10], [5, 0, 5]])), [0.9, 1, 1, 0])


def test_real_data_information_known_answers():
    import math
    from types import SimpleNamespace

    import torch

    from infogan.evaluation import real_data_information

    def model_reading(probs):
        return SimpleNamespace(encode=lambda images: SimpleNamespace(probabilities={"c1": probs}))

    confident_even = torch.eye(4).repeat(5, 1)  # every image sure of its class, classes balanced
    assert real_data_information(model_reading(confident_even), None) == pytest.approx(math.log(4), abs=1e-6)
    collapsed = torch.tensor([[1.0, 0, 0, 0]]).repeat(20, 1)  # one class for every image
    assert real_data_information(model_reading(collapsed), None) == pytest.approx(0.0, abs=1e-6)
    unsure = torch.full((20, 4), 0.25)  # even marginal but no confidence
    assert real_data_information(model_reading(unsure), None) == pytest.approx(0.0, abs=1e-6)
