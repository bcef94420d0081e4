"""A small digit (or garment) classifier whose penultimate layer gives the features that FID
and KID compare (:mod:`infogan.metrics.frechet`).

The labels of the training split train this network and nothing else: no InfoGAN is trained,
selected or tuned with it. It is trained once, deterministically (fixed seed, fp32, the CPU,
one thread), and shipped as a versioned safetensors file inside the package; its header
records the version, dataset, training recipe and test accuracy. Retrain it with

    python -m infogan.feature_net --retrain mnist --data-root ../shared/data

which rewrites ``infogan/assets/features-mnist-v1.safetensors`` (``--out`` writes elsewhere
and says whether the weights match the shipped file bit for bit).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from infogan.data import ImageDataset, as_float, load_dataset, to_tensor
from infogan.errors import InfoGANError

VERSION = 1  # bump when the architecture or the recipe changes; old files are then refused
FORMAT = "infogan-feature-net"
IMAGE_SHAPE = (1, 28, 28)
FEATURE_DIM = 128
NUM_CLASSES = 10  # both datasets have ten
DATASETS = ("mnist", "fashion-mnist")  # the 1×28×28 datasets with labels to train on
ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Recipe:
    """How a feature net is trained: Adam on the training split, in a seeded order."""

    seed: int = 0
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    threads: int = 1  # a thread count changes the order of CPU reductions, hence the weights


class FeatureNet(nn.Module):
    """Two 3×3 conv layers and a 128-unit layer (the features), then a linear 10-way classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.MaxPool2d(2), nn.Flatten(),  # (B, 576): 3×3 keeps the FC layer, and the file, small
        )  # fmt: skip
        self.fc = nn.Linear(64 * 3 * 3, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def features(self, images: Tensor) -> Tensor:
        """The penultimate layer's pre-activations (B, 128) of images (B, 1, 28, 28) in [0, 1].

        Before the ReLU, because about a third of the units end up never firing: after it they
        would be constant zeros and make the feature covariance singular.
        """
        return self.fc(self.body(images))

    def forward(self, images: Tensor) -> Tensor:
        """Class logits (B, 10)."""
        return self.head(torch.relu(self.features(images)))


def asset_path(dataset: str) -> Path:
    """Where the shipped feature net of a dataset lives."""
    return ASSETS / f"features-{dataset}-v{VERSION}.safetensors"


def feature_net_name(dataset: str) -> str:
    """``mnist-v1``: the dataset and version that a quality score was computed with."""
    return f"{dataset}-v{VERSION}"


def has_feature_net(dataset: str, image_shape: tuple[int, ...]) -> bool:
    """Whether a feature net exists for images of this dataset and shape."""
    return dataset in DATASETS and tuple(image_shape) == IMAGE_SHAPE


# ----- training ------------------------------------------------------------------------------
def train_feature_net(train: ImageDataset, recipe: Recipe = Recipe(), *, max_steps: int | None = None) -> FeatureNet:
    """A feature net trained on labelled images by ``recipe``; bit-identical on one machine and torch build.

    Args:
        max_steps: stop after this many steps (tests); None trains every epoch of the recipe.
    """
    if train.labels is None:
        raise InfoGANError("a feature net trains on labelled images; this dataset has none")
    images, labels = to_tensor(train.images), train.labels.long().cpu()
    with _thread_count(recipe.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        net = FeatureNet()
        optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr)
        for batch in itertools.islice(_batch_order(len(images), recipe), max_steps):
            loss = nn.functional.cross_entropy(net(as_float(images[batch])), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval()


def _batch_order(n: int, recipe: Recipe) -> Iterator[Tensor]:
    """The indices of every batch of every epoch, shuffled by a generator of their own."""
    order = torch.Generator().manual_seed(recipe.seed)
    for _ in range(recipe.epochs):
        yield from torch.randperm(n, generator=order).split(recipe.batch_size)


def accuracy(net: FeatureNet, data: ImageDataset) -> float:
    """The share of labelled images that the net classifies correctly."""
    return float((predicted_labels(net, data.images) == data.labels.cpu().numpy()).mean())


@contextlib.contextmanager
def _thread_count(threads: int) -> Iterator[None]:
    """Train with a fixed thread count, then give the process its own back."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _chunks(images: Tensor, size: int = 1000) -> Iterator[Tensor]:
    return (images[start : start + size] for start in range(0, len(images), size))


# ----- the file ------------------------------------------------------------------------------
def save_feature_net(net: FeatureNet, path: Path, *, dataset: str, recipe: Recipe, test_accuracy: float) -> None:
    """Write the weights with a header naming the version, dataset, recipe and test accuracy."""
    header = {
        "format": FORMAT,
        "version": str(VERSION),
        "dataset": dataset,
        "image_shape": json.dumps(list(IMAGE_SHAPE)),
        "feature_dim": str(FEATURE_DIM),
        "recipe": json.dumps(asdict(recipe) | {"split": "train", "optimizer": "adam", "precision": "fp32"}),
        "test_accuracy": f"{test_accuracy:.4f}",
        "torch": torch.__version__.split("+")[0],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(path), metadata=header)


def read_feature_net(path: Path, dataset: str) -> tuple[FeatureNet, dict[str, str]]:
    """The net in ``path`` and its header; a file of another version, dataset or shape is refused in one line."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise InfoGANError(f"no feature net at {path}: {_retrain_hint(dataset)}") from None
    except Exception as err:  # safetensors raises several types for a truncated or foreign file
        raise InfoGANError(f"{path} is not a feature net file ({type(err).__name__})") from None
    _check_header(header, path, dataset)
    net = FeatureNet()
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if {k: tuple(v.shape) for k, v in tensors.items()} != expected:
        raise InfoGANError(f"{path}: its tensors do not fit feature net v{VERSION}: {_retrain_hint(dataset)}")
    net.load_state_dict(tensors)
    return net.eval(), header


def _check_header(header: dict[str, str], path: Path, dataset: str) -> None:
    if header.get("format") != FORMAT:
        raise InfoGANError(f"{path} is not a feature net file")
    if (found := header.get("version")) != str(VERSION):
        hint = _retrain_hint(dataset)
        raise InfoGANError(f"{path} holds feature net v{found}, this infogan reads v{VERSION}: {hint}")
    if header.get("dataset") != dataset:
        raise InfoGANError(f"{path} was trained on {header.get('dataset')}, not {dataset}")
    if header.get("image_shape") != json.dumps(list(IMAGE_SHAPE)) or header.get("feature_dim") != str(FEATURE_DIM):
        raise InfoGANError(f"{path}: image shape or feature size is not v{VERSION}'s: {_retrain_hint(dataset)}")


def _retrain_hint(dataset: str) -> str:
    return f"retrain it with python -m infogan.feature_net --retrain {dataset}"


@functools.cache
def load_feature_net(dataset: str) -> FeatureNet:
    """The shipped feature net of a dataset (read once per process)."""
    if dataset not in DATASETS:
        raise InfoGANError(f"no feature net for {dataset}: there are nets for {', '.join(DATASETS)} (1×28×28)")
    return read_feature_net(asset_path(dataset), dataset)[0]


def features(net: FeatureNet, images: Tensor | np.ndarray) -> np.ndarray:
    """Penultimate features (N, 128) in float64 of images (N, 1, 28, 28): floats in [0, 1] or uint8."""
    return _read_in_chunks(net.features, images).double().numpy()


def predicted_labels(net: FeatureNet, images: Tensor | np.ndarray) -> np.ndarray:
    """The net's class (N,) for images (N, 1, 28, 28): how a labelled reader sees generated images."""
    return _read_in_chunks(lambda chunk: net(chunk).argmax(1), images).numpy()


def _read_in_chunks(read: Callable[[Tensor], Tensor], images: Tensor | np.ndarray) -> Tensor:
    """``read`` of images (N, 1, 28, 28), floats in [0, 1] or uint8, a chunk at a time on the CPU."""
    if tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise InfoGANError(f"the feature net reads 1×28×28 images, got {tuple(images.shape[1:])}")
    with torch.inference_mode():
        return torch.cat([read(as_float(chunk).cpu()) for chunk in _chunks(to_tensor(images))])


# ----- retraining from the command line ------------------------------------------------------
def retrain(dataset: str, root: str | None, out: Path, recipe: Recipe = Recipe()) -> dict[str, object]:
    """Train the dataset's feature net from its files, write it to ``out``, and report how it went."""
    if dataset not in DATASETS:
        raise InfoGANError(f"feature nets train on {', '.join(DATASETS)}, not {dataset}")
    train, test = (load_dataset(dataset, split, root) for split in ("train", "test"))
    wall, cpu = time.perf_counter(), time.process_time()
    net = train_feature_net(train, recipe)
    seconds = {"train_s": round(time.perf_counter() - wall), "train_cpu_s": round(time.process_time() - cpu)}
    test_accuracy = accuracy(net, test)
    save_feature_net(net, out, dataset=dataset, recipe=recipe, test_accuracy=test_accuracy)
    report: dict[str, object] = {"file": str(out), "test_accuracy": round(test_accuracy, 4), **seconds}
    shipped = asset_path(dataset)
    if out.resolve() != shipped and shipped.is_file():
        reference = read_feature_net(shipped, dataset)[0].state_dict()
        report["matches_shipped"] = all(torch.equal(v, reference[k]) for k, v in net.state_dict().items())
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m infogan.feature_net --retrain DATASET``."""
    parser = argparse.ArgumentParser(description="Retrain a feature net for FID and KID (labels train it alone).")
    parser.add_argument("--retrain", required=True, choices=DATASETS, help="the dataset whose net to retrain")
    parser.add_argument("--data-root", help="dataset folder (default: $INFOGAN_DATA_ROOT or ~/.cache/infogan/data)")
    parser.add_argument("--out", type=Path, help="file to write (default: the shipped file in infogan/assets)")
    args = parser.parse_args(argv)
    try:
        report = retrain(args.retrain, args.data_root, args.out or asset_path(args.retrain))
    except InfoGANError as err:
        print(f"infogan: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
