"""Training, sampling and encoding throughput of the MNIST preset, against a reference loop.

One run measures the machine's matmul ceilings, the FLOPs of a training step (counted by
``torch.utils.flop_counter``), steady-state images/s of the project's trainer for each speed
setting and of a plain fp32 eager reference loop, sampling and encoding throughput, and peak
resident memory. Prints a table and writes JSON.

    python benchmarks/bench.py --out benchmarks/results/bench.json
    python benchmarks/bench.py --device cuda --out benchmarks/results/bench_cuda.json

On a GPU, timed windows end with a synchronisation and peak memory is the GPU's. Where the
hardware has no native bfloat16 (``infogan.hardware.native_bf16``; an AVX2-only CPU, say), the
bf16 settings are left out unless named in ``--settings``, and the bf16 ceiling is measured on a
tiny product only (an emulated 2048² bf16 product takes minutes), as the table says.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from infogan.config import PAPER_OBJECTIVE, TrainConfig, preset
from infogan.data import ImageDataset
from infogan.hardware import cpu_info, native_bf16, shown_flags
from infogan.model import InfoGAN
from infogan.training import Trainer

# Every setting names its precision: the trainer's default, ``auto``, differs between machines.
SETTINGS: dict[str, dict[str, object]] = {
    "fp32": {"precision": "fp32"},
    "fp32+channels_last": {"precision": "fp32", "channels_last": True},
    "bf16": {"precision": "bf16"},
    "bf16+channels_last": {"precision": "bf16", "channels_last": True},
    # the preset's objective; its weight changes no work, so rows measured at other weights compare
    "fp32+consistency": {"precision": "fp32", "consistency": preset("mnist").consistency, "info_reaches": "body"},
    # the default's objective plus IIC on real images (--iic 4 --iic-warp 1.5), to show what IIC costs
    "fp32+iic": {"precision": "fp32", "consistency": preset("mnist").consistency, "info_reaches": "body"}
    | {"iic": 4.0, "iic_warp": 1.5},
    "fp32+compile": {"precision": "fp32", "compile": True},
    "bf16+compile": {"precision": "bf16", "compile": True},
}
DEFAULT_SETTINGS = ["fp32", "fp32+channels_last", "bf16", "bf16+channels_last", "fp32+consistency", "fp32+iic"]
# Every setting starts from the paper's objective, which the reference loop implements; the
# "+consistency" and "+iic" rows add the preset's terms and IIC, to show what they cost.
DEVICE = torch.device("cpu")  # set by --device
EMULATED_BF16_SIZE = 256  # the bf16 ceiling's product where bf16 is not native: a second, not minutes


def synchronize() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def matmul_gflops(dtype: torch.dtype, size: int, repeats: int = 10) -> float:
    """Sustained GFLOP/s of a square matrix product in ``dtype``."""
    a, b = (torch.randn(size, size, dtype=dtype, device=DEVICE) for _ in range(2))
    for _ in range(2):
        a @ b
    synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def matmul_ceilings(size: int | None = None) -> dict[str, object]:
    """fp32 and bf16 GFLOP/s of square products of ``size`` (2048, 8192 on a GPU); bf16 on a tiny
    product where the hardware does not run it natively, and the sizes and nativeness with them."""
    size = size or (8192 if DEVICE.type == "cuda" else 2048)
    native, why = native_bf16(DEVICE)
    bf16_size = size if native else min(size, EMULATED_BF16_SIZE)
    return {
        "fp32_gflops": matmul_gflops(torch.float32, size),
        "bf16_gflops": matmul_gflops(torch.bfloat16, bf16_size),
        "size": size,
        "bf16_size": bf16_size,
        "bf16_native": native,
        "bf16_why": why,
    }


def ceilings_line(ceilings: dict) -> str:
    """The ceilings as one line, saying when bf16's is an emulated tiny product."""
    bf16 = f"bf16 {ceilings['bf16_gflops']:.0f} GFLOP/s"
    if not ceilings["bf16_native"]:
        bf16 += f" (not native, {ceilings['bf16_size']}² product only: {ceilings['bf16_why']})"
    return f"matmul ceilings ({ceilings['size']}² products): fp32 {ceilings['fp32_gflops']:.0f} GFLOP/s, {bf16}"


