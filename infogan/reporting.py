"""One reporting call for every scalar: appended to a run's ``metrics.jsonl`` and sent to TensorBoard."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infogan import files
from infogan.errors import InfoGANError


class Reporter:
    """Writes ``{"step": s, "time": t, name: value, …}`` lines to ``path``; names are grouped by slashes.

    A context manager: leaving it flushes TensorBoard; a write that fails (a full disk) raises
    :class:`InfoGANError` with one line.
    """

    def __init__(self, path: Path, *, tensorboard: Path | None = None, resume_step: int = 0) -> None:
        self.path = path
        self._keep_until(resume_step)
        self._writer = None
        self._tensorboard_dir = tensorboard  # the event files' folder; None: no TensorBoard
        if tensorboard is not None:
            from torch.utils.tensorboard import SummaryWriter  # deferred: heavy import

            _quiet_tensorboard_threads()
            with _writing(self._tensorboard_dir):
                # purge_step hides events logged past the step the run continues from: by a
                # crashed run past its last checkpoint, or by any earlier attempt on a fresh start
                self._writer = SummaryWriter(str(self._tensorboard_dir), purge_step=resume_step)

    def _keep_until(self, step: int) -> None:
        """Keep the records up to ``step`` (none on a fresh start): a run resumed from there logs the
        later steps again, and one started afresh must not follow an earlier attempt's lines."""
        if not self.path.is_file():
            return
        kept = [line for line, record in _records(self.path) if record["step"] <= step]
        files.write_atomically(self.path, "".join(line + "\n" for line in kept).encode())

    def report(self, step: int, scalars: dict[str, float]) -> None:
        """Record ``scalars`` at ``step``."""
        record = {"step": step, "time": round(time.time(), 3), **scalars}
        with _writing(self.path), self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._writer is not None:
            with _writing(self._tensorboard_dir):
                for name, value in scalars.items():
                    self._writer.add_scalar(name, value, step)

    def close(self) -> None:
        """Flush TensorBoard's event file."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with _writing(self._tensorboard_dir):
                writer.close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(InfoGANError):  # the error on its way out says more than a failed flush
            self.close()


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failed write (a full disk) as one line."""
    try:
        yield
    except OSError as err:
        raise InfoGANError(f"could not write {path}: {err.strerror or err}") from None


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each line of a metrics file with its record; a line that does not parse, as a kill or a
    full disk leaves the last one, is skipped."""
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            yield line, record


def read_records(path: Path) -> list[dict[str, float]]:
    """Every record of a metrics file, in order (a torn line is skipped)."""
    return [record for _, record in _records(path)]


def _quiet_tensorboard_threads() -> None:
    """TensorBoard's writer thread hands a failed write (a full disk) to the next ``add_scalar``
    or ``close``, which reports it in one line, and then re-raises it, so that Python prints its
    traceback too: silence that second copy (other threads' exceptions print as before)."""
    previous = threading.excepthook
    if getattr(previous, "_infogan_quiet", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, OSError) and type(args.thread).__module__.startswith("tensorboard."):
            return
        previous(args)

    hook._infogan_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook
