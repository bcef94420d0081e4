"""How often are an image's neighbours (``--iic-neighbours``) of its own class?

For each k, the share of the training images' k nearest (``pixel_neighbours``; with ``--space
deskewed`` those of the ``deskewed`` images; with ``--space features`` the nearest in
``--checkpoint``'s D features; each as ``--iic-neighbours-space`` searches them) whose label is
the image's, per label, and the share of one label's neighbours that carry another (the strays
behind a merged or split class); then the same for mutual neighbours only
(``mutual_neighbours``: j among i's k nearest and i among j's), with the share of entries that
are mutual and of images left with none. With ``--checkpoint``, also the same for the images its
Q misreads (its class matched to a label as ``infogan evaluate`` does), and the share of their
neighbours that Q reads as the misread image's label: how often a pair would pull a misread
image the right way. Labels only score; training never sees them.

    python benchmarks/neighbour_purity.py --dataset mnist --k 1,3,10 --strays 8:5,5:8,7:9,7:2 --json out.json
    python benchmarks/neighbour_purity.py --space features --checkpoint runs/mnist-iic --json features.json
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from infogan import InfoGAN
from infogan.data import load_dataset, mutual_neighbours, neighbours_in
from infogan.metrics.clustering import score_clustering


def purity(table: torch.Tensor, labels: torch.Tensor, strays: list[tuple[int, int]], kept: torch.Tensor) -> dict:
    """Shares of the ``kept`` entries of ``table`` (a mask of its shape) that carry the image's
    label: overall, per label, and for each (source, target) of ``strays`` the share of a source
    image's neighbours labelled target."""
    neighbour_labels = labels[table]
    same = neighbour_labels == labels[:, None]
    of_label = {int(c): (labels == c)[:, None] & kept for c in labels.unique()}
    return {
        "same_label": same[kept].float().mean().item(),
        "per_label": {c: same[rows].float().mean().item() for c, rows in of_label.items()},
        "strays": {f"{a}->{b}": (neighbour_labels[of_label[a]] == b).float().mean().item() for a, b in strays},
    }


def mutual_purity(table: torch.Tensor, labels: torch.Tensor, strays: list[tuple[int, int]]) -> dict:
    """``purity`` over the mutual entries of ``table`` alone, and how many entries are mutual."""
    mutual = mutual_neighbours(table) != torch.arange(len(table))[:, None]  # the others became the image
    one_way = purity(table, labels, [], ~mutual)
    return purity(table, labels, strays, mutual) | {
        "one_way_same_label": one_way["same_label"],
        "mutual_share": mutual.float().mean().item(),
        "images_without_mutual": (~mutual.any(dim=1)).float().mean().item(),
    }


def labels_read(model: InfoGAN, data) -> torch.Tensor:
    """The label (N,) each image's class under ``model``'s Q is matched to, as ``infogan evaluate`` matches them."""
    clusters = model.encode(data.images).categories("c1")
    mapping = score_clustering(data.labels.numpy(), clusters.numpy(), model.spec.code("c1").num_classes).mapping
    return torch.tensor([mapping[int(c)] for c in clusters])


def print_misread(k: int, misread: dict) -> None:
    per_label = "  ".join(f"{c}: {share:.1%}" for c, share in misread["per_label"].items())
    print(
        f"k={k}, the {misread['images']:,} misread images: same label {misread['same_label']:.2%}, "
        f"read as it {misread['read_right']:.2%}  {per_label}"
    )


def parse_pairs(text: str) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in pair.split(":")) for pair in text.split(",") if pair]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist", help="a labelled dataset's name (mnist)")
    parser.add_argument("--data-root", help="where the datasets are (sets INFOGAN_DATA_ROOT)")
    parser.add_argument("--k", default="1,3,10", help="neighbour counts, comma-separated (1,3,10)")
    parser.add_argument("--strays", default="8:5,5:8,7:9,7:2", help="label:label pairs to report")
    spaces = ("pixels", "deskewed", "features")
    parser.add_argument("--space", choices=spaces, default="pixels", help="where to search (as training does)")
    parser.add_argument("--checkpoint", help="a run or file: its D's features (--space features), its Q's misreads")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if args.data_root:
        os.environ["INFOGAN_DATA_ROOT"] = args.data_root
    data = load_dataset(args.dataset, "train")
    counts = sorted(int(k) for k in args.k.split(","))
    strays = parse_pairs(args.strays)
    if args.space == "features" and not args.checkpoint:
        parser.error("--space features needs --checkpoint, whose D's features are searched")
    data = data.resident()
    model = InfoGAN.load(args.checkpoint, device="cpu") if args.checkpoint else None
    body = model.nets.body if model is not None else None
    # the k nearest are the first k of more
    nearest = neighbours_in(args.space, data.images, counts[-1], network=body)
    read_as = labels_read(model, data) if model is not None else None
    misread = read_as != data.labels if read_as is not None else None
    report = {}
    for k in counts:
        table = nearest[:, :k]
        every = torch.ones_like(table, dtype=torch.bool)
        report[k] = purity(table, data.labels, strays, every) | {"mutual": mutual_purity(table, data.labels, strays)}
        if misread is not None:
            read = purity(table, data.labels, strays, misread[:, None].expand_as(table))
            read["per_label"] = {c: share for c, share in read["per_label"].items() if share == share}  # not NaN
            # the neighbours Q reads as the misread image's true label: those a pair would pull it towards
            read["read_right"] = (read_as[table[misread]] == data.labels[misread, None]).float().mean().item()
            report[k]["misread"] = read | {"images": int(misread.sum())}
            print_misread(k, report[k]["misread"])
        row, mutual = report[k], report[k]["mutual"]
        shown = "  ".join(f"{name} {share:.2%}" for name, share in row["strays"].items())
        print(f"k={k}: same label {row['same_label']:.2%}  {shown}")
        shown = "  ".join(f"{name} {share:.2%}" for name, share in mutual["strays"].items())
        print(
            f"  mutual only: same label {mutual['same_label']:.2%} (one-way {mutual['one_way_same_label']:.2%}), "
            f"{mutual['mutual_share']:.1%} of entries, {mutual['images_without_mutual']:.1%} of images have none; "
            + shown
        )
        print("  per label: " + "  ".join(f"{c}: {share:.1%}" for c, share in row["per_label"].items()))
    if args.json:
        with open(args.json, "w") as file:
            source = {"space": args.space, "checkpoint": args.checkpoint}
            json.dump({"dataset": args.dataset, **source, "k": report}, file, indent=2)


if __name__ == "__main__":
    main()
