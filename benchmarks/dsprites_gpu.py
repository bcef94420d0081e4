"""dSprites with and without InfoGAN-CR on one GPU, time-boxed, with the five disentanglement metrics.

Runs the ``dsprites`` preset (InfoGAN-CR's networks and settings) for several seeds, with the
contrastive regulariser off and on (``--cr-weight 2``, switched on at ``CR_START_FRACTION`` of
the run), all runs as parallel processes on the one device; then scores every run with
``infogan evaluate --metrics disentanglement`` (also in parallel) and prints a table.

The whole script keeps to ``BUDGET_S`` seconds of wall time: a short probe measures how fast the
parallel runs step, the training length is chosen from it, each training gets SIGTERM at its
deadline (it then checkpoints at a step boundary and stops, and is scored as it is), and an
evaluation that outlives the budget is killed and reported as missing. Nothing is installed.

Usage, from the repository root (results go to $OUT, else runs/dsprites_gpu)::

    PYTHONPATH=. python3 benchmarks/dsprites_gpu.py
    # a few seconds on a CPU, to check that it works:
    STEPS=20 SEEDS=0 NUM_TRAIN=100 NUM_EVAL=50 DEVICE=cpu BUDGET_S=240 PYTHONPATH=. python3 benchmarks/dsprites_gpu.py

Environment (defaults in brackets): BUDGET_S [290], SEEDS [0,1,2], STEPS [chosen from the probe;
set it to skip the probe], MAX_STEPS [20000], CR_WEIGHT [2], CR_START_FRACTION [0.5], NUM_TRAIN
[2000] and NUM_EVAL [1000] draws per metric (the library's defaults, 10000 and 5000, take
minutes per model), DEVICE [cuda if available], DATA_MODE [auto], THREADS [2] per process,
PROBE_STEPS [200].
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.monotonic()
BUDGET_S = float(os.environ.get("BUDGET_S", "290"))
OUT = Path(os.environ.get("OUT") or ROOT / "runs" / "dsprites_gpu")
SEEDS = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",") if s.strip()]
CR_WEIGHT = os.environ.get("CR_WEIGHT", "2")
CR_START_FRACTION = float(os.environ.get("CR_START_FRACTION", "0.5"))
NUM_TRAIN, NUM_EVAL = os.environ.get("NUM_TRAIN", "2000"), os.environ.get("NUM_EVAL", "1000")
MAX_STEPS = int(os.environ.get("MAX_STEPS", "20000"))
DATA_MODE = os.environ.get("DATA_MODE", "auto")
THREADS = os.environ.get("THREADS", "2")
PROBE_STEPS = int(os.environ.get("PROBE_STEPS", "200"))
EVAL_RESERVE_S = 75  # scoring runs in parallel; about 30-50 s at the default draws on a 16-core host
SHOWN = [
    ("beta_vae/eval_accuracy", "BetaVAE"),
    ("factor_vae/eval_accuracy", "FactorVAE"),
    ("mig/score", "MIG"),
    ("dci/disentanglement", "DCI-D"),
    ("dci/completeness", "DCI-C"),
    ("dci/informativeness_test", "DCI-I"),
    ("sap/score", "SAP"),
]


def left() -> float:
    """Seconds of the budget still unspent."""
    return BUDGET_S - (time.monotonic() - STARTED)


def device() -> str:
    if os.environ.get("DEVICE"):
        return os.environ["DEVICE"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def environment() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": THREADS, "MKL_NUM_THREADS": THREADS}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "infogan.cli", *args]


def run_all(commands: dict[str, list[str]], deadline_s: float, logs: Path, *, term_first: bool) -> dict[str, int]:
    """Start every command at once; at the deadline SIGTERM (then SIGKILL) what still runs.

    Returns each command's exit status (None when it had to be killed).
    """
    logs.mkdir(parents=True, exist_ok=True)
    procs = {}
    for name, argv in commands.items():
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        procs[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment()), log)
    end = time.monotonic() + deadline_s
    while any(p.poll() is None for p, _ in procs.values()) and time.monotonic() < end:
        time.sleep(0.5)
    for p, _ in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM if term_first else signal.SIGKILL)
    grace = time.monotonic() + 20
    while any(p.poll() is None for p, _ in procs.values()) and time.monotonic() < grace:
        time.sleep(0.2)
    status = {}
    for name, (p, log) in procs.items():
        if p.poll() is None:
            p.kill()
            p.wait()
            status[name] = None
        else:
            status[name] = p.returncode
        log.close()
    return status


def train_args(run: Path, steps: int, seed: int, cr_start: int | None, dev: str) -> list[str]:
    """``infogan train`` for one run; the contrastive regulariser from ``cr_start`` (None: off)."""
    argv = ["train", "--preset", "dsprites", "--steps", str(steps), "--seed", str(seed), "--out", str(run)]
    argv += ["--data-root", str(OUT / "data"), "--device", dev, "--no-progress", "--data-mode", DATA_MODE]
    argv += ["--log-every", str(max(1, min(100, steps // 4))), "--sample-every", str(steps)]
    argv += ["--checkpoint-every", str(steps)]
    if cr_start is not None:
        argv += ["--cr-weight", CR_WEIGHT, "--cr-start", str(cr_start)]
    return argv


def summary(log: Path) -> dict:
    """The JSON line ``infogan train`` prints when it finishes."""
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


def probe(dev: str, runs: int) -> tuple[float, float]:
    """(steps per second of one run among ``runs`` parallel CR runs, start-up seconds)."""
    commands = {
        f"probe{i}": cli(*train_args(OUT / "probe" / f"p{i}", PROBE_STEPS, 100 + i, 0, dev)) for i in range(runs)
    }
    began = time.monotonic()
    run_all(commands, min(90.0, left() / 3), OUT / "logs", term_first=True)
    wall = time.monotonic() - began
    found = [summary(OUT / "logs" / f"{name}.log") for name in commands]
    rates = [s["step"] / s["time/elapsed_s"] for s in found if s.get("time/elapsed_s")]
    if not rates:
        raise SystemExit(f"the speed probe failed; see {OUT / 'logs'}/probe*.log")
    startup = max(wall - s["time/elapsed_s"] for s in found if s.get("time/elapsed_s"))
    return min(rates), startup


def step_of(run: Path) -> int | None:
    """The step of a run's checkpoint (a run stopped at its deadline checkpoints where it was)."""
    from infogan import checkpoint
    from infogan.run import RunDir

    path = RunDir(run).checkpoint
    return int(checkpoint.read(path)[1]["step"]) if path.is_file() else None


