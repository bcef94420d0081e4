"""Train the MNIST preset over several seeds and variants, score every run, and draw Figure 1.

    python benchmarks/seed_sweep.py --out runs/sweep --seeds 0-4 --jobs 2 --baseline
    python benchmarks/seed_sweep.py --out runs/sweep --variant "consistency=--consistency 1"

Each run is ``infogan train --preset mnist --seed S`` plus the variant's options, evaluated every
250 steps, then ``infogan evaluate`` on the test set. A sweep can be stopped and started again:
finished runs are kept, unfinished ones resume from their checkpoints. Prints one table per
variant and writes ``sweep.json`` (every run, and median / worst per variant) and
``figure1.png`` (the paper's Figure 1: L_I over training, mean and range over seeds, per variant).

Labels only score. The ``selected`` column is the accuracy at the evaluation point that a
label-free rule picks (the largest mutual information between real training images and c1
under Q, see :func:`infogan.evaluation.real_data_information`). With three or more finished
runs of a variant, the table also names the run InfoGAN-CR's model centrality would keep
(:mod:`infogan.selection`, on c1), the label-free choice of a seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from infogan.metrics.clustering import confused_pairs, weakest_label
from infogan.reporting import read_metrics
from infogan.selection import run_centrality

TARGET_MEDIAN, TARGET_WORST, TARGET_MI_FRACTION = 0.97, 0.95, 0.99
LN10 = math.log(10)


@dataclass(frozen=True)
class Job:
    variant: str
    options: tuple[str, ...]
    seed: int
    run_dir: Path


@dataclass
class RunResult:
    variant: str
    seed: int
    accuracy: float
    nmi: float
    mi_c1: float  # L_I(c1) on 10,000 fresh samples, nats
    selected_accuracy: float  # at the eval point with the largest label-free score
    selected_step: int
    wall_s: float
    images_seen: int
    confusion: list[list[int]]
    confused: list[tuple[int, int, float]]  # digit pairs the clusters mix (overlap >= 0.2)
    weakest: dict[str, float]  # the digit its class holds least, and whose class takes its strays


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,3,7``."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def parse_variant(text: str) -> tuple[str, tuple[str, ...]]:
    """``name=--option value ...``; a bare name is the defaults."""
    name, _, options = text.partition("=")
    return name.strip(), tuple(shlex.split(options))


def run_job(job: Job, common: list[str], env: dict[str, str], deadline: float, eval_samples: int) -> float | None:
    """Train (or resume) and evaluate one run; returns its training wall time, None if skipped."""
    evaluation = job.run_dir / "evaluation.json"
    timing = job.run_dir / "sweep_wall_s.json"
    if evaluation.exists() and timing.exists():
        return json.loads(timing.read_text())["wall_s"]
    if time.time() > deadline:
        return None
    cli = [sys.executable, "-m", "infogan.cli"]
    resume = (job.run_dir / "checkpoint.safetensors").exists()
    where = ["--resume", str(job.run_dir)] if resume else ["--out", str(job.run_dir)]
    train = [*cli, "train", "--preset", "mnist", "--seed", str(job.seed), *where, *common, *job.options]
    job.run_dir.mkdir(parents=True, exist_ok=True)
    log = (job.run_dir / "sweep.log").open("a")
    started = time.perf_counter()
    done = subprocess.run(train, env=env, stdout=log, stderr=log)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(f"{job.variant} seed {job.seed}: train failed, see {job.run_dir}/sweep.log", file=sys.stderr)
        return None
    device = common[common.index("--device") + 1]
    evaluate = [*cli, "evaluate", str(job.run_dir), "--dataset", "mnist", "--device", device]
    evaluate += ["--samples", str(eval_samples)]
    if subprocess.run(evaluate, env=env, stdout=subprocess.DEVNULL, stderr=log).returncode != 0:
        return None
    timing.write_text(json.dumps({"wall_s": wall}))
    return wall


def collect(job: Job, wall: float) -> RunResult:
    """One run's scores from its evaluation.json, metrics.jsonl and config.json."""
    evaluation = json.loads((job.run_dir / "evaluation.json").read_text())
    config = json.loads((job.run_dir / "config.json").read_text())
    evals = [r for r in read_metrics(job.run_dir) if "eval/c1_real_mi" in r and "eval/c1_accuracy" in r]
    chosen = max(evals, key=lambda r: r["eval/c1_real_mi"]) if evals else {"step": -1, "eval/c1_accuracy": math.nan}
    score = evaluation["c1"]
    return RunResult(
        variant=job.variant,
        seed=job.seed,
        accuracy=score["accuracy"],
        nmi=score["nmi"],
        mi_c1=evaluation["mutual_information"]["c1"]["lower_bound_nats"],
        selected_accuracy=chosen["eval/c1_accuracy"],
        selected_step=int(chosen["step"]),
        wall_s=wall,
        images_seen=config["steps"] * config["batch_size"],
        confusion=score["confusion"],
        confused=confused_pairs(score["confusion"]),
        weakest=asdict(weakest_label(score["confusion"])),
    )


