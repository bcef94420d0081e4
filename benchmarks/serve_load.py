"""Latency and load of ``infogan serve`` on loopback: prints a table and writes JSON.

Starts ``python -m infogan.cli serve MODEL --port 0`` in its own process (or measures a running
server given with ``--url``), then:

1. latency: each endpoint called one request at a time, as a page does while a slider moves;
2. bursts: ``--requests`` calls from ``--concurrency`` threads at once, each burst cut off after
   ``--time-limit`` seconds: slider-like ``generate`` calls with random codes and seeds, then a
   mix of generate, traverse and encode.

    PYTHONPATH=. python benchmarks/serve_load.py runs/mnist --out benchmarks/serve_load.json

Without a model it measures a random model of the MNIST layout (the same cost per call).
The client shares the machine with the server, so on a small machine it takes CPU from it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx2
import numpy as np
import torch
from PIL import Image

Call = Callable[[httpx2.Client, random.Random], httpx2.Response]


def _digit_png() -> bytes:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255  # a "1"
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


DIGIT = _digit_png()


def slider_move(http: httpx2.Client, rng: random.Random) -> httpx2.Response:
    """What the page asks for when a control moves: 16 samples with the current codes."""
    codes = {"c1": rng.randrange(10), "c2": round(rng.uniform(-2, 2), 2), "c3": round(rng.uniform(-2, 2), 2)}
    return http.get("/api/generate", params={"n": 16, "columns": 4, "seed": rng.randrange(1000), **codes})


ENDPOINTS: dict[str, Call] = {
    "GET /api/model": lambda http, rng: http.get("/api/model"),
    "GET /api/generate n=16": slider_move,
    "GET /api/generate n=64": lambda http, rng: http.get("/api/generate", params={"n": 64, "seed": rng.randrange(99)}),
    "GET /api/traverse c2, 10 steps": lambda http, rng: http.get("/api/traverse", params={"code": "c2"}),
    "POST /api/encode 28x28 PNG": lambda http, rng: http.post("/api/encode", content=DIGIT),
}
MIX: list[Call] = [
    slider_move,
    slider_move,
    ENDPOINTS["GET /api/traverse c2, 10 steps"],
    ENDPOINTS["POST /api/encode 28x28 PNG"],
]


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50, p95 and max of latencies, in milliseconds."""
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max())}


def timed(call: Call, http: httpx2.Client, rng: random.Random) -> tuple[float, int]:
    """One call's latency in seconds and its status (0: no response)."""
    start = time.perf_counter()
    try:
        status = call(http, rng).status_code
    except httpx2.HTTPError:
        status = 0
    return time.perf_counter() - start, status


def latency(http: httpx2.Client, repeats: int) -> dict[str, dict[str, float]]:
    """Each endpoint called ``repeats`` times in a row, after two warm-up calls."""
    rng, rows = random.Random(0), {}
    for name, call in ENDPOINTS.items():
        for _ in range(2):
            timed(call, http, rng)
        results = [timed(call, http, rng) for _ in range(repeats)]
        assert all(status == 200 for _, status in results), f"{name}: {[s for _, s in results]}"
        rows[name] = percentiles([t for t, _ in results])
    return rows


def burst(http: httpx2.Client, calls: list[Call], requests: int, concurrency: int, limit_s: float) -> dict:
    """``requests`` calls from ``concurrency`` threads; calls not started within ``limit_s`` are skipped."""
    start = time.perf_counter()

    def one(i: int) -> tuple[float, int] | None:
        if time.perf_counter() - start > limit_s:
            return None
        return timed(calls[i % len(calls)], http, random.Random(i))

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = [r for r in pool.map(one, range(requests)) if r is not None]
    wall = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "requests": len(results),
        "skipped": requests - len(results),
        "concurrency": concurrency,
        "wall_s": wall,
        "requests_per_s": len(results) / wall,
        "statuses": statuses,
        **percentiles([t for t, _ in results]),
    }


@contextmanager
def started_server(model: str | None, device: str) -> Iterator[str]:
    """``infogan serve`` on a free loopback port in a child process; yields its URL."""
    with tempfile.TemporaryDirectory() as folder:
        if model is None:
            from infogan import InfoGAN

            model = str(Path(folder) / "random.safetensors")
            InfoGAN().save(model)
        command = [sys.executable, "-m", "infogan.cli", "serve", model, "--port", "0", "--device", device]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline() if child.stdout else ""
            found = re.search(r"http://\S+?/", line)
            if not found:
                raise SystemExit(f"the server did not start: {line!r}")
            yield found.group(0).rstrip("/")
        finally:
            child.terminate()
            child.wait(timeout=10)


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    """Where the figures come from."""
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "load_average_1min_at_start": os.getloadavg()[0],  # other jobs on a shared machine
    }


def table(report: dict) -> str:
    """The figures as a plain-text table."""
    lines = [f"{'one at a time':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for name, row in report["latency"].items():
        lines.append(f"{name:34} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f}")
    lines.append("")
    lines.append(
        f"{'burst':22} {'requests':>8} {'threads':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  statuses"
    )
    for name, row in report["bursts"].items():
        lines.append(
            f"{name:22} {row['requests']:8d} {row['concurrency']:7d} {row['requests_per_s']:7.1f} "
            f"{row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f}  {row['statuses']}"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help="run directory or checkpoint (default: a random MNIST-layout model)")
    parser.add_argument("--url", help="measure this running server instead of starting one")
    parser.add_argument("--device", default="cpu", help="the server's --device (cpu)")
    parser.add_argument("--repeats", type=int, default=30, help="calls per endpoint for latency (30)")
    parser.add_argument("--requests", type=int, default=300, help="calls per burst (300)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads in a burst (16)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds after which a burst starts no calls")
    parser.add_argument("--out", default="serve_load.json", help="JSON file to write (serve_load.json)")
    args = parser.parse_args()

    server = nullcontext(args.url) if args.url else started_server(args.model, args.device)
    with server as url, httpx2.Client(base_url=url, timeout=60, limits=httpx2.Limits(max_connections=64)) as http:
        report = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "model": args.model or "random MNIST-layout model",
            "machine": machine(),
            "latency": latency(http, args.repeats),
            "bursts": {
                "generate (slider)": burst(http, [slider_move], args.requests, args.concurrency, args.time_limit),
                "mixed": burst(http, MIX, args.requests, args.concurrency, args.time_limit),
            },
        }
    report["machine"]["load_average_1min_at_end"] = os.getloadavg()[0]
    print(table(report))
    print(
        f"\nload average (1 min) {report['machine']['load_average_1min_at_start']:.1f} at start, "
        f"{report['machine']['load_average_1min_at_end']:.1f} at end, on {os.cpu_count()} cores"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
