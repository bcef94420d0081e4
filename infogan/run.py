"""A run directory: the names of its files, its config, checkpoints, kept selection and metrics log,
and the checks that a resume continues the same run.

Layout (what users and scripts rely on)::

    RUN/config.json              the TrainConfig as asked, and what this start resolved it to
    RUN/checkpoint.safetensors   weights, optimizer and RNG state: what --resume continues
    RUN/selected.safetensors     weights only, where the label-free score peaked
    RUN/metrics.jsonl            one JSON record per logged step
    RUN/samples/step_NNNNNNN.png the fixed sweep at each snapshot
    RUN/tensorboard/             the same scalars for TensorBoard
    RUN/.lock                    held by the process training the run
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from infogan import checkpoint, files
from infogan.config import RESUMABLE_KEYS, TrainConfig, to_dict, train_config_from_dict
from infogan.errors import InfoGANError, InfoGANWarning
from infogan.reporting import Reporter, read_records

CONFIG_NAME = "config.json"
CHECKPOINT_NAME = "checkpoint.safetensors"
# Weights only, kept by the trainer where its label-free score peaked (see Trainer._keep_if_selected).
SELECTED_NAME = "selected.safetensors"
METRICS_NAME = "metrics.jsonl"
SAMPLES_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
LOCK_NAME = ".lock"
# config.json's record of what was resolved at train time (``precision: auto`` -> fp32 or bf16), beside the config.
RESOLVED_KEY = "resolved"

# What the commands that use a model write beside it unless told otherwise (see output_beside).
EVALUATION_NAME = "evaluation.json"
CALIBRATION_NAME = "calibration.json"
SAMPLES_IMAGE = "samples.png"
TRAVERSALS_DIR = "traversals"
ONNX_DIR = "onnx"


def checkpoint_file(path: str | Path) -> Path:
    """The checkpoint file for a run directory or a checkpoint path."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise InfoGANError(f"no checkpoint at {path}: give a run directory or a .safetensors file")
    return path


def weights_step(meta: Mapping[str, Any]) -> int | None:
    """The training step a checkpoint file's weights are from: its step, or its selection's; None for a
    model file saved outside training."""
    step = meta.get("step")
    if step is None and isinstance(meta.get("selected"), dict):
        step = meta["selected"].get("step")
    return step if type(step) is int else None


def output_beside(model: Path, name: str) -> Path:
    """RUN/name for a run or its checkpoint; RUN/<stem>_name for another file, such as selected.safetensors,
    so that its outputs do not overwrite those of the run's last checkpoint."""
    if model.is_dir():
        return model / name
    return model.parent / (name if model.name == CHECKPOINT_NAME else f"{model.stem}_{name}")


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """Every record of a run's ``metrics.jsonl``, in order (a torn line is skipped)."""
    path = RunDir(run_dir).metrics
    return read_records(path) if path.is_file() else []


