"""The command line shared by the scripts that score finished runs against a dataset's feature net."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def runs_parser(description: str, samples_help: str) -> argparse.ArgumentParser:
    """RUN... plus --dataset, --samples, --data-root and --json; a script adds its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--samples", type=int, default=10_000, help=f"{samples_help} (10000)")
    parser.add_argument("--data-root", help="where the datasets are (sets INFOGAN_DATA_ROOT)")
    parser.add_argument("--json", type=Path, help="also write the table here")
    return parser


def parse_runs_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The parsed options, with --data-root made the data root of everything the script loads."""
    args = parser.parse_args()
    if args.data_root:
        os.environ["INFOGAN_DATA_ROOT"] = args.data_root
    return args
