"""Wall-clock time and images seen until c1's Hungarian-matched MNIST test accuracy first
reaches 90% and 95%, for the default settings and any faster ones.

Test-set evaluation time is excluded from the wall-clock figures; labels only score.

    python benchmarks/time_to_accuracy.py --data-root ../shared/data --settings fp32 bf16
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from infogan.config import preset
from infogan.data import load_dataset
from infogan.run import read_metrics
from infogan.training import Trainer

SETTINGS = {
    "fp32": {"precision": "fp32"},
    "bf16": {"precision": "bf16"},
    "bf16+channels_last": {"precision": "bf16", "channels_last": True},
}
THRESHOLDS = (0.90, 0.95)


def first_crossings(records: list[dict], batch: int) -> dict[str, dict[str, float] | None]:
    """For each threshold, the first evaluation at or above it: step, images, train seconds."""
    evaluations = [r for r in records if "eval/c1_accuracy" in r]
    out: dict[str, dict[str, float] | None] = {}
    for threshold in THRESHOLDS:
        hit = next((r for r in evaluations if r["eval/c1_accuracy"] >= threshold), None)
        out[f"{threshold:.0%}"] = (
            None
            if hit is None
            else {
                "step": hit["step"],
                "images": hit["step"] * batch,
                "seconds": round(hit["time/elapsed_s"] - hit["time/eval_s"], 1),
                "accuracy": hit["eval/c1_accuracy"],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root")
    parser.add_argument("--settings", nargs="+", default=["fp32"], choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--options", default="{}", help="extra TrainConfig fields as JSON, e.g. '{\"batch_size\": 64}'")
    parser.add_argument("--runs", type=Path, default=Path("runs/time-to-accuracy"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/time_to_accuracy.json"))
    args = parser.parse_args()

    device = torch.device(args.device)
    extra = json.loads(args.options)
    train, test = load_dataset("mnist", "train", args.data_root), load_dataset("mnist", "test", args.data_root)
    results = {}
    for name in args.settings:
        config = preset("mnist").replace(
            steps=args.steps,
            seed=args.seed,
            eval_every=args.eval_every,
            checkpoint_every=args.steps,
            **SETTINGS[name] | extra,
        )
        run_dir = args.runs / f"{name}-seed{args.seed}"
        shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run: metrics.jsonl is appended to
        Trainer(config, run_dir, train, device=device, eval_data=test, progress=False).fit()
        records = read_metrics(run_dir)
        final = [r for r in records if "eval/c1_accuracy" in r][-1]
        results[name] = {
            "crossings": first_crossings(records, config.batch_size),
            "final_accuracy": final["eval/c1_accuracy"],
            "steps": args.steps,
            "options": extra,
            "train_seconds": round(final["time/elapsed_s"] - final["time/eval_s"], 1),
        }
        print(name, json.dumps(results[name]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"device": str(device), "threads": torch.get_num_threads(), "results": results}
    args.out.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