def summarise(results: list[RunResult]) -> dict[str, float | bool]:
    accuracies = [r.accuracy for r in results]
    mis = [r.mi_c1 for r in results]
    summary = {
        "runs": len(results),
        "median_accuracy": statistics.median(accuracies),
        "worst_accuracy": min(accuracies),
        "mean_accuracy": statistics.fmean(accuracies),
        "median_selected_accuracy": statistics.median(r.selected_accuracy for r in results),
        "median_nmi": statistics.median(r.nmi for r in results),
        "min_mi_c1": min(mis),
    }
    summary["target_met"] = (
        summary["median_accuracy"] >= TARGET_MEDIAN
        and summary["worst_accuracy"] >= TARGET_WORST
        and summary["min_mi_c1"] >= TARGET_MI_FRACTION * LN10
    )
    return summary


def print_table(variant: str, options: tuple[str, ...], results: list[RunResult], summary: dict) -> None:
    print(f"\n## {variant}: {' '.join(options) or '(defaults)'}")
    columns = "seed | accuracy | NMI | L_I(c1) nats | selected acc (step) | train s | images | mixed digits (overlap)"
    print(f"| {columns} | weakest digit |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in sorted(results, key=lambda r: r.seed):
        mixed = ", ".join(f"{a}/{b} ({overlap:.2f})" for a, b, overlap in r.confused[:3]) or "none"
        if len(r.confused) > 3:
            mixed += f" and {len(r.confused) - 3} more pairs"
        print(
            f"| {r.seed} | {r.accuracy:.3f} | {r.nmi:.3f} | {r.mi_c1:.3f} | "
            f"{r.selected_accuracy:.3f} ({r.selected_step}) | {r.wall_s:.0f} | {r.images_seen:,} | {mixed} | "
            f"{r.weakest['label']}: {r.weakest['held']:.1%} in its class, most strays to {_class_of(r.weakest)} |"
        )
    print(
        # percent with two decimals: at three the summary can read 0.970 for a median just under the 0.97 bar
        f"median {summary['median_accuracy']:.2%}, worst {summary['worst_accuracy']:.2%}, "
        f"mean {summary['mean_accuracy']:.2%}; selected median {summary['median_selected_accuracy']:.2%}; "
        f"min L_I {summary['min_mi_c1']:.3f} (target {TARGET_MI_FRACTION * LN10:.3f}); "
        f"target {'MET' if summary['target_met'] else 'not met'}"
    )


def _class_of(stray: dict) -> str:
    return "an unmatched class" if stray["strays_to"] is None else f"{stray['strays_to']}'s"


def central_run(results: list[RunResult], runs: dict[int, Path], samples: int, device: str) -> dict | None:
    """The seed that model centrality on c1 picks among a variant's finished runs, and its accuracy."""
    if len(results) < 3 or samples == 0:  # with two runs both are equally central
        return None
    seeds = sorted(r.seed for r in results)
    ranking = run_centrality([str(runs[s]) for s in seeds], samples=samples, codes=["c1"], device=device)
    chosen = seeds[ranking.names.index(ranking.chosen)]
    accuracy = next(r.accuracy for r in results if r.seed == chosen)
    return {"seed": chosen, "accuracy": accuracy, "centrality": dict(zip(seeds, ranking.scores.tolist(), strict=True))}


def draw_figure1(curves: dict[str, list[list[tuple[int, float]]]], path: Path) -> None:
    """L_I(c1) against training step per variant: mean over seeds, shaded min-max range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, runs in curves.items():
        length = min(len(run) for run in runs)
        steps = np.array([s for s, _ in runs[0][:length]])
        values = np.array([[v for _, v in run[:length]] for run in runs])
        ax.plot(steps, values.mean(0), label=f"{variant} ({len(runs)} seeds)")
        ax.fill_between(steps, values.min(0), values.max(0), alpha=0.25)
    ax.axhline(LN10, color="gray", linestyle="--", linewidth=1, label="H(c1) = ln 10")
    ax.set_xlabel("training step")
    ax.set_ylabel("L_I(c1), nats")
    ax.set_title("Lower bound L_I over training (Chen et al., 2016, Figure 1)")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def mi_curve(run_dir: Path) -> list[tuple[int, float]]:
    return [(int(r["step"]), r["mi/c1"]) for r in read_metrics(run_dir) if "mi/c1" in r]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/sweep", help="folder for the runs, sweep.json and figure1.png")
    parser.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-4 or 0,3,7 (0-4)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help='NAME=OPTIONS, e.g. "consistency=--consistency 1"; repeatable (default: the defaults alone)',
    )
    parser.add_argument("--baseline", action="store_true", help="add the plain-GAN variant (λ = 0)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (1)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per run (default: cores / jobs)")
    parser.add_argument("--device", default="auto", help="device of every run (auto)")
    parser.add_argument("--deadline", type=float, default=None, help="start no run after this many seconds")
    parser.add_argument("--eval-samples", type=int, default=10_000, help="fresh samples for L_I at the end (10000)")
    parser.add_argument(
        "--centrality-samples", type=int, default=5_000, help="draws per run for model centrality (0: skip)"
    )
    parser.add_argument("--figure", help="comma-separated variants to draw in figure1.png (default: all)")
    parser.add_argument("--collect-only", action="store_true", help="train nothing: report the finished runs")
    parser.add_argument("--train-args", default="", help="options added to every run, e.g. '--steps 2000'")
    args = parser.parse_args(argv)

    variants = dict(parse_variant(v) for v in args.variant) or {"default": ()}
    if args.baseline:
        variants["plain-gan"] = ("--plain-gan",)
    seeds = parse_seeds(args.seeds)
    out = Path(args.out)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    common = ["--eval-every", "250", "--no-progress", "--device", args.device, *shlex.split(args.train_args)]
    deadline = time.time() + (args.deadline if args.deadline is not None else math.inf)
    if args.collect_only:
        deadline = -math.inf
    # Seeds outermost, so that a sweep cut short has every variant on its first seeds.
    jobs = [Job(v, opts, s, out / v / f"seed{s}") for s in seeds for v, opts in variants.items()]
    with ThreadPoolExecutor(args.jobs) as pool:
        walls = list(pool.map(lambda job: run_job(job, common, env, deadline, args.eval_samples), jobs))

    report: dict[str, dict] = {}
    curves: dict[str, list[list[tuple[int, float]]]] = {}
    for name, options in variants.items():
        results = [collect(j, w) for j, w in zip(jobs, walls, strict=True) if j.variant == name and w is not None]
        if not results:
            continue
        summary = summarise(results)
        print_table(name, options, results, summary)
        runs = {j.seed: j.run_dir for j in jobs if j.variant == name}
        central = central_run(results, runs, args.centrality_samples, args.device)
        if central:
            summary["central"] = central
            print(f"model centrality on c1 keeps seed {central['seed']}: accuracy {central['accuracy']:.3f}")
        report[name] = {"options": list(options), "summary": summary, "runs": [asdict(r) for r in results]}
        finished = [j for j in jobs if j.variant == name and (j.run_dir / "evaluation.json").exists()]
        curves[name] = [mi_curve(j.run_dir) for j in finished]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"common": common, "variants": report}, indent=2) + "\n")
    if args.figure:
        curves = {name: runs for name, runs in curves.items() if name in args.figure.split(",")}
    if curves:
        draw_figure1(curves, out / "figure1.png")
    print(f"\nwrote {out / 'sweep.json'} and {out / 'figure1.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
