import errno
import os
import resource
import signal

import pytest
import torch
from torch.testing import assert_close

from infogan import checkpoint, files
from infogan.errors import InfoGANError


def test_round_trip_tensors_and_metadata(tmp_path):
    path = tmp_path / "c.safetensors"
    checkpoint.write(
        path,
        {"a": torch.arange(6.0).view(2, 3), "b": torch.tensor([1], dtype=torch.int64)},
        {"step": 7, "cfg": {"x": [1, 2]}},
    )
    tensors, meta = checkpoint.read(path)
    assert_close(tensors["a"], torch.arange(6.0).view(2, 3))
    assert meta == {"step": 7, "cfg": {"x": [1, 2]}}
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary left behind


def test_optimizer_state_round_trip():
    params = [torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(2, 2))]
    optimizer = torch.optim.Adam(params, lr=0.1)
    sum(p.sum() for p in params).backward()
    optimizer.step()
    flat, rest = checkpoint.flatten_optimizer(optimizer.state_dict())
    restored = torch.optim.Adam(params, lr=0.5)
    restored.load_state_dict(checkpoint.unflatten_optimizer(flat, rest))
    assert restored.param_groups[0]["lr"] == 0.1
    assert_close(restored.state[params[1]]["exp_avg"], optimizer.state[params[1]]["exp_avg"])


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named temporary"])
def test_a_full_disk_mid_write_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch, unnamed):
    path = tmp_path / "c.safetensors"
    checkpoint.write(path, {"a": torch.ones(2)}, {"step": 1})
    if not unnamed:  # where the system has no O_TMPFILE
        monkeypatch.setattr(files, "_unnamed_file", lambda directory: None)

    def disk_full(fd, data):
        os.write(fd, data[: len(data) // 2])  # half of it, as a disk filling up mid-write
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_all", disk_full)
    with pytest.raises(InfoGANError) as refused:
        checkpoint.write(path, {"a": torch.zeros(2)}, {"step": 2})
    assert str(refused.value) == (
        f"could not write {path}: No space left on device; the previous checkpoint is untouched"
    )
    _, meta = checkpoint.read(path)
    assert meta["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_a_write_the_kernel_refuses_is_one_line_not_a_safetensors_error(tmp_path):
    # A real failed write: a file-size limit makes write() fail with EFBIG, as a full disk makes it
    # fail with ENOSPC; safetensors' own writer turned that into an internal SafetensorError.
    path = tmp_path / "c.safetensors"
    checkpoint.write(path, {"a": torch.ones(2)}, {"step": 1})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us for the attempt
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
    try:
        with pytest.raises(InfoGANError, match=r"could not write .*: File too large; the previous checkpoint"):
            checkpoint.write(path, {"a": torch.zeros(1024, 1024)}, {"step": 2})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert checkpoint.read_metadata(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x08\x00\x00\x00\x00\x00\x00\x00{}"])
def test_corrupt_files_give_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(InfoGANError, match=r"corrupt|not an infogan"):
        checkpoint.read(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.ones(1)}, str(path))
    with pytest.raises(InfoGANError, match="not an infogan checkpoint"):
        checkpoint.read(path)
