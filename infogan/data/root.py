"""Where datasets and their caches live on disk."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "INFOGAN_DATA_ROOT"


def data_root(explicit: str | Path | None = None) -> Path:
    """``--data-root``, else ``$INFOGAN_DATA_ROOT``, else ``~/.cache/infogan/data``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    return Path.home() / ".cache" / "infogan" / "data"
