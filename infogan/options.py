"""One declaration per setting of the config dataclasses.

Each field of :class:`~infogan.config.TrainConfig`, :class:`~infogan.latent.LatentSpec` and
:class:`~infogan.networks.NetworkConfig` is declared with :func:`option` (or :func:`internal`): its
help, type, bounds or choices, CLI flag and whether a resume may change it. The dataclass default is
the option's default. The configs' validation (:func:`check_options`), ``infogan train``'s flags and
the keys a resume may change are all read from these declarations.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from infogan.errors import InfoGANError

_KEY = "infogan.option"  # the field metadata key that holds an Option


@dataclass(frozen=True)
class Option:
    """One setting.

    Args:
        help: the CLI's help text.
        low: the least value allowed. Every bound applies to each element of a tuple value, a float
            must also be finite, and ``None`` (the architecture's own size, say) is not checked.
        high: the largest value allowed.
        above: a value the setting must exceed.
        below: a value the setting must stay under.
        choices: the allowed values (any collection, such as a registry).
        parse: the CLI's argparse type; by default the type of the field's default.
        error: the message for a refused value (``{value}`` in it is filled in); by default one
            derived from the bounds or choices.
        cli: whether ``infogan train`` has a flag for it.
        flag: the flag when it is not the field's name in kebab case.
        sets: for a boolean, the value its flag sets (``False`` for ``--separate-q``).
        resumable: a resume may change it: a setting of length, cadence or speed, not of what is learned.
    """

    help: str
    low: float | None = None
    high: float | None = None
    above: float | None = None
    below: float | None = None
    choices: Collection[Any] | None = None
    parse: Callable[[str], Any] | None = None
    error: str | None = None
    cli: bool = True
    flag: str | None = None
    sets: bool = True
    resumable: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` (each element of a tuple) lies within the bounds and choices."""
        values = value if isinstance(value, tuple) else (value,)
        return value is None or all(self._accepts(v) for v in values)

    def _accepts(self, v: Any) -> bool:
        if self.choices is not None:
            return v in self.choices
        if isinstance(v, float) and not math.isfinite(v):
            return False
        # written as `not (v < low)` would let NaN through: each test holds only for a comparable number
        return (
            (self.low is None or v >= self.low)
            and (self.high is None or v <= self.high)
            and (self.above is None or v > self.above)
            and (self.below is None or v < self.below)
        )

    def flag_for(self, name: str) -> str:
        """The CLI flag of the field ``name``."""
        return self.flag or f"--{name.replace('_', '-')}"

    def message(self, name: str, value: Any) -> str:
        """The one-line error for a refused ``value`` of the field ``name``."""
        return (self.error or self._default_error(name.replace("_", "-"))).format(value=value)

    def _default_error(self, name: str) -> str:
        if self.choices is not None:
            return f"{name} must be one of {', '.join(map(str, self.choices))}, not {{value!r}}"
        if self.low is not None and self.high is not None:
            return f"{name} must lie in {self.low}..{self.high}, not {{value}}"
        if self.low is not None and self.below is not None:
            return f"{name} must lie in [{self.low}, {self.below})"
        if self.low == 1:
            return f"{name} must be a positive integer"
        if self.above == 0:
            return f"{name} must be positive"
        return f"{name} must be >= {self.low}"


def option(default: Any = dataclasses.MISSING, help: str = "", **declaration: Any) -> Any:
    """A dataclass field with its :class:`Option`."""
    return dataclasses.field(default=default, metadata={_KEY: Option(help, **declaration)})


def internal(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None) -> Any:
    """A dataclass field that is no option: set by a preset, a flag of its own or the code, never checked here."""
    metadata = {_KEY: None}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def declared(config: Any) -> dict[str, Option]:
    """The options of a config dataclass (class or instance) by field name, in field order."""
    out = {}
    for f in dataclasses.fields(config):
        declaration = f.metadata.get(_KEY)
        if declaration is not None:
            out[f.name] = declaration if declaration.parse else dataclasses.replace(declaration, parse=type(f.default))
    return out


def is_internal(field: dataclasses.Field) -> bool:
    """Whether a field was declared with :func:`internal`."""
    return _KEY in field.metadata and field.metadata[_KEY] is None


def check_options(config: Any) -> None:
    """Refuse the first field of ``config`` whose value its option does not accept."""
    for name, declaration in declared(config).items():
        value = getattr(config, name)
        if not declaration.accepts(value):
            raise InfoGANError(declaration.message(name, value))


def int_list(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated integers such as ``10`` or ``10,4``."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 10 or 10,5, got {text!r}") from None