def metrics_of(run: Path) -> dict[str, float] | None:
    path = run / "evaluation.json"
    return json.loads(path.read_text())["disentanglement"]["scores"] if path.is_file() else None


def table(results: dict[str, dict[int, dict | None]]) -> str:
    header = f"{'variant':<10}{'seed':>5}" + "".join(f"{label:>11}" for _, label in SHOWN)
    lines = [header, "-" * len(header)]
    for variant, by_seed in results.items():
        for seed, scores in by_seed.items():
            cells = "".join(f"{scores[k]:>11.3f}" if scores else f"{'missing':>11}" for k, _ in SHOWN)
            lines.append(f"{variant:<10}{seed:>5}{cells}")
        done = [s for s in by_seed.values() if s]
        if len(done) > 1:
            for name, stat in (("mean", statistics.mean), ("std", statistics.stdev)):
                cells = "".join(f"{stat([s[k] for s in done]):>11.3f}" for k, _ in SHOWN)
                lines.append(f"{variant:<10}{name:>5}{cells}")
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    dev = device()
    sys.path.insert(0, str(ROOT))
    from infogan.data.dsprites import DSprites

    DSprites.load(OUT / "data" / "dsprites")  # render and cache once, before the parallel runs read it
    variants = {"infogan": False, "infogan-cr": True}
    runs = len(SEEDS) * len(variants)
    if os.environ.get("STEPS"):
        steps, rate, startup = int(os.environ["STEPS"]), None, None
    else:
        rate, startup = probe(dev, runs)
        train_s = left() - EVAL_RESERVE_S - startup - 25
        steps = max(PROBE_STEPS, min(MAX_STEPS, int(rate * train_s * 0.9)))
    print(
        f"device {dev}; {runs} parallel runs of {steps} steps (probe: {rate and round(rate, 1)} steps/s each,"
        f" start-up {startup and round(startup)} s); {left():.0f} s of the budget left",
        flush=True,
    )
    cr_start = int(steps * CR_START_FRACTION)
    commands = {
        f"{variant}-seed{seed}": cli(
            *train_args(OUT / variant / f"seed{seed}", steps, seed, cr_start if cr else None, dev)
        )
        for variant, cr in variants.items()
        for seed in SEEDS
    }
    trained = run_all(commands, max(10.0, left() - EVAL_RESERVE_S), OUT / "logs", term_first=True)
    scoring = {}
    for variant in variants:
        for seed in SEEDS:
            run = OUT / variant / f"seed{seed}"
            if (run / "checkpoint.safetensors").is_file():
                argv = ["evaluate", str(run), "--metrics", "disentanglement", "--num-train", NUM_TRAIN]
                argv += ["--num-eval", NUM_EVAL, "--data-root", str(OUT / "data"), "--device", dev]
                scoring[f"eval-{variant}-seed{seed}"] = cli(*argv)
    run_all(scoring, max(5.0, left() - 15), OUT / "logs", term_first=False)
    for variant in variants:  # traversals of seed SEEDS[0], a second or two each
        run = OUT / variant / f"seed{SEEDS[0]}"
        if (run / "checkpoint.safetensors").is_file() and left() > 8:
            subprocess.run(
                cli("traverse", str(run), "--all", "--device", dev),
                env=environment(),
                capture_output=True,
                timeout=max(1.0, left() - 5),
            )
    results = {v: {seed: metrics_of(OUT / v / f"seed{seed}") for seed in SEEDS} for v in variants}
    reached = {f"{v}-seed{seed}": step_of(OUT / v / f"seed{seed}") for v in variants for seed in SEEDS}
    text = table(results)
    print(text)
    report = {
        "device": dev,
        "steps": steps,
        "probe_steps_per_s": rate,
        "cr_weight": float(CR_WEIGHT),
        "cr_start": cr_start,
        "num_train": int(NUM_TRAIN),
        "num_eval": int(NUM_EVAL),
        "training_exit": trained,
        "steps_reached": reached,
        "results": results,
        "wall_s": round(time.monotonic() - STARTED, 1),
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    (OUT / "table.txt").write_text(text + "\n")
    print(f"wrote {OUT / 'results.json'} and {OUT / 'table.txt'} after {report['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
