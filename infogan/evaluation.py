"""Scoring a model on labelled data: its categorical code as a classifier, and L_I; its samples
against real images (FID and KID on a small classifier's features) and the labels that classifier
gives G's samples of each class; and on a dataset with known
generative factors: the disentanglement metrics of Q's reading."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infogan.data import ImageDataset, load_dataset
from infogan.errors import InfoGANError
from infogan.feature_net import feature_net_name, features, load_feature_net, predicted_labels
from infogan.latent import LatentBatch
from infogan.metrics.clustering import (
    ClusteringScore,
    confusion_matrix,
    hungarian_mapping,
    matched_accuracy,
    score_clustering,
)
from infogan.metrics.disentanglement import Encoder, FactorDataset, all_disentanglement_metrics
from infogan.metrics.frechet import frechet_distance, kernel_distance
from infogan.model import InfoGAN

FACTOR_IMAGE_SHAPE = (1, 64, 64)  # dSprites' images, the only factor dataset so far


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
        name: {
            "lower_bound_nats": value,
            "entropy_nats": model.spec.entropy(model.spec.code(name), model.nets.category_prior),
        }
        for name, value in bounds.items()
    }
    return report


def sample_quality(
    model: InfoGAN, dataset: str, *, real: ImageDataset | None = None, n: int = 10_000, seed: int = 0
) -> dict[str, Any]:
    """FID and KID between ``n`` generated images and up to ``n`` real ones, on ``dataset``'s feature net.

    Lower is better; 0 is indistinguishable. The features are the penultimate layer of a small
    classifier trained on the dataset's labels (:mod:`infogan.feature_net`), the only place
    labels train anything. ``real`` defaults to the dataset's test split.
    """
    if n < 2:
        raise InfoGANError(f"sample quality needs at least 2 images a side, got {n}")
    net = load_feature_net(dataset)
    real = (real if real is not None else load_dataset(dataset, "test")).subset(n, seed=seed)
    real_features = features(net, real.images)
    fake_features = features(net, generated(model, n, seed=seed))
    kid, kid_std = kernel_distance(real_features, fake_features, seed=seed)
    return {
        "fid": frechet_distance(real_features, fake_features),
        "kid": kid,
        "kid_std": kid_std,
        "feature_net": feature_net_name(dataset),
        "samples": n,
        "real_images": len(real),
    }


def generated_classes(
    model: InfoGAN, dataset: str, code: str = "c1", *, per_class: int = 1_000, seed: int = 0
) -> dict[str, Any]:
    """What G draws for each class of a categorical code, as ``dataset``'s feature net reads it.

    The other side of :func:`categorical_score`: there Q sorts real images, here G's samples of
    class k should all be the label matched to k. Where G draws one digit under another's class,
    L_I teaches Q to misread it; this tells that error from one G has no part in.
    ``accuracy`` is the Hungarian-matched share of samples whose label the net gives is their
    class's; per class, its label, share and the label it strays to most. Labels train the
    feature net only (:mod:`infogan.feature_net`).
    """
    target = model.spec.code(code)
    if target.kind != "categorical":
        raise InfoGANError(f"{code} is continuous; generated classes need a categorical code")
    if per_class < 1:
        raise InfoGANError(f"generated classes need at least 1 sample per class, got {per_class}")
    net = load_feature_net(dataset)
    classes = range(target.num_classes)
    drawn = np.concatenate(
        [predicted_labels(net, model.generate(per_class, codes={code: k}, seed=seed + k)) for k in classes]
    )
    drawn_class = np.repeat(np.arange(target.num_classes), per_class)
    confusion = confusion_matrix(drawn, drawn_class, net.head.out_features, target.num_classes)
    label_of = hungarian_mapping(confusion)  # class -> label; rows labels, columns classes
    return {
        "accuracy": matched_accuracy(confusion, label_of),
        "feature_net": feature_net_name(dataset),
        "samples_per_class": per_class,
        "classes": {str(k): _drawn_labels(confusion[:, k], label_of.get(k)) for k in classes},
        "confusion": confusion.tolist(),
    }


def _drawn_labels(counts: np.ndarray, label: int | None) -> dict[str, Any]:
    """One class's matched label (None when unmatched), its share, and the label drawn most besides."""
    shares = counts / counts.sum()
    others = shares.copy()
    if label is not None:
        others[label] = -1
    other = int(others.argmax())
    return {
        "label": label,
        "share": float(shares[label]) if label is not None else 0.0,
        "strays_to": {"label": other, "share": float(shares[other])},
    }


def generated(model: InfoGAN, n: int, *, seed: int = 0, batch_size: int = 1000) -> Tensor:
    """``n`` images (n, C, H, W) in [0, 1] from one seeded draw of latents, rendered a batch at a time."""
    latents, parts = model.sample_latents(n, seed=seed), []
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        parts.append(model.render(LatentBatch(latents.noise[rows], latents.categories[rows], latents.continuous[rows])))
    return torch.cat(parts).cpu()


def q_encoder(model: InfoGAN) -> Encoder:
    """Q as a representation (N, d) of images: each code in order, continuous ones by Q's mean,
    categorical ones by Q's class probabilities (disentanglement_lib's reading of an InfoGAN)."""

    def encode(images: np.ndarray) -> np.ndarray:
        reading = model.encode(images)
        parts = [
            reading.probabilities[c.name] if c.kind == "categorical" else reading.means[c.name][:, None]
            for c in model.spec.codes
        ]
        return torch.cat(parts, dim=1).double().numpy()

    return encode


def check_factor_model(model: InfoGAN) -> None:
    """Refuse, in one line, a model whose images or codes the disentanglement metrics cannot use."""
    if tuple(model.image_shape) != FACTOR_IMAGE_SHAPE:
        shape = "×".join(map(str, model.image_shape))
        raise InfoGANError(f"the disentanglement metrics read 1×64×64 sprites; this model makes {shape} images")
    if sum(c.num_classes or 1 for c in model.spec.codes) < 2:
        raise InfoGANError("the disentanglement metrics need a reading of at least 2 dimensions: give the model codes")


def disentanglement(
    model: InfoGAN,
    dataset: FactorDataset,
    *,
    seed: int = 0,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    batch_size: int = 64,
    metrics: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The disentanglement metrics of Q's reading against the dataset's factors: by default every
    registered one (BetaVAE, FactorVAE, MIG, DCI and SAP), else the families in ``metrics``.

    Sample sizes default to disentanglement_lib's (:func:`all_disentanglement_metrics`).
    """
    check_factor_model(model)
    started = time.perf_counter()
    scores = all_disentanglement_metrics(
        q_encoder(model), dataset, seed, num_train=num_train, num_eval=num_eval, batch_size=batch_size, metrics=metrics
    )
    settings = {"seed": seed, "num_train": num_train, "num_eval": num_eval, "batch_size": batch_size}
    return {"scores": scores, "settings": settings, "seconds": round(time.perf_counter() - started, 1)}
