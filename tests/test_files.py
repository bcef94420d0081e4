"""Atomic writes, stale temporaries and the run directory's lock."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infogan import files
from infogan.errors import InfoGANError

REPO = Path(__file__).resolve().parents[1]


def test_write_atomically_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "config.json"
    files.write_atomically(path, b"old")
    files.write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named temporary"])
def test_a_planted_symlink_is_replaced_not_written_through(tmp_path, monkeypatch, unnamed):
    if not unnamed:
        monkeypatch.setattr(files, "_unnamed_file", lambda directory: None)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").symlink_to(outside)
    files.write_atomically(run / "config.json", b"{}")
    assert outside.read_text() == "keep me"
    assert not (run / "config.json").is_symlink() and (run / "config.json").read_bytes() == b"{}"
    assert [p.name for p in run.iterdir()] == ["config.json"]


_KILLED_MID_WRITE = """
import os, signal, sys
from pathlib import Path
from infogan import files
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed once the bytes are written
files.write_atomically(Path(sys.argv[1]) / "checkpoint.safetensors", b"x" * 1_000_000)
"""


def test_a_kill_mid_write_leaves_no_temporary_file(tmp_path):
    if files._unnamed_file(tmp_path) is None:
        pytest.skip("no O_TMPFILE here: a kill leaves a named temporary, cleared at the next start")
    (tmp_path / "checkpoint.safetensors").write_bytes(b"previous")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _KILLED_MID_WRITE, str(tmp_path)], env=env, check=False)
    assert done.returncode == -9
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == b"previous"


def test_stale_temporaries_are_removed_without_following_links(tmp_path):
    outside = tmp_path / "outside.tmp"
    outside.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".checkpoint.safetensors.a1b2c3.tmp").write_bytes(b"\0" * 100)
    (run / ".config.json.x.tmp").write_bytes(b"")
    (run / ".metrics.jsonl.y.tmp").symlink_to(outside)
    (run / "checkpoint.safetensors").write_bytes(b"kept")
    removed = files.remove_stale_temporaries(run)
    assert len(removed) == 3 and [p.name for p in run.iterdir()] == ["checkpoint.safetensors"]
    assert outside.read_text() == "keep me"


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    second = pytest.raises(InfoGANError, match=rf"in use by another infogan process \(pid {os.getpid()}\)")
    lock = tmp_path / ".lock"
    with files.locked(lock), second, files.locked(lock):
        pass
    with files.locked(lock):  # released on leaving
        pass


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from infogan import files
with files.locked(Path(sys.argv[1]) / ".lock"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_the_lock_ends_with_the_process_that_held_it(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(tmp_path)], env=env, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(InfoGANError, match=rf"\(pid {holder.pid}\)"), files.locked(tmp_path / ".lock"):
            pass
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs, the OS drops the lock
        holder.wait()
    with files.locked(tmp_path / ".lock"):
        pass
