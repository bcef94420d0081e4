"""Do the real images Q misreads lie where G draws nothing? A mode-coverage check per digit.

For each test image of a label, the distance (on the dataset's feature net) to its nearest of
``--samples`` generated images, divided by the distance to its nearest of as many real training
images: about 1 where G draws images like it as often as the data has them, well above 1 where
G draws nothing like it. The images of the label are split into those Q reads into the label's
Hungarian-matched class and the rest (misread), and the script prints the median ratio and the
share above 1.5 of each part, and how sure Q is of its reading of each part (its largest c1
probability: the median and the share above 0.99), which says whether self-labelling real
images by Q's confident readings could fix the misread ones. Labels pick the images and score;
they train nothing.

    python benchmarks/misread_coverage.py runs/seed0 runs/seed3 --label 7 --data-root ../shared/data --json out.json
"""

from __future__ import annotations

import json

import numpy as np
import torch
from runs_arguments import parse_runs_arguments, runs_parser

from infogan import InfoGAN
from infogan.data import ImageDataset, load_dataset
from infogan.evaluation import generated
from infogan.feature_net import features, load_feature_net
from infogan.metrics.clustering import score_clustering

FAR = 1.5  # a ratio above this: G's nearest image is half as far again as the data's
SURE = 0.99  # Q's largest c1 probability above this: a reading confident enough to self-label with


def nearest_ratios(images: torch.Tensor, fakes: torch.Tensor, reals: torch.Tensor, dataset: str) -> np.ndarray:
    """Per image (N,): distance to its nearest fake over distance to its nearest real, in features."""
    net = load_feature_net(dataset)
    ours, to_fakes, to_reals = (torch.from_numpy(features(net, x)) for x in (images, fakes, reals))
    return (torch.cdist(ours, to_fakes).min(1).values / torch.cdist(ours, to_reals).min(1).values).numpy()


def misread_coverage(
    model: InfoGAN, test: ImageDataset, reference: ImageDataset, label: int, dataset: str, samples: int
) -> dict[str, float]:
    """The ratios of ``label``'s test images, read right against misread by Q's code c1."""
    reading = model.encode(test.images)
    clusters = reading.categories("c1").numpy()
    mapping = score_clustering(test.labels.numpy(), clusters, model.spec.code("c1").num_classes).mapping
    class_of = {matched: cluster for cluster, matched in mapping.items()}
    ours = (test.labels == label).numpy()
    images, read_right = test.images[ours], clusters[ours] == class_of[label]
    confidence = reading.probabilities["c1"].max(dim=1).values.numpy()[ours]
    ratios = nearest_ratios(images, generated(model, samples), reference.subset(samples, seed=0).images, dataset)
    report = {"images": len(images), "read_right_share": float(read_right.mean())}
    for name, part in {"read_right": read_right, "misread": ~read_right}.items():
        report |= _part_summary(name, ratios[part], confidence[part])
    return report


def _part_summary(name: str, ratios: np.ndarray, confidence: np.ndarray) -> dict[str, float]:
    """Median ratio, share far from G, median confidence and share sure, of one part (NaN when empty)."""
    if not len(ratios):
        keys = ("median_ratio", "far_share", "median_confidence", "sure_share")
        return {f"{name}_{key}": float("nan") for key in keys}
    return {
        f"{name}_median_ratio": float(np.median(ratios)),
        f"{name}_far_share": float((ratios > FAR).mean()),
        f"{name}_median_confidence": float(np.median(confidence)),
        f"{name}_sure_share": float((confidence > SURE).mean()),
    }


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0], "generated and real reference images")
    parser.add_argument("--label", type=int, default=7, help="the label whose test images are checked (7)")
    args = parse_runs_arguments(parser)
    test, train = load_dataset(args.dataset, "test"), load_dataset(args.dataset, "train")
    report = {
        str(run): misread_coverage(InfoGAN.load(run, device="cpu"), test, train, args.label, args.dataset, args.samples)
        for run in args.runs
    }
    print(
        f"| run | {args.label}s read right | median ratio: right / misread | share > {FAR}: right / misread "
        f"| median confidence: right / misread | share > {SURE}: right / misread |"
    )
    print("| --- | ---: | --- | --- | --- | --- |")
    for run, r in report.items():
        medians = f"{r['read_right_median_ratio']:.2f} / {r['misread_median_ratio']:.2f}"
        far = f"{r['read_right_far_share']:.2f} / {r['misread_far_share']:.2f}"
        sure = f"{r['read_right_median_confidence']:.3f} / {r['misread_median_confidence']:.3f}"
        sure_share = f"{r['read_right_sure_share']:.2f} / {r['misread_sure_share']:.2f}"
        print(f"| {run} | {r['read_right_share']:.1%} | {medians} | {far} | {sure} | {sure_share} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
