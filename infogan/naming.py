"""Names for the classes of categorical codes, set by hand or matched to a few labelled examples.

Names live in a checkpoint's metadata as ``{"c1": ["zero", "one", None, ...]}``: one entry per
class, None where a class has no name. Wherever a class is asked for, its index or its name
will do (``c1=7`` or ``c1=seven``); a number always means an index, so names cannot be numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from infogan.errors import InfoGANError
from infogan.latent import Code, LatentSpec

if TYPE_CHECKING:
    from infogan.model import InfoGAN

ClassNames = dict[str, list[str | None]]
MAX_NAME_LENGTH = 40


# ----- checking and parsing ---------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_name(text: str) -> str:
    """A class name, stripped; one line of error when it is empty, a number, too long or holds , or =."""
    name = text.strip()
    if not name or _is_number(name):
        raise InfoGANError(f"a class name must be a word, not {text!r} (c1=7 already means class 7)")
    if len(name) > MAX_NAME_LENGTH or any(ch in name for ch in ",=") or not name.isprintable():
        raise InfoGANError(f"a class name has at most {MAX_NAME_LENGTH} printable characters and no , or =: {text!r}")
    return name


def _categorical(spec: LatentSpec, name: str) -> Code:
    code = spec.code(name)
    if code.kind != "categorical":
        raise InfoGANError(f"{name} is continuous: only the classes of categorical codes take names")
    return code


def check_names(spec: LatentSpec, names: Mapping[str, Sequence[str | None]]) -> ClassNames:
    """``names`` checked against the code layout: one entry per class, each a unique name or None."""
    checked: ClassNames = {}
    for code_name, entries in names.items():
        code = _categorical(spec, code_name)
        if isinstance(entries, str) or len(entries) != code.num_classes:
            raise InfoGANError(f"{code_name} has {code.num_classes} classes: give one name per class (empty: none)")
        listed = [check_name(e) if e not in (None, "") else None for e in entries]
        given = [e for e in listed if e is not None]
        if len(set(given)) != len(given):
            raise InfoGANError(f"the names of {code_name}'s classes must differ: {', '.join(given)}")
        checked[code_name] = listed
    return checked


def parse_assignment(text: str) -> tuple[str, list[str | None]]:
    """``c1=zero,one,,three`` as ("c1", ["zero", "one", None, "three"]); an empty entry leaves a class unnamed."""
    code, sep, listing = text.partition("=")
    if not sep or not code.strip():
        raise InfoGANError(f"expected CODE=NAME,NAME,... such as c1=zero,one,two, got {text!r}")
    return code.strip(), [entry.strip() or None for entry in listing.split(",")]


# ----- using names --------------------------------------------------------------------------
def label(names: ClassNames, code: str, k: int) -> str:
    """What to call class ``k`` of ``code``: its name, else its index."""
    entries = names.get(code)
    return (entries[k] if entries else None) or str(k)


def class_index(spec: LatentSpec, names: ClassNames, code_name: str, value: float | str) -> int:
    """The class meant by ``value``: an index (7, "7") or a name ("seven")."""
    return class_of(_categorical(spec, code_name), names, value)


def class_of(code: Code, names: ClassNames, value: float | str) -> int:
    """:func:`class_index` for a categorical code already looked up."""
    text = str(value).strip()
    if not text:
        raise InfoGANError(f"{code.name} needs a class: an index in 0..{code.num_classes - 1} or a class name")
    if _is_number(text):
        number = float(text)
        if not (math.isfinite(number) and number.is_integer() and 0 <= number < code.num_classes):
            raise InfoGANError(f"{code.name} is categorical: give a class in 0..{code.num_classes - 1}, not {text}")
        return int(number)
    entries = names.get(code.name) or []
    if text in entries:
        return entries.index(text)
    known = ", ".join(e for e in entries if e) or "none (name them with infogan name)"
    raise InfoGANError(f"{code.name} has no class named {text!r}; its names: {known}")


def resolve_codes(spec: LatentSpec, names: ClassNames, codes: Mapping[str, float | str]) -> dict[str, float]:
    """Code values with class names replaced by indices; continuous values must be numbers."""
    resolved: dict[str, float] = {}
    for name, value in codes.items():
        code = spec.code(name)
        if code.kind == "categorical":
            resolved[name] = class_index(spec, names, name, value)
        elif isinstance(value, str) and not _is_number(value):
            raise InfoGANError(f"{name} is continuous: give a number, not {value!r}")
        else:
            resolved[name] = float(value)
    return resolved


# ----- names from labelled examples ---------------------------------------------------------
def match_names(log_probs: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Name -> class, one class each, maximising the examples' total log-likelihood (Kuhn-Munkres).

    Args:
        log_probs: per name, Q's log-probabilities (n_examples, k) of its examples; at most k names.
    """
    from scipy.optimize import linear_sum_assignment  # imported here: loading a model need not pay for scipy

    names = list(log_probs)
    scores = np.stack([np.asarray(log_probs[n], dtype=np.float64).sum(axis=0) for n in names])  # (names, k)
    if len(names) > scores.shape[1]:
        raise InfoGANError(f"{len(names)} names for {scores.shape[1]} classes: give at most one name per class")
    rows, classes = linear_sum_assignment(scores, maximize=True)
    return {names[r]: int(c) for r, c in zip(rows, classes, strict=True)}


