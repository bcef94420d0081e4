"""``infogan``: a thin command-line layer over the Python API."""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

from infogan import __version__
from infogan.config import DEFAULT_PRESET, PAPER_OBJECTIVE, PRECISIONS, PRESET_NOTES, PRESETS, TrainConfig, preset
from infogan.data import DATA_MODES, DATASETS, dataset_names, folder_only
from infogan.errors import InfoGANError, InfoGANWarning
from infogan.latent import LatentSpec
from infogan.networks import NetworkConfig
from infogan.options import declared
from infogan.run import (
    CALIBRATION_NAME,
    EVALUATION_NAME,
    ONNX_DIR,
    SAMPLES_IMAGE,
    TRAVERSALS_DIR,
    RunDir,
    output_beside,
)

EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130
MAX_SAMPLES = 1024  # images in one `sample` grid (32 × 32)
MAX_TRAVERSAL_STEPS = 100


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option raises InfoGANError (one line, exit 2) like every other error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own pattern takes "-2e0" or "-inf" for an option, so `--span -2e0 2` failed:
        # any argument that float() reads is a value here (no option of ours looks like a number)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-inf(inity)?$", re.I)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InfoGANError(f"{self.prog}: {message}")


# ----- parsing helpers ----------------------------------------------------------------------
def _code_assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not name or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER such as c1=3 or c2=0.5, got {text!r}")
    return name.strip(), number


def _code_choice(text: str) -> tuple[str, float | str]:
    """NAME=VALUE where a categorical code's value may be a class name (c1=seven)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as c1=3, c1=seven or c2=0.5, got {text!r}")
    try:
        return _code_assignment(text)
    except argparse.ArgumentTypeError:
        return name.strip(), value.strip()


def _unit_request(text: str) -> tuple[str, float]:
    """PROPERTY=NUMBER, e.g. slant=20."""
    try:
        return _code_assignment(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected PROPERTY=NUMBER such as slant=20, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_in(low: int, high: int):
    """An argparse type: an integer in low..high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in {low}..{high}, got {text!r}")
        return value

    return parse


_SEED = declared(TrainConfig)["seed"]  # other verbs' seeds take the run seed's bounds
_seed = _int_in(int(_SEED.low), int(_SEED.high))


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _two_or_more(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected at least 2, got {text!r}")
    return value


# Flags that several verbs take, declared once; a verb may word the help its own way.
_SHARED_FLAGS: dict[str, dict[str, Any]] = {
    "--device": {"default": "auto", "help": "auto (default), cpu, cuda, cuda:N or mps"},
    "--data-root": {"help": "dataset folder (default: $INFOGAN_DATA_ROOT or ~/.cache/infogan/data)"},
    "--seed": {"type": _seed, "default": 0},
}


def _shared(parser: argparse.ArgumentParser, flag: str, **overrides: Any) -> None:
    parser.add_argument(flag, **(_SHARED_FLAGS[flag] | overrides))


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="RUN_OR_CKPT", help="a run directory or a checkpoint file")
    _shared(parser, "--device")


def _data_arguments(parser: argparse.ArgumentParser, *, dataset_default: str | None) -> None:
    parser.add_argument("--dataset", default=dataset_default, help=f"a named dataset ({', '.join(dataset_names())})")
    parser.add_argument("--split", default="test", choices=["train", "test"], help="dataset split (test)")
    _shared(parser, "--data-root")


# ----- train --------------------------------------------------------------------------------
# The configs whose declared options (infogan.options) are train's flags, by where each lands in replace().
_CONFIG_GROUPS = {"train": TrainConfig, "network": NetworkConfig, "latent": LatentSpec}


def _config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per option of the run's configs: valued ones, then switches. Each defaults to None, "not
    given", so that a resume can compare the rest with the run and a preset fills them in."""
    options = [(name, o) for config in _CONFIG_GROUPS.values() for name, o in declared(config).items() if o.cli]
    for name, o in options:
        if o.parse is not bool:
            parser.add_argument(o.flag_for(name), dest=name, type=o.parse, choices=o.choices, help=o.help)
    for name, o in options:
        if o.parse is bool:
            parser.add_argument(o.flag_for(name), dest=name, action="store_const", const=o.sets, help=o.help)


def _add_train(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a model",
        description="Train an InfoGAN.",
        epilog=_presets_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", help=f"starting configuration ({', '.join(PRESETS)}; {DEFAULT_PRESET} by default)")
    parser.add_argument("--out", help="run directory (default: runs/<preset>-seed<seed>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument(
        "--epochs", type=_positive_float, help="train for this many passes over the data instead of --steps"
    )
    _config_flags(parser)
    parser.add_argument(
        "--paper-objective",
        action="store_true",
        default=None,
        help="the paper's objective alone: no consistency or IIC term, information loss into Q's head only",
    )
    parser.add_argument(
        "--data",
        metavar="FOLDER",
        help="train on the images under FOLDER (recursively; class subfolders become labels), "
        "cropped and resized to the networks' size",
    )
    parser.add_argument(
        "--strict-images", action="store_true", help="stop on an unreadable image file instead of skipping it"
    )
    parser.add_argument(
        "--data-mode",
        choices=list(DATA_MODES),
        default="auto",
        help="resident: one tensor on the device; stream: a DataLoader; auto (default): resident when it fits",
    )
    parser.add_argument(
        "--workers", type=_int_in(0, 1024), help="DataLoader processes in stream mode (default: half the CPUs)"
    )
    _shared(parser, "--data-root")
    _shared(parser, "--device")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_train)


