"""How often naming a categorical code's classes from k labelled examples per class gives the
names that the full-label Hungarian matching gives.

For each run, Q reads MNIST's test set and the Hungarian match of c1's classes to the ten
digits over all 10,000 labelled images is the reference. Then, ``--draws`` times for each k,
k training images of each digit are drawn at random, and the digits are matched to classes
from those 10·k examples alone, by the match ``infogan name --examples`` uses
(``naming.match_names``). Reported per run and k: the share of draws whose ten names all
equal the reference ("agreement"), and the mean share of classes named as the reference names
them.

    python benchmarks/naming_agreement.py runs/seed0 runs/seed1 --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from infogan import InfoGAN, naming
from infogan.data import load_dataset
from infogan.metrics.clustering import score_clustering


def reference_classes(model: InfoGAN, code: str, images, labels: np.ndarray) -> dict[int, int]:
    """Label -> class by the Hungarian match over every labelled image."""
    clusters = model.encode(images).categories(code).numpy()
    mapping = score_clustering(labels, clusters, model.spec.code(code).num_classes).mapping  # class -> label
    return {label: cluster for cluster, label in mapping.items()}


def few_shot_agreement(
    log_probs: np.ndarray, labels: np.ndarray, reference: dict[int, int], k: int, draws: int, seed: int
) -> dict[str, float]:
    """Agreement of names matched from k random examples per label with the reference, over draws."""
    rng = np.random.default_rng(seed)
    by_label = {label: np.flatnonzero(labels == label) for label in reference}
    exact, shares = [], []
    for _ in range(draws):
        examples = {str(lab): log_probs[rng.choice(idx, size=k, replace=False)] for lab, idx in by_label.items()}
        named = {int(name): cls for name, cls in naming.match_names(examples).items()}
        same = [named[label] == reference[label] for label in reference]
        exact.append(all(same))
        shares.append(np.mean(same))
    return {"k": k, "draws": draws, "agreement": float(np.mean(exact)), "classes_agreeing": float(np.mean(shares))}


def measure_run(run: str, args: argparse.Namespace) -> dict:
    """Every k's agreement for one run."""
    model = InfoGAN.load(run, device=args.device)
    test = load_dataset("mnist", "test", args.data_root, shape=model.image_shape)
    train = load_dataset("mnist", "train", args.data_root, shape=model.image_shape)
    pool = np.random.default_rng(args.seed).permutation(len(train))[: args.pool] if args.pool else np.arange(len(train))
    reference = reference_classes(model, args.code, test.images, test.labels.numpy())
    probabilities = model.encode(train.images[np.sort(pool)]).probabilities[args.code]
    log_probs = probabilities.clamp_min(1e-12).log().numpy()
    labels = train.labels.numpy()[np.sort(pool)]
    rows = [few_shot_agreement(log_probs, labels, reference, k, args.draws, args.seed + k) for k in args.k]
    return {"run": run, "reference": {str(k): v for k, v in reference.items()}, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories or checkpoint files of MNIST models")
    parser.add_argument("--data-root")
    parser.add_argument("--code", default="c1")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 5, 10], help="examples per digit (1 5 10)")
    parser.add_argument("--draws", type=int, default=200, help="random draws of examples per k (200)")
    parser.add_argument("--pool", type=int, default=0, help="draw from this many training images (0: all 60,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/naming_agreement.json"))
    args = parser.parse_args()
    results = [measure_run(run, args) for run in args.runs]
    print(f"{'run':<40} {'k':>3} {'agreement':>10} {'classes agreeing':>17}")
    for result in results:
        for row in result["rows"]:
            print(f"{result['run']:<40} {row['k']:>3} {row['agreement']:>10.3f} {row['classes_agreeing']:>17.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "results": results}, indent=1))
    print(args.out)


if __name__ == "__main__":
    main()
