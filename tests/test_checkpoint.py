import errno
import os

import pytest
import torch
from torch.testing import assert_close

from infogan import checkpoint
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


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    checkpoint.write(path, {"a": torch.ones(2)}, {"step": 1})

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "save_file", disk_full)
    with pytest.raises(InfoGANError, match="No space left on device; the previous checkpoint is untouched"):
        checkpoint.write(path, {"a": torch.zeros(2)}, {"step": 2})
    _, meta = checkpoint.read(path)
    assert meta["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


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


def test_resolve(tmp_path):
    with pytest.raises(InfoGANError, match="no checkpoint"):
        checkpoint.resolve(tmp_path)
    (tmp_path / checkpoint.CHECKPOINT_NAME).write_bytes(b"x")
    assert checkpoint.resolve(tmp_path) == tmp_path / checkpoint.CHECKPOINT_NAME
