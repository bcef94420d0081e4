"""Scoring a model on labelled data: its categorical code as a classifier, and L_I."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from infogan.data import ImageDataset
from infogan.errors import InfoGANError
from infogan.metrics.clustering import ClusteringScore, score_clustering
from infogan.model import InfoGAN


def categorical_score(model: InfoGAN, dataset: ImageDataset, code: str = "c1") -> ClusteringScore:
    """Hungarian-matched accuracy, NMI and confusion of ``code``'s argmax against the labels."""
    target = model.spec.code(code)
    if target.kind != "categorical":
        raise InfoGANError(f"{code} is continuous; classification needs a categorical code")
    if dataset.labels is None:
        raise InfoGANError("this dataset has no labels to score against")
    clusters = model.encode(dataset.images).categories(code)
    return score_clustering(dataset.labels.cpu().numpy(), clusters.numpy(), target.num_classes)


def real_data_information(model: InfoGAN, images: Tensor, code: str = "c1") -> float:
    """Q's mutual information between real images and a categorical code, in nats, no labels used.

    H(E_x[p(c|x)]) - E_x[H(p(c|x))]: high when Q spreads the images evenly over the classes
    and is confident about each one (at most ln k). A label-free way to compare checkpoints
    or runs (Krause et al., 2010, call it regularized information maximization).
    """
    probs = model.encode(images).probabilities[code].double().clamp_min(1e-12)
    marginal = probs.mean(0)
    conditional_entropy = -(probs * probs.log()).sum(1).mean()
    return float(-(marginal * marginal.log()).sum() - conditional_entropy)


def evaluate(model: InfoGAN, dataset: ImageDataset, *, samples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Every categorical code scored against the labels, plus L_I per code on fresh samples."""
    report: dict[str, Any] = {"images": len(dataset)}
    for code in model.spec.codes:
        if code.kind == "categorical" and dataset.labels is not None:
            report[code.name] = categorical_score(model, dataset, code.name).as_dict()
    bounds = model.information_bounds(samples, seed=seed)
    report["mutual_information"] = {
        name: {"lower_bound_nats": value, "entropy_nats": model.spec.entropy(model.spec.code(name))}
        for name, value in bounds.items()
    }
    return report
