"""What G draws along a continuous code, class by class, inside the prior and beyond its edge.

For each class of the categorical code and each value of one continuous code (by default nine
values over -2…2: the prior's [-1, 1] and the traversals' range beyond it), ``--samples`` draws
with the noise and the other codes random. The dataset's feature net (trained on labels, for
scoring only) reads every image. The table gives, per class (named by the digit it draws most
inside the prior), the share of ``--label`` among its images at each value: where a digit that
Q misreads lives in G's code space, if anywhere.

    python benchmarks/code_edge_labels.py runs/seed0 --code c2 --label 7 --samples 500
"""

from __future__ import annotations

import json

import numpy as np
from runs_arguments import parse_runs_arguments, runs_parser

from infogan import InfoGAN
from infogan.feature_net import FeatureNet, load_feature_net, predicted_labels

PRIOR_EDGE = 1.0  # the continuous codes' uniform prior is [-1, 1]


def label_shares(
    model: InfoGAN, net: FeatureNet, category: str, code: str, values: list[float], samples: int, seed: int = 0
) -> np.ndarray:
    """(classes, values, labels): the share of each label the feature net reads in G's images."""
    classes, labels = model.spec.code(category).num_classes, net.head.out_features
    shares = np.zeros((classes, len(values), labels))
    for cls in range(classes):
        for j, value in enumerate(values):
            images = model.generate(samples, codes={category: cls, code: value}, seed=seed)
            shares[cls, j] = np.bincount(predicted_labels(net, images), minlength=labels) / samples
    return shares


def class_digits(shares: np.ndarray, values: list[float]) -> list[int]:
    """Each class's digit: the label it draws most over the values inside the prior."""
    inside = [j for j, value in enumerate(values) if abs(value) <= PRIOR_EDGE]
    return shares[:, inside].mean(axis=1).argmax(axis=1).tolist()


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0], "draws per class and value")
    parser.set_defaults(samples=500)
    parser.add_argument("--category", default="c1", help="the categorical code (c1)")
    parser.add_argument("--code", default="c2", help="the continuous code to move (c2)")
    parser.add_argument("--label", type=int, default=7, help="the label whose share is tabled (7)")
    parser.add_argument("--values", type=float, nargs="+", default=np.linspace(-2, 2, 9).tolist())
    args = parse_runs_arguments(parser)
    net = load_feature_net(args.dataset)
    report = {}
    for run in args.runs:
        model = InfoGAN.load(run, device="cpu")
        shares = label_shares(model, net, args.category, args.code, args.values, args.samples)
        digits = class_digits(shares, args.values)
        report[str(run)] = {"values": args.values, "class_digits": digits, "shares": shares.tolist()}
        print(f"\n{run}: share of {args.label}s among each class's images, by {args.code}")
        print("| class (digit) | " + " | ".join(f"{v:+.1f}" for v in args.values) + " |")
        print("| --- |" + " ---: |" * len(args.values))
        for cls, digit in enumerate(digits):
            cells = " | ".join(f"{share:.0%}" for share in shares[cls, :, args.label])
            print(f"| {cls} ({digit}) | {cells} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
