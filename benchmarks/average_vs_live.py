"""Sample quality of G's moving average against the live G of the same run (``--g-average``).

A run trained with ``--g-average`` saves the average as its model and keeps the live G beside it
in the checkpoint (to resume). This scores both on the same latents and the same real images:
FID and KID on the dataset's feature net (``infogan.evaluation.sample_quality``), so the only
difference is which G drew the images. Q, and so the test accuracy, is the same for both.

    python benchmarks/average_vs_live.py runs/seed2 runs/seed3 --data-root ../shared/data --json out.json
"""

from __future__ import annotations

import json
from pathlib import Path

from runs_arguments import parse_runs_arguments, runs_parser

from infogan import InfoGAN, checkpoint
from infogan.evaluation import sample_quality
from infogan.run import checkpoint_file
from infogan.training import LIVE_GENERATOR_PREFIX


def quality_of_both(run: Path, dataset: str, n: int) -> dict[str, dict[str, float]]:
    """FID and KID of the average (the saved model) and of the live G of ``run``'s checkpoint."""
    model = InfoGAN.load(run, device="cpu")
    tensors, _ = checkpoint.read(checkpoint_file(run))
    live = checkpoint.strip_prefix(LIVE_GENERATOR_PREFIX, tensors)
    if not live:
        raise SystemExit(f"{run}: its checkpoint holds no live G (trained without --g-average)")
    scores = {"average": sample_quality(model, dataset, n=n)}
    model.nets.generator.load_state_dict(live)
    scores["live"] = sample_quality(model, dataset, n=n)
    return {which: {k: s[k] for k in ("fid", "kid")} for which, s in scores.items()}


def main() -> None:
    args = parse_runs_arguments(runs_parser(__doc__.splitlines()[0], "generated and real images"))
    report = {str(run): quality_of_both(run, args.dataset, args.samples) for run in args.runs}
    print("| run | FID average | FID live | KID average | KID live |\n| --- | ---: | ---: | ---: | ---: |")
    for run, s in report.items():
        cells = [s[g][m] for m in ("fid", "kid") for g in ("average", "live")]
        print(f"| {run} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
