"""A categorical code scored as an unsupervised classifier: Hungarian-matched accuracy, NMI,
and the confusion matrix. Labels score a model; they never train or select one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score


@dataclass(frozen=True)
class ClusteringScore:
    """How well predicted clusters match labels."""

    accuracy: float  # after the best one-to-one matching of clusters to labels
    nmi: float
    confusion: np.ndarray  # (n_labels, n_clusters): rows true labels, columns clusters
    mapping: dict[int, int]  # cluster -> label chosen by the matching

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "accuracy": self.accuracy,
            "nmi": self.nmi,
            "mapping": {str(k): v for k, v in self.mapping.items()},
            "confusion": self.confusion.tolist(),
        }


def confusion_matrix(labels: np.ndarray, clusters: np.ndarray, n_labels: int, n_clusters: int) -> np.ndarray:
    """Counts (n_labels, n_clusters) of each (label, cluster) pair."""
    matrix = np.zeros((n_labels, n_clusters), dtype=np.int64)
    np.add.at(matrix, (labels, clusters), 1)
    return matrix


def hungarian_mapping(confusion: np.ndarray) -> dict[int, int]:
    """The cluster-to-label assignment that maximises matched counts (Kuhn-Munkres)."""
    label_idx, cluster_idx = linear_sum_assignment(confusion, maximize=True)
    return {int(c): int(label) for label, c in zip(label_idx, cluster_idx, strict=True)}


def score_clustering(labels: np.ndarray, clusters: np.ndarray, n_clusters: int | None = None) -> ClusteringScore:
    """Accuracy after Hungarian matching, NMI and confusion of ``clusters`` against ``labels``.

    Clusters left unmatched (more clusters than labels) count as errors.
    """
    labels, clusters = np.asarray(labels, dtype=np.int64), np.asarray(clusters, dtype=np.int64)
    if labels.shape != clusters.shape or labels.ndim != 1 or labels.size == 0:
        raise ValueError("labels and clusters must be non-empty 1-D arrays of equal length")
    n_labels = int(labels.max()) + 1
    n_clusters = max(n_clusters or 0, int(clusters.max()) + 1)
    confusion = confusion_matrix(labels, clusters, n_labels, n_clusters)
    mapping = hungarian_mapping(confusion)
    nmi = normalized_mutual_info_score(labels, clusters)
    return ClusteringScore(matched_accuracy(confusion, mapping), float(nmi), confusion, mapping)


def matched_accuracy(confusion: np.ndarray, mapping: dict[int, int]) -> float:
    """The share of all counts that ``mapping`` (cluster -> label) puts on their own label."""
    matched = sum(confusion[label, cluster] for cluster, label in mapping.items())
    return float(matched / confusion.sum())


def confused_pairs(confusion: np.ndarray, threshold: float = 0.2) -> list[tuple[int, int, float]]:
    """Label pairs whose images the clusters do not tell apart: (a, b, overlap), largest first.

    The overlap of labels a and b is Σ_k min(p(k|a), p(k|b)) over clusters k: 1 when both
    labels spread over the clusters alike (two digits merged, or shared by a style split), 0
    when no cluster holds both. Pairs at or above ``threshold`` are listed.
    """
    rows = np.asarray(confusion, dtype=np.float64)
    spread = rows / np.maximum(rows.sum(1, keepdims=True), 1)
    pairs = [
        (a, b, float(np.minimum(spread[a], spread[b]).sum()))
        for a in range(len(spread))
        for b in range(a + 1, len(spread))
    ]
    return sorted((p for p in pairs if p[2] >= threshold), key=lambda p: -p[2])


@dataclass(frozen=True)
class Stray:
    """The label that its matched cluster holds least: where a run errs most."""

    label: int
    held: float  # share of the label's images in the cluster matched to it
    strays_to: int | None  # the label matched to the cluster that takes most of the rest (None: unmatched)


def matched_shares(confusion: np.ndarray) -> np.ndarray:
    """Each label's share (n_labels,) of its images in its Hungarian-matched cluster (0 when unmatched).

    Confusion rows are true labels, columns clusters, matched as in :func:`score_clustering`, so
    the shares are the per-label accuracies behind its accuracy.
    """
    rows = np.asarray(confusion, dtype=np.float64)
    cluster_of = {label: cluster for cluster, label in hungarian_mapping(rows).items()}
    held = np.array([rows[label, cluster_of[label]] if label in cluster_of else 0.0 for label in range(len(rows))])
    return held / np.maximum(rows.sum(1), 1)


def weakest_label(confusion: np.ndarray) -> Stray:
    """The label with the smallest share in its Hungarian-matched cluster, and where most of the rest go."""
    rows = np.asarray(confusion, dtype=np.float64)
    cluster_of = {label: cluster for cluster, label in hungarian_mapping(rows).items()}
    held = matched_shares(rows)
    label = int(held.argmin())
    strays = rows[label].copy()
    if label in cluster_of:
        strays[cluster_of[label]] = -1
    target = {cluster: matched for matched, cluster in cluster_of.items()}.get(int(strays.argmax()))
    return Stray(label, float(held[label]), target)
