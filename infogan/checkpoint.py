"""Checkpoint files: one safetensors file holding weights, optimizer and RNG state, with the
configuration as JSON in its header. Written atomically; loading executes no code."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save
from torch import Tensor

from infogan import files
from infogan.errors import InfoGANError

FORMAT = "infogan-checkpoint-v1"


def write(path: Path, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    """Write tensors and JSON-able ``meta`` to ``path`` atomically (a crash leaves the old file)."""
    header = {"format": FORMAT, **{k: json.dumps(v) for k, v in meta.items()}}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    # Serialised in memory first: the file then exists only for one write and fsync, and a failed
    # write surfaces as an OSError (safetensors' own writer raises its SafetensorError instead).
    files.write_atomically(path, save(tensors, metadata=header), previous="checkpoint")


@dataclass(frozen=True)
class TensorSpec:
    """A stored tensor's dtype (safetensors' name, e.g. ``F32``) and shape, read from the header alone."""

    dtype: str
    shape: tuple[int, ...]


class Stored:
    """An open checkpoint file: its decoded header and tensor specs at once, its tensors on demand."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path, self._handle = path, handle
        with _reading(path):
            self.meta = _decoded_header(handle, path)
            self.specs = {}
            for key in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                part = handle.get_slice(key)
                self.specs[key] = TensorSpec(part.get_dtype(), tuple(part.get_shape()))

    def tensors(self, prefix: str = "") -> dict[str, Tensor]:
        """The stored tensors whose names start with ``prefix``."""
        with _reading(self.path):
            return {key: self._handle.get_tensor(key) for key in self.specs if key.startswith(prefix)}


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Stored]:
    """A checkpoint file held open, so that its header and tensors come from one version of it."""
    with contextlib.ExitStack() as stack:
        with _reading(path):
            handle = stack.enter_context(safe_open(str(path), framework="pt"))
        yield Stored(path, handle)


def read(path: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Tensors and decoded metadata of a checkpoint file, or a one-line error if it is not one."""
    with opened(path) as stored:
        return stored.tensors(), stored.meta


def read_metadata(path: Path) -> dict[str, Any]:
    """The decoded header of a checkpoint file, without reading its tensors."""
    with opened(path) as stored:
        return stored.meta


def update_metadata(path: Path, changes: dict[str, Any]) -> None:
    """Rewrite ``path`` atomically with the same tensors and its metadata updated by ``changes``
    (a value of None removes the key): annotations such as class names need no retraining."""
    tensors, meta = read(path)
    meta |= changes
    write(path, tensors, {k: v for k, v in meta.items() if v is not None})


def _decoded_header(handle, path: Path) -> dict[str, Any]:
    header = handle.metadata() or {}
    if header.get("format") != FORMAT:
        raise InfoGANError(f"{path} is not an infogan checkpoint")
    return {k: json.loads(v) for k, v in header.items() if k != "format"}


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn whatever a truncated or foreign file raises (safetensors has several types) into one line."""
    try:
        yield
    except InfoGANError:
        raise
    except Exception as err:
        raise InfoGANError(f"{path} is corrupt or not a checkpoint ({type(err).__name__})") from None


def with_prefix(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """``{prefix + key: tensor}``."""
    return {f"{prefix}{k}": v for k, v in tensors.items()}


def strip_prefix(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """The entries under ``prefix``, with it removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimizer ``state_dict`` into tensors and a JSON-able remainder."""
    tensors, scalars = {}, {}
    for param_id, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"{param_id}.{key}"] = value
            else:
                scalars[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for flat, value in [*tensors.items(), *rest["scalars"].items()]:
        param_id, key = flat.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def rng_state() -> dict[str, Tensor]:
    """Global torch RNG states (CPU, and CUDA when present)."""
    states = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states |= {f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    return states


def restore_rng_state(states: dict[str, Tensor]) -> None:
    """Inverse of :func:`rng_state`; CUDA states are restored only where devices exist."""
    torch.set_rng_state(states["cpu"])
    cuda = [states[k] for k in sorted(states) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