def _presets_epilog() -> str:
    lines = ["presets (infogan presets shows each one's layout):"]
    for name, config in PRESETS.items():
        data = " --data FOLDER" if folder_only(config.dataset) else ""
        lines.append(f"  {name:<14} {PRESET_NOTES[name]}")
        lines.append(f"  {'':<14} infogan train --preset {name}{data} --out runs/{name}")
    return "\n".join(lines)


def _requested_config(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    given = {group: _given(args, config) for group, config in _CONFIG_GROUPS.items()}
    changes = (dict(PAPER_OBJECTIVE) if args.paper_objective else {}) | given["train"]
    network = given["network"]
    if "arch" in network:  # another architecture starts from its own size unless one is given
        network = {"image_size": None, "channels": None, **network}
    if args.data:
        changes |= {"dataset": "folder", "data_path": str(Path(args.data).expanduser().resolve())}
    return base.replace(latent=given["latent"], network=network, **changes)


def _given(args: argparse.Namespace, config: type) -> dict[str, Any]:
    """The options of ``config`` given on the command line."""
    options = [name for name, o in declared(config).items() if o.cli]
    return {name: getattr(args, name) for name in options if getattr(args, name) is not None}


def _train(args: argparse.Namespace) -> int:
    from infogan.distributed import shutdown, world_from_env

    world = world_from_env()  # one process, or one rank of a torchrun launch
    try:
        return _train_in_world(args, world)
    finally:
        shutdown(world)


def _train_in_world(args: argparse.Namespace, world) -> int:
    from infogan.distributed import initialise
    from infogan.model import resolve_device
    from infogan.training import Trainer, TrainingInterrupted

    _check_train_flags(args)
    # With --resume, a --preset given is compared with the run like every other option (check_resumable)
    base = (
        RunDir(args.resume).read_config() if args.resume and not args.preset else preset(args.preset or DEFAULT_PRESET)
    )
    config = _requested_config(args, base)
    run_dir = Path(args.resume or args.out or f"runs/{args.preset or DEFAULT_PRESET}-seed{config.seed}")
    if not args.resume and RunDir(run_dir).holds_run():
        raise InfoGANError(f"{run_dir} already holds a run: pass --resume {run_dir} or choose another --out")
    if args.resume:  # config.json's sizes against the checkpoint's tensors, before a model of those sizes is built
        RunDir(run_dir).check_resumable(config)
    device = initialise(world, resolve_device(args.device))
    train = _load_data(config, "train", args, progress=not args.no_progress and world.is_main)
    if args.epochs is not None:
        steps = args.epochs * (len(train) // (config.batch_size * world.size))
        if steps > 2**53:  # beyond, round() stops being exact and float overflow looms
            raise InfoGANError(f"--epochs {args.epochs:g} is {steps:.3g} steps: too many")
        config = config.replace(steps=max(1, round(steps)))
    test = _eval_data(config, train, args) if config.eval_every and world.is_main else None
    trainer = Trainer(
        config,
        run_dir,
        train,
        device=device,
        eval_data=test,
        progress=not args.no_progress,
        world=world,
        data_mode=args.data_mode,
        workers=args.workers,
    )
    if args.resume:
        trainer.restore(run_dir)
        if trainer.step >= config.steps:
            raise InfoGANError(f"{run_dir} already reached step {trainer.step}; raise --steps to train further")
    if world.is_main and (config.precision == "auto" or trainer.precision.warning):  # an explicit choice is as asked
        print(f"infogan: {trainer.precision.describe()}", file=sys.stderr)
    try:
        last = trainer.fit()
    except TrainingInterrupted as stopped:
        print(f"infogan: {stopped}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if world.is_main:
        summary = {k: round(v, 4) for k, v in last.items()}
        data = {"data_mode": trainer.batches.mode, "images": len(train)}
        if config.dataset == "folder":
            data["skipped_images"] = len(train.skipped)
        progress = {"step": trainer.step, "stopped_early": trainer.stopped_early, "world_size": world.size}
        print(json.dumps({"run": str(run_dir), **progress, **data, **summary}))
    return 0


def _check_train_flags(args: argparse.Namespace) -> None:
    """Refuse flags that contradict each other, rather than letting one of them win silently."""
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise InfoGANError("give either --resume RUN_DIR or --out RUN_DIR, not two different folders")
    if args.epochs is not None and args.steps is not None:
        raise InfoGANError("give the length as --steps or as --epochs, not both")


# Test images scored at each evaluation: all of MNIST's test set, a seeded sample of larger ones.
EVAL_IMAGES = 10_000


def _load_data(config: TrainConfig, split: str, args: argparse.Namespace, *, progress: bool = False):
    """The run's dataset, sized for its networks; reports skipped image files on stderr."""
    from infogan.data import load_dataset

    data = load_dataset(
        config.dataset,
        split,
        args.data_root,
        folder=config.data_path,
        shape=config.model.network.image_shape,
        strict=getattr(args, "strict_images", False),
        progress=progress,
    )
    if data.skipped:
        print(
            f"infogan: skipped {len(data.skipped)} unreadable image file(s) of {len(data) + len(data.skipped)} "
            f"under {config.data_path} (--strict-images stops instead), first: {data.skipped[0]}",
            file=sys.stderr,
        )
    return data


def _eval_data(config: TrainConfig, train, args: argparse.Namespace):
    """Labelled images to score the categorical codes on: the test split, or a folder's own images."""
    if config.dataset == "folder":
        data = train if train.labels is not None else None
    else:
        data = _load_data(config, "test", args) if DATASETS.lookup(config.dataset).labelled else None
    return data.subset(EVAL_IMAGES, seed=config.seed) if data is not None else None


# ----- using a model ------------------------------------------------------------------------
def _load(args: argparse.Namespace):
    from infogan.model import InfoGAN

    return InfoGAN.load(args.model, device=args.device)


def _default_out(args: argparse.Namespace, name: str) -> Path:
    """Where a command writes ``name`` for ``--model`` unless told: beside the model (run.output_beside)."""
    return output_beside(Path(args.model), name)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sample",
        help="a grid of generated images",
        description="Generate a grid of samples, optionally with codes fixed.",
    )
    _model_arguments(parser)
    parser.add_argument(
        "--code",
        action="append",
        type=_code_choice,
        default=[],
        metavar="NAME=VALUE",
        help="fix a code for every sample, e.g. --code c1=3 (or a class name, c1=seven) --code c2=0.5 (repeatable)",
    )
    parser.add_argument(
        "--set",
        action="append",
        type=_unit_request,
        default=[],
        metavar="PROPERTY=VALUE",
        help="a calibrated code's property in its unit, e.g. --set slant=20 (see infogan calibrate; repeatable)",
    )
    parser.add_argument(
        "-n", "--num", type=_int_in(1, MAX_SAMPLES), default=100, help=f"number of samples (100, at most {MAX_SAMPLES})"
    )
    parser.add_argument("--columns", type=_positive_int, default=10, help="images per grid row (10)")
    _shared(parser, "--seed", help="noise seed (0)")
    parser.add_argument("--out", help="PNG to write (default: RUN/samples.png)")
    parser.set_defaults(run=_sample)


def _sample(args: argparse.Namespace) -> int:
    from infogan import viz

    names = [name for name, _ in args.code]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InfoGANError(f"--code {repeated[0]} was given {names.count(repeated[0])} times; give each code once")
    model = _load(args)
    images = model.generate(args.num, codes=dict(args.code), units=dict(args.set), seed=args.seed)
    out = Path(args.out or _default_out(args, SAMPLES_IMAGE))
    out = viz.save_png(viz.grid_image(images, columns=args.columns), out)
    print(out)
    return 0


def _add_traverse(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "traverse",
        help="vary one code, hold the rest (the paper's Figure 2)",
        description="Latent traversals: one PNG per code.",
    )
    _model_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--code", help="the code to vary, e.g. c2")
    which.add_argument("--all", action="store_true", help="one PNG for every code")
    parser.add_argument(
        "--span",
        type=_finite_float,
        nargs=2,
        default=(-2.0, 2.0),
        metavar=("LOW", "HIGH"),
        help="range of a continuous code (-2 2)",
    )
    parser.add_argument(
        "--steps",
        type=_int_in(1, MAX_TRAVERSAL_STEPS),
        default=10,
        help=f"columns per row (10, at most {MAX_TRAVERSAL_STEPS})",
    )
    _shared(parser, "--seed", help="noise seed (0)")
    parser.add_argument("--out", help="folder for traverse_<code>.png (default: RUN/traversals)")
    parser.set_defaults(run=_traverse)


def _traverse(args: argparse.Namespace) -> int:
    from infogan import viz

    model = _load(args)
    names = [c.name for c in model.spec.codes] if args.all else [model.spec.code(args.code).name]
    out_dir = Path(args.out or _default_out(args, TRAVERSALS_DIR))
    for name in names:
        images = model.traversal(name, span=tuple(args.span), steps=args.steps, seed=args.seed)
        figure = viz.traversal_image(images, model.row_labels(name))
        print(viz.save_png(figure, out_dir / f"traverse_{name}.png"))
    return 0


def _add_encode(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "encode",
        help="Q's reading of images: categories and code values",
        description="Encode images with Q: per image, each code's reading.",
    )
    _model_arguments(parser)
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files or folders")
    _data_arguments(parser, dataset_default=None)
    parser.add_argument("--limit", type=_positive_int, help="encode at most this many dataset images")
    parser.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (csv)")
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.add_argument(
        "--strict-images", action="store_true", help="stop on an unreadable file in a folder instead of skipping it"
    )
    parser.set_defaults(run=_encode)


def _encode(args: argparse.Namespace) -> int:
    from infogan.data import load_dataset

    if bool(args.images) == bool(args.dataset):
        raise InfoGANError("give image files or folders, or --dataset NAME, but not both")
    model = _load(args)
    if args.dataset:
        data = load_dataset(args.dataset, args.split, args.data_root, shape=model.image_shape)
        images, labels = data.images[: args.limit], data.labels
        names = [f"{args.dataset}/{args.split}/{i}" for i in range(len(images))]
    else:
        images, names = _readable_images(args.images, model.image_shape, strict=args.strict_images)
        labels = None
    rows = model.encode(images).records()
    for i, (name, row) in enumerate(zip(names, rows, strict=True)):
        extra = {"label": int(labels[i])} if labels is not None else {}
        rows[i] = {"image": name, **extra, **row}
    _write_text(_format_rows(rows, args.format), args.out)
    return 0


def _readable_images(inputs: list[str], shape: tuple[int, int, int], *, strict: bool):
    """The images named or found under ``inputs``: a file named outright must read; one found in a
    folder is skipped with a count on stderr when unreadable (unless ``strict``)."""
    import torch

    from infogan.data import find_images, read_image

    named = {Path(p) for p in inputs if Path(p).is_file()}
    images, names, skipped = [], [], []
    for path in find_images(inputs):
        try:
            images.append(read_image(path, shape))
        except InfoGANError:
            if strict or path in named:
                raise
            skipped.append(path)
            continue
        names.append(str(path))
    if skipped:
        print(
            f"infogan: skipped {len(skipped)} unreadable image file(s) of {len(names) + len(skipped)} "
            f"(--strict-images stops instead), first: {skipped[0]}",
            file=sys.stderr,
        )
    if not images:
        raise InfoGANError("no readable images to encode")
    return torch.stack(images), names


def _format_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _write_text(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    except OSError as err:
        raise InfoGANError(f"could not write {out}: {err.strerror or err}") from None
    print(out, file=sys.stderr)


METRIC_FAMILIES = ("codes", "quality", "generated", "disentanglement")


def _metric_families(text: str) -> tuple[str, ...]:
    from infogan.metrics.disentanglement import DISENTANGLEMENT_METRICS

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names or set(names) - {*METRIC_FAMILIES, *DISENTANGLEMENT_METRICS}:
        raise argparse.ArgumentTypeError(
            f"expected one or more of {','.join(METRIC_FAMILIES)}, or disentanglement metrics "
            f"({', '.join(DISENTANGLEMENT_METRICS)}), got {text!r}"
        )
    return names


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="categorical codes as classifiers, L_I, sample quality; disentanglement metrics on dSprites",
        description="codes (default): Hungarian-matched accuracy, NMI and confusion of each "
        "categorical code, and the MI lower bound per code on fresh samples. quality (default): "
        "FID and KID of generated against real images, on the features of a small classifier "
        "trained on the dataset's labels (MNIST and Fashion-MNIST; skipped with a note otherwise). "
        "generated (default): the label that classifier gives G's samples of each class of each "
        "categorical code, Hungarian-matched: how faithfully a code steers what G draws. "
        "disentanglement: BetaVAE, FactorVAE, MIG, DCI and SAP of Q's reading (continuous means, "
        "categorical probabilities) against dSprites' factors.",
    )
    _model_arguments(parser)
    _data_arguments(parser, dataset_default=None)
    parser.add_argument(
        "--data", metavar="FOLDER", help="an image folder, labelled by its class subfolders (default: the run's data)"
    )
    parser.add_argument("--samples", type=_positive_int, default=10_000, help="fresh samples for L_I (10000)")
    _shared(parser, "--seed", help="seed of those samples and of the metrics' draws (0)")
    parser.add_argument(
        "--metrics",
        type=_metric_families,
        default=("codes", "quality", "generated"),
        help="comma-separated: codes, quality, generated, disentanglement (default: codes,quality,generated); "
        "or single disentanglement metrics such as mig,dci",
    )
    parser.add_argument(
        "--quality-samples", type=_two_or_more, default=10_000, help="generated and real images for FID/KID (10000)"
    )
    parser.add_argument(
        "--per-class", type=_positive_int, default=1_000, help="generated: G's samples per class (1000)"
    )
    parser.add_argument(
        "--num-train", type=_positive_int, default=10_000, help="disentanglement: training draws per metric (10000)"
    )
    parser.add_argument(
        "--num-eval", type=_positive_int, default=5_000, help="disentanglement: evaluation draws per metric (5000)"
    )
    parser.add_argument(
        "--group-size", type=_positive_int, default=64, help="disentanglement: images per BetaVAE/FactorVAE point (64)"
    )
    parser.add_argument("--out", help="JSON file to write (default: RUN/evaluation.json)")
    parser.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from infogan.data import load_dataset
    from infogan.evaluation import evaluate

    if args.data and args.dataset:
        raise InfoGANError("give --dataset NAME or --data FOLDER, not both")
    model = _load(args)
    name, folder = _evaluation_source(args)
    report: dict[str, Any] = {"model": str(args.model), "dataset": folder or name}
    chosen = [metric for metric in args.metrics if metric not in METRIC_FAMILIES]  # single disentanglement metrics
    if "disentanglement" in args.metrics or chosen:
        report["disentanglement"] = _disentanglement(
            model, name, args, None if "disentanglement" in args.metrics else chosen
        )
    if {"codes", "quality"} & set(args.metrics):
        data = load_dataset(name, args.split, args.data_root, folder=folder, shape=model.image_shape)
        report |= {"split": args.split if folder is None else "all"}
        report |= {"skipped_images": len(data.skipped)} if folder else {}
    if "codes" in args.metrics:
        report |= evaluate(model, data, samples=args.samples, seed=args.seed)
    if "quality" in args.metrics:
        report["quality"] = _quality(model, name, data, args)
    if "generated" in args.metrics:
        report["generated"] = _generated(model, name, args)
    text = json.dumps(report, indent=1)
    print(text)
    _write_text(text + "\n", str(args.out or _default_out(args, EVALUATION_NAME)))
    return 0


def _quality(model, dataset: str, data, args: argparse.Namespace) -> dict[str, Any]:
    """FID and KID of the model's samples against ``data``, or why they were skipped."""
    from infogan.evaluation import sample_quality
    from infogan.feature_net import has_feature_net

    if not has_feature_net(dataset, model.image_shape):
        shape = "×".join(map(str, model.image_shape))
        note = f"no feature net for {dataset} {shape} images (there are nets for 1×28×28 MNIST and Fashion-MNIST)"
        print(f"infogan: sample quality skipped: {note}", file=sys.stderr)
        return {"skipped": note}
    return sample_quality(model, dataset, real=data, n=args.quality_samples, seed=args.seed)


def _generated(model, dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    """Per categorical code, the feature net's labels of G's samples of each class, or why skipped."""
    from infogan.evaluation import generated_classes
    from infogan.feature_net import has_feature_net

    if not has_feature_net(dataset, model.image_shape):
        note = f"no feature net for {dataset} images of this shape to read G's classes"
        print(f"infogan: generated classes skipped: {note}", file=sys.stderr)
        return {"skipped": note}
    categorical = [code.name for code in model.spec.codes if code.kind == "categorical"]
    return {
        code: generated_classes(model, dataset, code, per_class=args.per_class, seed=args.seed) for code in categorical
    }


def _disentanglement(model, dataset: str, args: argparse.Namespace, metrics: list[str] | None) -> dict[str, Any]:
    """The disentanglement metrics (all, or those named) of ``model`` on a dataset with generative factors."""
    from infogan.data import data_root
    from infogan.evaluation import check_factor_model, disentanglement

    check_factor_model(model)  # before the data is rendered
    source = DATASETS.get(dataset)
    if source is None or source.factors is None:
        named = " or ".join(name for name, entry in DATASETS.items() if entry.factors)
        raise InfoGANError(
            f"{dataset} has no generative factors to score against: the disentanglement metrics need --dataset {named}"
        )
    data = source.factors(data_root(args.data_root))
    return disentanglement(
        model,
        data,
        seed=args.seed,
        num_train=args.num_train,
        num_eval=args.num_eval,
        batch_size=args.group_size,
        metrics=metrics,
    )


def _add_select(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "select",
        help="the most central of several runs, chosen without labels (InfoGAN-CR)",
        description="Model centrality (Lin et al., 2020): each run renders its own codes and every "
        "other run's Q reads them; the run the others agree with most is chosen. Prints the "
        "agreement matrix and each run's centrality.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_OR_CKPT", help="two or more runs of one configuration")
    _shared(parser, "--device")
    parser.add_argument("--code", action="append", help="score only this code of each run, e.g. c1 (repeatable)")
    parser.add_argument("--samples", type=_positive_int, default=5_000, help="draws per run (5000)")
    _shared(parser, "--seed", help="seed of the draws (0)")
    parser.add_argument("--out", help="JSON file to write the agreement and centrality to")
    parser.set_defaults(run=_select)


def _select(args: argparse.Namespace) -> int:
    from infogan.selection import run_centrality

    ranking = run_centrality(args.runs, samples=args.samples, seed=args.seed, codes=args.code, device=args.device)
    width = max(len(name) for name in ranking.names)
    print(f"{'run':<{width}}  centrality  agreement with runs 1..{len(ranking.names)}")
    for name, score, row in zip(ranking.names, ranking.scores, ranking.agreement, strict=True):
        marker = "  <- chosen" if name == ranking.chosen else ""
        print(f"{name:<{width}}  {score:10.3f}  {' '.join(f'{v:.2f}' for v in row)}{marker}")
    if args.out:
        _write_text(json.dumps(ranking.as_dict(), indent=1) + "\n", args.out)
    return 0


# ----- names, units, export -----------------------------------------------------------------
def _add_name(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "name",
        help="name the classes of categorical codes, by hand or from a few labelled examples",
        description="Name a categorical code's classes and store the names in the checkpoint (atomically, "
        "without retraining). --examples FOLDER: one subfolder per name holding a few images of it; Q reads "
        "them and a Hungarian match gives each name a class. --names c1=zero,one,...: one name per class in "
        "order (an empty entry leaves a class unnamed). Without either, print the current names.",
    )
    _model_arguments(parser)
    parser.add_argument("--examples", metavar="FOLDER", help="a folder with one subfolder of example images per name")
    parser.add_argument("--code", help="the categorical code the examples name (default: the first)")
    parser.add_argument(
        "--names",
        action="append",
        default=[],
        metavar="CODE=NAME,...",
        help="every class's name in order, e.g. c1=zero,one,two (repeatable, one per code)",
    )
    parser.add_argument("--clear", action="append", default=[], metavar="CODE", help="remove a code's names")
    parser.add_argument(
        "--strict-images", action="store_true", help="stop on an unreadable example file instead of skipping it"
    )
    parser.set_defaults(run=_name)


def _name(args: argparse.Namespace) -> int:
    from infogan import naming

    if args.code and not args.examples:
        raise InfoGANError("--code chooses the code that --examples names; give --examples FOLDER too")
    model = _load(args)
    for code in args.clear:
        model.set_names(model.spec.code(code).name, [None] * model.spec.code(code).num_classes)
    for text in args.names:
        model.set_names(*naming.parse_assignment(text))
    if args.examples:
        match = model.name_from_examples(args.examples, code=args.code, strict=args.strict_images)
        if match.skipped:
            print(
                f"infogan: skipped {len(match.skipped)} unreadable example file(s), first: {match.skipped[0]}",
                file=sys.stderr,
            )
        for name, k in sorted(match.classes.items(), key=lambda item: item[1]):
            share, count = match.hits[name], match.examples[name]
            print(f"{match.code} class {k} = {name}: Q puts {share:.0%} of its {count} examples there")
    if args.examples or args.names or args.clear:
        print(f"names stored in {model.save_annotations()}")
    for code in (c for c in model.spec.codes if c.kind == "categorical"):
        labels = [naming.label(model.names, code.name, k) for k in range(code.num_classes)]
        print(f"{code.name}: {', '.join(f'{k}={text}' for k, text in enumerate(labels))}")
    return 0


def _name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected names such as slant,thickness, got {text!r}")
    return names


def _property_choice(text: str) -> tuple[str, str]:
    code, sep, prop = text.partition("=")
    if not sep or not code.strip() or not prop.strip():
        raise argparse.ArgumentTypeError(f"expected CODE=PROPERTY such as c2=thickness, got {text!r}")
    return code.strip(), prop.strip()


def _add_calibrate(commands: argparse._SubParsersAction) -> None:
    from infogan.properties import PROPERTIES

    listing = ", ".join(f"{p.column} ({'gray' if p.channels == 1 else 'RGB'})" for p in PROPERTIES.values())
    parser = commands.add_parser(
        "calibrate",
        help="give continuous codes units: which property each drives, and a monotone map to it",
        description="Render fixed draws while each continuous code moves over a grid, measure the images' "
        f"properties ({listing}), print Spearman's ρ for every code and property, and fit a monotone map "
        "(isotonic regression) from each code to the median of its most correlated property. The maps go "
        "into the checkpoint; sample --set PROPERTY=VALUE and encode then speak in units.",
    )
    _model_arguments(parser)
    parser.add_argument(
        "--span", type=float, nargs=2, default=(-2.0, 2.0), metavar=("LOW", "HIGH"), help="code range (-2 2)"
    )
    parser.add_argument("--steps", type=_positive_int, default=9, help="code values over the span (9)")
    parser.add_argument("--draws", type=_positive_int, default=64, help="fixed noise draws per value (64)")
    _shared(parser, "--seed", help="seed of the draws (0)")
    parser.add_argument(
        "--properties", type=_name_list, help="the properties codes may be given, e.g. slant,thickness (default: all)"
    )
    parser.add_argument(
        "--use",
        action="append",
        type=_property_choice,
        default=[],
        metavar="CODE=PROPERTY",
        help="give a code this property whatever the correlations say, e.g. c2=thickness (repeatable)",
    )
    parser.add_argument(
        "--min-rho", type=float, default=0.3, help="a code whose best property has |ρ| below this gets no unit (0.3)"
    )
    parser.add_argument("--out", help="JSON report to write (default: RUN/calibration.json)")
    parser.set_defaults(run=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    model = _load(args)
    result = model.calibrate(
        span=tuple(args.span),
        steps=args.steps,
        draws=args.draws,
        seed=args.seed,
        candidates=args.properties,
        fixed=dict(args.use),
        min_rho=args.min_rho,
    )
    print("Spearman's ρ between each code and each property along fixed draws (* = the code's unit):")
    print(result.table())
    for code in (c.name for c in model.spec.codes if c.kind == "continuous"):
        unit_map = result.maps.get(code)
        if unit_map is None:
            print(f"{code}: no property correlates with |ρ| >= {args.min_rho}; it keeps no unit")
            continue
        (low, high), span = unit_map.reach, f"{args.span[0]:g}..{args.span[1]:g}"
        print(f"{code} -> {unit_map.property}: {low:.4g}..{high:.4g} {unit_map.unit} over {code} = {span}")
    print(f"units stored in {model.save_annotations()}")
    report = {"model": str(args.model), "span": list(args.span), "draws": args.draws, "seed": args.seed}
    out = args.out or _default_out(args, CALIBRATION_NAME)
    _write_text(json.dumps(report | result.as_dict(), indent=1) + "\n", str(out))
    return 0


_EXPORT_PACKAGES = ("onnx", "onnxscript", "onnxruntime", "onnx_ir")


def _optional_module(name: str, *, verb: str, extra: str, packages: tuple[str, ...]) -> ModuleType:
    """``infogan.<name>``, or one line naming the pip extra when a package only that extra brings
    is missing (a missing module of any other package is a real bug and propagates)."""
    try:
        return importlib.import_module(f"infogan.{name}")
    except ImportError as err:
        if (err.name or "").split(".")[0] not in packages:
            raise
        raise InfoGANError(
            f'{verb} needs the {extra} extra ({err.name} is missing): pip install "infogan[{extra}]"'
        ) from None


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export",
        help="write G and Q as ONNX models, with the code layout, names and units in their metadata",
        description="Export the generator (inputs noise, categories, continuous; output images) and Q "
        "(input images; one output per code: class probabilities, continuous means) as ONNX files with a "
        "dynamic batch axis. Their metadata_props hold the code layout, class names and unit maps as JSON.",
    )
    _model_arguments(parser)
    parser.add_argument("--format", choices=["onnx"], default="onnx", help="onnx (the only format)")
    parser.add_argument("--out", help="folder for generator.onnx and encoder.onnx (default: RUN/onnx)")
    parser.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    export = _optional_module("export", verb="export", extra="export", packages=_EXPORT_PACKAGES)
    model = _load(args)
    for path in export.export_onnx(model, Path(args.out or _default_out(args, ONNX_DIR))):
        print(path)
    return 0


_SERVE_PACKAGES = ("starlette", "uvicorn", "h11", "python_multipart")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in 0..65535, got {text!r}")
    return value


def _add_serve(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="the latent explorer: a local web page and HTTP API",
        description="Explore a model in the browser: sliders for its codes, traversals, and Q's reading "
        "of uploaded images; the same operations as a JSON/PNG API under /api/.",
    )
    _model_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=8000, help="port (8000; 0 picks a free one)")
    parser.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    server = _optional_module("server", verb="serve", extra="serve", packages=_SERVE_PACKAGES)
    model = _load(args)
    server.serve(server.create_app(model, source=str(args.model)), host=args.host, port=args.port)
    return 0


def _evaluation_source(args: argparse.Namespace) -> tuple[str, str | None]:
    """(dataset name, folder): as given, else the data the run was trained on, else MNIST."""
    if args.data:
        return "folder", str(Path(args.data).expanduser())
    if args.dataset:
        return args.dataset, None
    model = Path(args.model)
    run_dir = RunDir(model if model.is_dir() else model.parent)
    if not run_dir.has_config():
        return "mnist", None
    config = run_dir.read_config()
    return config.dataset, config.data_path


def _add_presets(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("presets", help="list the presets", description="List presets and their layout.")
    parser.set_defaults(run=_presets)


def _presets(args: argparse.Namespace) -> int:
    for name, config in PRESETS.items():
        latent, network = config.model.latent, config.model.network
        data = " --data FOLDER" if folder_only(config.dataset) else ""
        print(f"{name}: {PRESET_NOTES[name]}")
        print(f"  networks  {network.arch}, images {'×'.join(map(str, network.image_shape))} (C×H×W)")
        print(
            f"  codes     noise {latent.noise_dim} ({latent.noise_dist}), categorical {list(latent.categorical)}, "
            f"continuous {latent.continuous} ({latent.continuous_dist}); G's input {latent.input_dim}"
        )
        print(
            f"  training  λ_cat {latent.lambda_cat}, λ_cont {latent.lambda_cont}, lr D/G/Q "
            f"{config.lr_d}/{config.lr_g}/{config.lr_q}, batch {config.batch_size}, steps {config.steps}"
        )
        print(f"  command   infogan train --preset {name}{data} --out runs/{name}")
    return 0


# ----- info ---------------------------------------------------------------------------------
# What `make mnist` evaluates besides training: the `infogan evaluate` call after it reads the
# test split and generates and reads as many fresh samples (its --samples default).
FINAL_EVALUATION_IMAGES = EVAL_IMAGES + 10_000


def _add_info(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "info",
        help="this machine: device, CPU, the precision auto picks, measured speed, time of a run",
        description="Show the device, the CPU and its capability flags, torch's threads and the precision "
        "--precision auto picks (and why); then measure a few seconds of the preset's training step and "
        f"estimate how long a whole run of it (make mnist for the {DEFAULT_PRESET} preset) takes on this machine.",
    )
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"the preset to time ({', '.join(PRESETS)}; {DEFAULT_PRESET})"
    )
    _shared(parser, "--device")
    parser.add_argument(
        "--precision", choices=PRECISIONS, help="time the step in this precision (default: the one training would pick)"
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to time training steps (4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=_info)


def _info(args: argparse.Namespace) -> int:
    from infogan import throughput
    from infogan.hardware import choose_precision, machine_summary
    from infogan.model import resolve_device
    from infogan.training import SELECTION_IMAGES

    config, device = preset(args.preset), resolve_device(args.device)
    if args.precision:
        config = config.replace(precision=args.precision)
    report: dict[str, Any] = machine_summary(device)
    report["precision"] = choose_precision(config.precision, device).as_dict()
    train = throughput.training_rate(config, device, seconds=args.seconds)
    evaluated = throughput.evaluations(config) * (SELECTION_IMAGES + EVAL_IMAGES) + FINAL_EVALUATION_IMAGES
    estimate = throughput.estimate_run(config, train, throughput.encoding_rate(config, device), evaluated)
    report["training"] = {"preset": args.preset, **asdict(train)}
    report["estimate"] = {"steps": config.steps, "evaluated_images": evaluated, **estimate.as_dict()}
    print(json.dumps(report, indent=1) if args.json else _info_text(report))
    return 0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _info_text(report: dict[str, Any]) -> str:
    flags = ", ".join(f"{name} {'yes' if on else 'no'}" for name, on in report["cpu_flags"].items())
    train, estimate, choice = report["training"], report["estimate"], report["precision"]
    run = "make mnist" if train["preset"] == DEFAULT_PRESET else f"a {train['preset']} run"
    return "\n".join(
        [
            f"device      {report['device']}" + (f": {report['device_name']}" if report["device"] != "cpu" else ""),
            f"cpu         {report['cpu_model']}, {report['cpu_cores']} cores",
            f"flags       {flags} (torch dispatches {report['torch_cpu_capability']})",
            f"torch       {report['torch']}, {report['torch_threads']} threads",
            f"precision   {choice['precision']} ({choice['reason']})",
            f"training    {train['images_per_s']:.0f} images/s ({train['preset']} preset, batch {train['batch_size']}, "
            f"{train['precision']}; {train['steps']} steps in {train['seconds']:.1f} s after warm-up)",
            f"{run:<11} about {_minutes(estimate['total_s'])}: {estimate['steps']:,} steps × {train['batch_size']} "
            f"images / {train['images_per_s']:.0f} images/s = {_minutes(estimate['train_s'])}, plus "
            f"{_minutes(estimate['evaluation_s'])} for evaluation ({estimate['evaluated_images']:,} images read by Q)",
        ]
    )


# ----- entry point --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``infogan`` argument parser with every verb."""
    parser = _Parser(prog="infogan", description="Train InfoGAN models and put their codes to work.")
    parser.add_argument("--version", action="version", version=f"infogan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    verbs = (
        _add_train,
        _add_sample,
        _add_traverse,
        _add_encode,
        _add_evaluate,
        _add_select,
        _add_name,
        _add_calibrate,
        _add_export,
        _add_serve,
        _add_presets,
        _add_info,
    )
    for add in verbs:
        add(commands)
    return parser


def _one_line_warnings(show: Any) -> Any:
    """``warnings.showwarning`` that prints the library's own warnings as one line each, others as ``show`` does."""

    def showwarning(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, InfoGANWarning):
            print(f"infogan: warning: {message}", file=file or sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line on stderr and return a non-zero code."""
    previous, warnings.showwarning = warnings.showwarning, _one_line_warnings(warnings.showwarning)
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except InfoGANError as err:
        print(f"infogan: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("infogan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        print(f"infogan: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_FAILURE
    except Exception as err:
        if os.environ.get("INFOGAN_DEBUG"):
            raise
        print(
            f"infogan: internal error: {type(err).__name__}: {err} (set INFOGAN_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
