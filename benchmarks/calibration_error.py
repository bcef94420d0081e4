"""How close generated images come to a slant or stroke thickness asked for in units.

For each run: calibrate slant and thickness (``infogan calibrate --properties
slant,thickness``, on draws of seed 0; ``--stored`` uses the maps already in the checkpoint),
then for every requested value generate ``--images`` samples with fresh noise and codes
(seed 1000 on), the property's code set through its map, and measure them. Reported per
property: the range the code reaches over the calibrated span, and over the requests within
it the median absolute error of the images' median (what the map promises: it was fitted to
medians) and of single images; requests outside the reach are listed as unreachable.

    python benchmarks/calibration_error.py runs/seed0 runs/seed1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from infogan import InfoGAN, properties
from infogan.calibration import UnitMap

FRESH_SEED = 1000  # calibration draws use seed 0; requests are measured on other draws


def request_errors(model: InfoGAN, unit_map: UnitMap, targets: list[float], images: int) -> dict:
    """Per request within reach: the images' median, its error, and every image's error."""
    measure = properties.get(unit_map.property).measure
    low, high = unit_map.reach
    rows, unreachable, per_image = [], [], []
    for i, target in enumerate(targets):
        if not low <= target <= high:
            unreachable.append(target)
            continue
        generated = model.generate(images, units={unit_map.property: target}, seed=FRESH_SEED + i)
        values = measure(generated.cpu().numpy())
        values = values[np.isfinite(values)]
        median = float(np.median(values))
        rows.append({"requested": target, "code": unit_map.to_code(target), "median": median})
        per_image += list(np.abs(values - target))
    errors = [abs(r["median"] - r["requested"]) for r in rows]
    return {
        "code": unit_map.code,
        "unit": unit_map.unit,
        "rho": unit_map.rho,
        "reach": [low, high],
        "median_abs_error": float(np.median(errors)) if errors else None,
        "image_median_abs_error": float(np.median(per_image)) if per_image else None,
        "unreachable": unreachable,
        "requests": rows,
    }


def measure_run(run: str, args: argparse.Namespace) -> dict:
    """Calibrate (unless --stored) and measure both properties' requests for one run."""
    model = InfoGAN.load(run, device=args.device)
    if not args.stored:
        model.calibrate(draws=args.draws, steps=args.steps, candidates=["slant", "thickness"], min_rho=0.0)
    maps = {m.property: m for m in model.calibration.values()}
    targets = {"slant": args.slant, "thickness": args.thickness}
    return {"run": run, **{p: request_errors(model, maps[p], t, args.images) for p, t in targets.items() if p in maps}}


def _row(run: str, prop: str, r: dict) -> str:
    reach = f"{r['reach'][0]:.1f}..{r['reach'][1]:.1f} {r['unit']}"
    errors = [f"{v:.2f}" if v is not None else "-" for v in (r["median_abs_error"], r["image_median_abs_error"])]
    return f"{run:<40} {prop:<10} {r['code']:<5} {reach:>16} {errors[0]:>11} {errors[1]:>10} {r['unreachable']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories or checkpoint files of grayscale models")
    parser.add_argument("--slant", type=float, nargs="+", default=list(range(-30, 31, 5)), help="degrees (-30..30)")
    parser.add_argument("--thickness", type=float, nargs="+", default=[1.5, 2.0, 2.5, 3.0, 3.5, 4.0], help="pixels")
    parser.add_argument("--images", type=int, default=64, help="images per request (64)")
    parser.add_argument("--draws", type=int, default=64, help="calibration draws (64)")
    parser.add_argument("--steps", type=int, default=9, help="calibration grid over -2..2 (9)")
    parser.add_argument("--stored", action="store_true", help="use the checkpoint's maps instead of calibrating")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/calibration_error.json"))
    args = parser.parse_args()
    results = [measure_run(run, args) for run in args.runs]
    print(f"{'run':<40} {'property':<10} {'code':<5} {'reach':>16} {'median err':>11} {'image err':>10} unreachable")
    for result in results:
        for prop in (p for p in ("slant", "thickness") if p in result):
            print(_row(result["run"], prop, result[prop]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "results": results}, indent=1))
    print(args.out)


if __name__ == "__main__":
    main()
