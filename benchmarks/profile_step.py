"""Where a training step's time goes: torch.profiler over steady-state steps, grouped by kind of op.

For the reference loop and each chosen speed setting of ``bench.py``, runs warm-up steps, then
profiles a few more and groups the ops' self time into convolutions, matrix products, batch
norm, the optimizer, other ops, and the time outside any op (Python and framework overhead).
With the FLOPs of a step (``torch.utils.flop_counter``) it also gives the rate at which the
convolutions and matrix products run, against the machine's matmul ceiling measured in the same
run: if they already take most of the step at a high fraction of the ceiling, the step is bound
by arithmetic, not by overhead. Prints a table and writes JSON. Where bf16 is not native, its
ceiling comes from a tiny product and the bf16 settings are left out unless named (as in bench.py).

    python benchmarks/profile_step.py --out benchmarks/results/profile_step.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import bench
import torch
from torch.profiler import ProfilerActivity, profile

from infogan.config import preset
from infogan.hardware import cpu_info

DEFAULT_SETTINGS = ["reference", "fp32", "fp32+channels_last", "bf16+channels_last", "fp32+consistency"]
KINDS = ("convolution", "matmul", "batch norm", "optimizer", "other ops")


def kind_of(event) -> str:
    """The kind of an op; anything run inside ``optimizer.step`` or ``zero_grad`` is the optimizer's."""
    walker = event
    while walker is not None:
        if walker.name.startswith("Optimizer."):  # torch's own annotation of step and zero_grad
            return "optimizer"
        walker = walker.cpu_parent
    name = event.name.removeprefix("aten::")
    if "conv" in name:
        return "convolution"
    if name in {"mm", "addmm", "bmm", "matmul", "linear"}:
        return "matmul"
    if "batch_norm" in name:
        return "batch norm"
    return "other ops"


def profile_steps(step, steps: int) -> tuple[float, dict[str, float], list[tuple[str, float]]]:
    """Wall seconds per step, seconds per step in each kind of op, and the costliest ops."""
    bench.synchronize()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        for _ in range(steps):
            step()
        bench.synchronize()
        wall = (time.perf_counter() - started) / steps
    by_kind = dict.fromkeys(KINDS, 0.0)
    for event in prof.events():
        by_kind[kind_of(event)] += event.self_cpu_time_total / 1e6 / steps
    ops = [(e.key, e.self_cpu_time_total / 1e6 / steps) for e in prof.key_averages()]
    return wall, by_kind, sorted(ops, key=lambda op: -op[1])[:12]


def profile_setting(name: str, batch: int, data, run_dir: Path, *, warmup: int, steps: int) -> dict:
    if name == "reference":
        step = bench.reference_step(batch, data)
    else:
        config = preset("mnist").replace(batch_size=batch, **bench.PAPER_OBJECTIVE | bench.SETTINGS[name])
        step = bench.trainer_step(bench.trainer_for(config, data, run_dir))
    for _ in range(warmup):
        step()
    flops = bench.flops_per_image(step, batch) * batch
    wall, by_kind, top = profile_steps(step, steps)
    arithmetic = by_kind["convolution"] + by_kind["matmul"]
    return {
        "setting": name,
        "batch": batch,
        "step_s": wall,
        "seconds_per_step": by_kind | {"outside ops": max(wall - sum(by_kind.values()), 0.0)},
        "flops_per_step": flops,
        "conv_matmul_gflops": flops / arithmetic / 1e9 if arithmetic else None,
        "top_ops": top,
    }


def print_table(result: dict) -> None:
    ceilings = result["ceilings"]
    print(f"device: {result['device']}, CPU: {result['cpu']} ({result['threads']} threads)")
    print(bench.ceilings_line(ceilings))
    print("share of step time (profiled; the profiler adds a few microseconds to every op):")
    columns = [*KINDS, "outside ops"]
    print(f"{'setting':<22}{'batch':>6}{'ms/step':>9}" + "".join(f"{c:>13}" for c in columns) + "  conv+mm GFLOP/s")
    for row in result["rows"]:
        shares = "".join(f"{row['seconds_per_step'][c] / row['step_s']:>13.0%}" for c in columns)
        ceiling = ceilings["bf16_gflops" if "bf16" in row["setting"] else "fp32_gflops"]
        rate = row["conv_matmul_gflops"]
        rate_text = f"{rate:.0f} ({rate / ceiling:.0%} of ceiling)" if rate else "-"
        print(f"{row['setting']:<22}{row['batch']:>6}{row['step_s'] * 1e3:>9.1f}{shares}  {rate_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", help=f"default: {' '.join(DEFAULT_SETTINGS)}")
    parser.add_argument("--batches", type=int, nargs="+", default=[64])
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="profiled steps per setting")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: CPU-side time, i.e. launch cost")
    parser.add_argument("--matmul-size", type=int, help="side of the ceilings' square products (2048; GPU 8192)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profile_step.json"))
    args = parser.parse_args()
    unknown = set(args.settings or ()) - {"reference", *bench.SETTINGS}
    if unknown:
        parser.error(f"unknown settings: {', '.join(sorted(unknown))}")
    bench.DEVICE = torch.device(args.device)
    data = bench.synthetic_mnist()
    ceilings = bench.matmul_ceilings(args.matmul_size)
    args.settings = args.settings or bench.default_settings(DEFAULT_SETTINGS, ceilings)
    with tempfile.TemporaryDirectory() as tmp:  # the trainers' run directories, not kept
        # The reference first, with the process's defaults (bench.py says why).
        runs = sorted(
            ((name, batch) for batch in args.batches for name in args.settings), key=lambda r: r[0] != "reference"
        )
        rows = [
            profile_setting(name, batch, data, Path(tmp) / f"{name}-{batch}", warmup=args.warmup, steps=args.steps)
            for name, batch in runs
        ]
    result = {
        "device": str(bench.DEVICE),
        "cpu": cpu_info().model,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "ceilings": ceilings,
        "rows": rows,
    }
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
