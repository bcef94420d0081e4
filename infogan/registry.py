"""Named extension points: architectures, datasets and disentanglement metrics each live in one
registry, so that adding one is a single ``register`` call beside its code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from infogan.errors import InfoGANError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one kind by name, in the order they were registered.

    Reads as a read-only mapping (``name in registry``, ``list(registry)``, ``registry[name]``);
    :meth:`lookup` is ``registry[name]`` with a one-line error that lists the known names.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Add ``entry`` under ``name``; a name already taken is an error unless ``replace``."""
        if name in self._entries and not replace:
            raise InfoGANError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return the entry under ``name``."""
        entry = self.lookup(name)
        del self._entries[name]
        return entry

    def lookup(self, name: str) -> T:
        """The entry under ``name``, or an error naming the known ones."""
        if name not in self._entries:
            raise InfoGANError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return self._entries[name]

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