@dataclass(frozen=True)
class NameMatch:
    """Names matched to the classes of one code, with how well Q's readings of the examples agree."""

    code: str
    classes: dict[str, int]  # name -> class
    hits: dict[str, float]  # per name, the share of its examples that Q puts in its class
    examples: dict[str, int]  # per name, readable examples
    skipped: tuple[str, ...]  # unreadable files

    def names(self, num_classes: int) -> list[str | None]:
        """One entry per class: the matched name, or None."""
        entries: list[str | None] = [None] * num_classes
        for name, k in self.classes.items():
            entries[k] = name
        return entries


def read_examples(folder: str | Path, shape: tuple[int, int, int], *, strict: bool = False):
    """Images (n, C, H, W) per subfolder name of ``folder``, and the files that could not be read."""
    from infogan.data import find_images, read_image

    root = Path(folder)
    if not root.is_dir():
        raise InfoGANError(f"no such folder: {root}")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    if not subfolders:
        raise InfoGANError(f"{root} has no subfolders: put each name's example images in a subfolder called by it")
    examples: dict[str, Tensor] = {}
    skipped: list[str] = []
    for sub in subfolders:
        images = []
        for path in find_images([sub]):
            try:
                images.append(read_image(path, shape))
            except InfoGANError:
                if strict:
                    raise
                skipped.append(str(path))
        if not images:
            raise InfoGANError(f"{sub} holds no readable image")
        examples[check_name(sub.name)] = torch.stack(images)
    return examples, tuple(skipped)


def names_from_examples(
    model: InfoGAN, folder: str | Path, *, code: str | None = None, strict: bool = False
) -> NameMatch:
    """Q reads each subfolder's examples and a Hungarian match gives every subfolder's name a class."""
    categorical = [c for c in model.spec.codes if c.kind == "categorical"]
    if not categorical:
        raise InfoGANError("this model has no categorical code to name")
    target = _categorical(model.spec, code) if code else categorical[0]
    examples, skipped = read_examples(folder, model.image_shape, strict=strict)
    if len(examples) > target.num_classes:
        raise InfoGANError(f"{len(examples)} names for the {target.num_classes} classes of {target.name}")
    probs = {name: model.encode(images).probabilities[target.name] for name, images in examples.items()}
    classes = match_names({name: p.clamp_min(1e-12).log().numpy() for name, p in probs.items()})
    hits = {name: float((p.argmax(1) == classes[name]).float().mean()) for name, p in probs.items()}
    return NameMatch(target.name, classes, hits, {n: len(e) for n, e in examples.items()}, skipped)
