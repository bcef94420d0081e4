"""One reporting call for every scalar: appended to ``metrics.jsonl`` and sent to TensorBoard."""

from __future__ import annotations

import json
import time
from pathlib import Path


class Reporter:
    """Writes ``{"step": s, "time": t, name: value, …}`` lines; names are grouped by slashes."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True, resume_step: int = 0) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step:
            self._forget_after(resume_step)
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # deferred: heavy import

            # purge_step hides events a crashed run logged past its last checkpoint
            self._writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step or None)

    def _forget_after(self, step: int) -> None:
        """Drop records past ``step``: a run resumed from there will log those steps again."""
        if not self.path.is_file():
            return
        lines = [line for line in self.path.read_text().splitlines() if line.strip()]
        kept = [line for line in lines if json.loads(line)["step"] <= step]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(self.path)

    def report(self, step: int, scalars: dict[str, float]) -> None:
        """Record ``scalars`` at ``step``."""
        record = {"step": step, "time": round(time.time(), 3), **scalars}
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._writer is not None:
            for name, value in scalars.items():
                self._writer.add_scalar(name, value, step)

    def close(self) -> None:
        """Flush TensorBoard's event file."""
        if self._writer is not None:
            self._writer.close()


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """Every record of a run's ``metrics.jsonl``, in order."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