def default_settings(names: list[str], ceilings: dict) -> list[str]:
    """``names`` without the bf16 settings where bf16 is not native (said on stdout)."""
    if ceilings["bf16_native"]:
        return names
    kept = [name for name in names if "bf16" not in name]
    if kept != names:
        print(f"bf16 settings left out ({ceilings['bf16_why']}); name them in --settings to measure them anyway")
    return kept


def images_per_second(step: Callable[[], None], batch: int, *, warmup: int, windows: int, steps: int) -> float:
    """Median images/s over ``windows`` timed windows of ``steps`` steps, after ``warmup`` steps."""
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(windows):
        synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def synthetic_mnist(n: int = 4096) -> ImageDataset:
    """MNIST-shaped random images: throughput does not depend on pixel values."""
    return ImageDataset(torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(DEVICE))


def trainer_for(config: TrainConfig, data: ImageDataset, run_dir: Path) -> Trainer:
    return Trainer(config, run_dir, data, device=DEVICE, progress=False, tensorboard=False)


def trainer_step(trainer: Trainer) -> Callable[[], None]:
    """One training step of the project's trainer, data drawn as in ``fit``."""
    counter = iter(range(10**9))

    def step() -> None:
        trainer.train_step(trainer.real_batch(next(counter)))

    return step


def reference_step(batch: int, data: ImageDataset) -> Callable[[], None]:
    """The straightforward loop: fp32 eager, torch.optim.Adam, one D step then one G step."""
    config = preset("mnist")
    model = InfoGAN(config.model, device=DEVICE)
    nets, spec = model.nets.train(), model.spec
    opt_d = torch.optim.Adam(
        [*nets.body.parameters(), *nets.d_head.parameters(), *nets.q_head.parameters()],
        lr=config.lr_d,
        betas=config.betas,
    )
    opt_g = torch.optim.Adam(nets.generator.parameters(), lr=config.lr_g, betas=config.betas)

    def info_loss(features: torch.Tensor, latents) -> torch.Tensor:
        reading = spec.read_q(nets.q_head(features))
        return spec.information_loss(spec.information_terms(reading, latents))

    def step() -> None:
        real = data.images[torch.randint(len(data), (batch,), device=DEVICE)]
        latents = spec.sample(batch, device=DEVICE)
        fake = nets.generator(spec.generator_input(latents))
        opt_d.zero_grad()
        real_logits, fake_features = nets.d_head(nets.body(real)), nets.body(fake.detach())
        fake_logits = nets.d_head(fake_features)
        d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        d_loss = d_loss + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        (d_loss + info_loss(fake_features, latents)).backward()
        opt_d.step()
        opt_g.zero_grad()
        features = nets.body(fake)
        g_logits = nets.d_head(features)
        g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
        (g_loss + info_loss(features, latents)).backward()
        opt_g.step()

    return step


def reference_row(batch: int, data: ImageDataset, timing: dict[str, int]) -> dict[str, object]:
    """The reference loop's images/s and FLOPs per image at ``batch``."""
    rate = images_per_second(reference_step(batch, data), batch, **timing)
    work = flops_per_image(reference_step(batch, data), batch)
    return {"batch": batch, "setting": "reference", "images_per_s": rate, "flops_per_image": work}


