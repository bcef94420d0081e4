"""Two CPU processes under torchrun (gloo): they train, agree on weights, and write once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infogan.run import read_metrics

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _torchrun(args, tmp_path):
    done = subprocess.run([*TORCHRUN, *args], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow  # spawns two processes under torchrun
def test_two_ranks_train_and_agree(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    _torchrun([str(worker), str(tmp_path / "run"), str(tmp_path / "result.json")], tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result == {
        "world_size": 2,
        "weights_changed": True,
        "ranks_agree": True,
        "disjoint_batches": True,
        "whole_neighbour_table": True,  # each rank searched half the images
    }
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        ".lock",  # rank 0's hold on the run directory
        "checkpoint.safetensors",
        "config.json",
        "metrics.jsonl",
        "samples",
    ]
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [1, 2, 3]  # one writer


@pytest.mark.slow
def test_cli_under_torchrun_then_resume_in_one_process(tmp_path, mnist_root):
    run = tmp_path / "run"
    common = [
        "--batch-size",
        "8",
        "--data-root",
        str(mnist_root),
        "--eval-every",
        "0",
        "--no-progress",
        "--device",
        "cpu",
        "--log-every",
        "1",
    ]
    done = _torchrun(["-m", "infogan.cli", "train", "--steps", "2", "--out", str(run), *common], tmp_path)
    assert json.loads(done.stdout.strip().splitlines()[-1])["world_size"] == 2
    single = subprocess.run(
        [sys.executable, "-m", "infogan.cli", "train", "--resume", str(run), "--steps", "3", *common],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert single.returncode == 0, single.stderr[-2000:]
    assert [r["step"] for r in read_metrics(run) if "loss/D" in r] == [1, 2, 3]