class RunDir:
    """One training run's directory: where each of its files lives, and reading and writing them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config(self) -> Path:
        """``config.json``: the TrainConfig as asked, and what the last start resolved."""
        return self.path / CONFIG_NAME

    @property
    def checkpoint(self) -> Path:
        """``checkpoint.safetensors``: the training state a resume continues."""
        return self.path / CHECKPOINT_NAME

    @property
    def selected(self) -> Path:
        """``selected.safetensors``: weights where the label-free score peaked."""
        return self.path / SELECTED_NAME

    @property
    def metrics(self) -> Path:
        """``metrics.jsonl``: one record per logged step."""
        return self.path / METRICS_NAME

    @property
    def tensorboard(self) -> Path:
        """``tensorboard/``: the same scalars as event files."""
        return self.path / TENSORBOARD_DIR

    @property
    def lock(self) -> Path:
        """``.lock``: held by the process training the run."""
        return self.path / LOCK_NAME

    def sample_image(self, step: int) -> Path:
        """Where the fixed sweep rendered at ``step`` goes."""
        return self.path / SAMPLES_DIR / f"step_{step:07d}.png"

    def holds_run(self) -> bool:
        """Whether a run has checkpointed here (a fresh start must not overwrite it)."""
        return self.checkpoint.exists()

    def has_config(self) -> bool:
        """Whether this is a run directory (it holds a ``config.json``)."""
        return self.config.is_file()

    # ----- ownership --------------------------------------------------------------------------
    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Hold the run's lock: a second process gets a one-line error naming the first."""
        return files.locked(self.lock)

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what killed writes left behind; only under :meth:`locked`."""
        return files.remove_stale_temporaries(self.path)

    def checkpoint_step(self) -> int | None:
        """The step of the checkpoint on disk, or None when there is none."""
        return checkpoint.read_metadata(self.checkpoint).get("step") if self.checkpoint.is_file() else None

    # ----- config -----------------------------------------------------------------------------
    def read_config(self) -> TrainConfig:
        """The :class:`TrainConfig` stored in ``config.json``."""
        try:
            record = json.loads(self.config.read_text())
            if isinstance(record, dict):
                record.pop(RESOLVED_KEY, None)  # a record of the last start, not a setting
            return train_config_from_dict(record)
        except FileNotFoundError:
            raise InfoGANError(f"{self.path} is not a run directory (no {CONFIG_NAME})") from None
        except json.JSONDecodeError as err:
            raise InfoGANError(f"{self.config} is not valid JSON: {err}") from None

    def write_config(self, config: TrainConfig, resolved: dict[str, Any]) -> None:
        """The config as asked (``precision`` may be ``auto``), and what this start ``resolved`` it to."""
        record = to_dict(config) | {RESOLVED_KEY: resolved}
        files.write_atomically(self.config, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())

    # ----- checkpoints ------------------------------------------------------------------------
    def write_checkpoint(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
        """Replace the run's checkpoint atomically."""
        checkpoint.write(self.checkpoint, tensors, meta)
        return self.checkpoint

    def write_selected(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Replace the kept selection (weights and a ``selected`` record) atomically."""
        checkpoint.write(self.selected, tensors, meta)

    def kept_selection(self) -> tuple[float, int | None]:
        """The label-free score and step of the weights in ``selected.safetensors``. The file is optional
        and the next better evaluation replaces it, so one that does not read is ignored with a warning."""
        path = self.selected
        if not path.is_file():
            return -math.inf, None
        try:
            chosen = checkpoint.read_metadata(path)["selected"]
            score, step = float(chosen["real_mi"]), int(chosen["step"])
        except (InfoGANError, KeyError, TypeError, ValueError) as err:
            reason = str(err) if isinstance(err, InfoGANError) else "it holds no selection score"
            warnings.warn(f"ignoring {path}: {reason}; the next evaluation replaces it", InfoGANWarning, stacklevel=3)
            return -math.inf, None
        return (score, step) if math.isfinite(score) else (-math.inf, None)

    def check_resumable(self, config: TrainConfig) -> int:
        """The step of the run's checkpoint, once its header matches ``config`` and its tensors' shapes
        fit the networks ``config`` describes: checked before a model of the sizes that ``config.json``
        claims is built."""
        with checkpoint.opened(checkpoint_file(self.path)) as stored:
            return resumable_step(stored, config, self.path)

    # ----- metrics ----------------------------------------------------------------------------
    def reporter(self, *, tensorboard: bool = True, resume_step: int = 0) -> Reporter:
        """The run's one reporting call: ``metrics.jsonl``, and TensorBoard unless ``tensorboard`` is False."""
        return Reporter(self.metrics, tensorboard=self.tensorboard if tensorboard else None, resume_step=resume_step)


def resumable_step(stored: checkpoint.Stored, config: TrainConfig, source: Path) -> int:
    """The step ``stored`` continues from, once it holds a training state of ``config``'s run."""
    from infogan.model import check_stored_weights  # deferred: model.py finds checkpoints through this module

    meta = stored.meta
    if "optim_d" not in meta:
        raise InfoGANError(f"{source} holds weights only, no training state to resume from")
    if not isinstance(meta.get("train_config"), dict):
        raise InfoGANError(f"{stored.path} holds no training configuration: it cannot be resumed")
    step = meta.get("step")
    if type(step) is not int or step < 0:
        raise InfoGANError(f"{stored.path} holds a malformed step ({json.dumps(step)}): it cannot be resumed")
    ensure_compatible(train_config_from_dict(meta["train_config"]), config, source)
    check_stored_weights(config.model, stored.specs, stored.path)
    return step


def ensure_compatible(stored: TrainConfig, requested: TrainConfig, source: Path) -> None:
    """Refuse to resume with settings other than the run's own, except length and cadence."""
    old, new = to_dict(stored), to_dict(requested)
    for key in RESUMABLE_KEYS:
        old.pop(key), new.pop(key)
    differences = sorted(_diff(old, new))
    if differences:
        raise InfoGANError(
            f"{source} was trained with other settings ({'; '.join(differences)}); "
            "resume with the run's own settings or start a new run"
        )


def _diff(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: run has {json.dumps(a)}, asked for {json.dumps(b)}")
    return out
