"""metrics.jsonl and TensorBoard: torn lines, fresh starts, full disks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infogan.errors import InfoGANError
from infogan.reporting import Reporter
from infogan.run import read_metrics

REPO = Path(__file__).resolve().parents[1]


def _lines(steps):
    return "".join(json.dumps({"step": s, "time": 1.0, "loss/D": 0.5}) + "\n" for s in steps)


def test_a_torn_last_line_does_not_block_a_resume(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(_lines([1, 2, 3]) + '{"step": 13, "time": 17')  # a kill or a full disk mid-line
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]
    with Reporter(metrics, resume_step=2) as reporter:
        reporter.report(3, {"loss/D": 0.25})
    assert metrics.read_text().splitlines()[-1].startswith('{"step": 3,')
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]


def test_a_fresh_start_does_not_append_to_an_earlier_attempts_lines(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(_lines([1, 2]))  # killed before its first checkpoint
    with Reporter(tmp_path / "metrics.jsonl") as reporter:
        reporter.report(1, {"loss/D": 0.25})
    assert [r["step"] for r in read_metrics(tmp_path)] == [1]


def test_a_planted_symlink_at_the_old_temporary_name_is_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(_lines([1, 2, 3]))
    (run / "metrics.jsonl.tmp").symlink_to(outside)
    Reporter(run / "metrics.jsonl", resume_step=2).close()
    assert outside.read_text() == "keep me"
    assert [r["step"] for r in read_metrics(run)] == [1, 2]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full, the device that is always full")
def test_a_full_disk_under_the_metrics_is_one_line(tmp_path):
    reporter = Reporter(tmp_path / "metrics.jsonl")
    reporter.path = Path("/dev/full")  # every write fails with ENOSPC, as on a full disk
    with pytest.raises(InfoGANError, match=r"^could not write /dev/full: No space left on device$"):
        reporter.report(1, {"loss/D": 0.5})


_TENSORBOARD_ON_A_FULL_DISK = """
import errno, os, sys, time
from pathlib import Path
from tensorboard.summary.writer.record_writer import RecordWriter
from infogan.errors import InfoGANError
from infogan.reporting import Reporter

run = Path(sys.argv[1])
reporter = Reporter(run / "metrics.jsonl", tensorboard=run / "tensorboard")
def disk_full(self, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
RecordWriter.write = disk_full  # the writer thread's next write fails, as on a full disk
try:
    with reporter:  # as Trainer.fit holds it
        for step in range(1, 200):
            reporter.report(step, {"loss/D": 0.5})
            time.sleep(0.05)
except InfoGANError as err:
    print(err)
"""


def test_tensorboards_writer_thread_on_a_full_disk_is_one_line_and_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _TENSORBOARD_ON_A_FULL_DISK, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout == f"could not write {tmp_path / 'tensorboard'}: No space left on device\n", done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0