def flops_per_image(step: Callable[[], None], batch: int) -> float:
    """FLOPs of one call of ``step`` divided by the batch size."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / batch


def inference_rates(batch: int, repeats: int) -> dict[str, float]:
    model = InfoGAN(preset("mnist").model, device=DEVICE)
    images = model.generate(batch, seed=0)
    sample = images_per_second(lambda: model.generate(batch, seed=1), batch, warmup=1, windows=3, steps=repeats)
    encode = images_per_second(lambda: model.encode(images), batch, warmup=1, windows=3, steps=repeats)
    return {"sample_images_per_s": sample, "encode_images_per_s": encode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), help=f"default: {' '.join(DEFAULT_SETTINGS)}")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8, help="steps per timed window")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--matmul-size", type=int, help="side of the ceilings' square products (2048; GPU 8192)")
    parser.add_argument("--inference-batch", type=int, default=1024, help="batch of the sampling and encoding rates")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench.json"))
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)

    torch.manual_seed(0)
    data = synthetic_mnist()
    ceilings = matmul_ceilings(args.matmul_size)
    args.settings = args.settings or default_settings(DEFAULT_SETTINGS, ceilings)
    timing = {"warmup": args.warmup, "windows": args.windows, "steps": args.steps}
    # The reference runs first, with the process's defaults: a trainer on the CPU changes how
    # freed memory is kept (infogan.hardware.keep_freed_memory), for every loop that follows.
    rows = [reference_row(batch, data, timing) for batch in args.batches]
    with tempfile.TemporaryDirectory() as tmp:
        for batch in args.batches:
            base = preset("mnist").replace(batch_size=batch, **PAPER_OBJECTIVE)
            # The trainer skips D's weight gradients in G's step; the reference computes them.
            flops = flops_per_image(trainer_step(trainer_for(base, data, Path(tmp) / "flops")), batch)
            for name in args.settings:
                config = base.replace(**SETTINGS[name])
                trainer = trainer_for(config, data, Path(tmp) / name)
                rate = images_per_second(trainer_step(trainer), batch, **timing)
                work = flops
                if config.consistency or config.iic:  # more work per image than the paper's objective
                    work = flops_per_image(trainer_step(trainer_for(config, data, Path(tmp) / "flops")), batch)
                rows.append({"batch": batch, "setting": name, "images_per_s": rate, "flops_per_image": work})
    rows.sort(key=lambda row: row["batch"])  # stable: each batch's reference stays first
    for row in rows:
        reference = next(r for r in rows if r["batch"] == row["batch"] and r["setting"] == "reference")
        row["speedup_vs_reference"] = row["images_per_s"] / reference["images_per_s"]
        ceiling = ceilings["bf16_gflops" if "bf16" in row["setting"] else "fp32_gflops"]
        row["fraction_of_ceiling"] = row["images_per_s"] * row["flops_per_image"] / 1e9 / ceiling
    inference = inference_rates(args.inference_batch, repeats=3)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = cpu_info()
    result = {
        "machine": {
            "platform": platform.platform(),
            "device": torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu",
            "processor": platform.processor() or platform.machine(),
            "cpu": cpu.model,
            "cpu_flags": shown_flags(cpu),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "ceilings": ceilings,
        "training": rows,
        "inference": inference | {"batch": args.inference_batch},
        "peak_rss_mib": peak_rss_mib,
    }
    if DEVICE.type == "cuda":
        result["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated(DEVICE) / 2**20
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


def print_table(result: dict) -> None:
    print(f"device: {result['machine']['device']}, CPU: {result['machine']['cpu']}")
    print(f"{ceilings_line(result['ceilings'])} ({result['machine']['threads']} threads)")
    print(f"{'batch':>5} {'setting':<20} {'images/s':>9} {'vs ref':>7} {'of ceiling':>10} {'MFLOP/img':>10}")
    for row in result["training"]:
        print(
            f"{row['batch']:>5} {row['setting']:<20} {row['images_per_s']:>9.0f} {row['speedup_vs_reference']:>6.2f}x"
            f" {row['fraction_of_ceiling']:>9.1%} {row['flops_per_image'] / 1e6:>10.0f}"
        )
    inference = result["inference"]
    print(
        f"sampling {inference['sample_images_per_s']:.0f} images/s, encoding {inference['encode_images_per_s']:.0f}"
        f" images/s (batch {inference['batch']}); peak RSS {result['peak_rss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
