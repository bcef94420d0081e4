"""The benchmark and profile scripts: tiny real runs that print and write what the README reports."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench
    import profile_step

    return bench, profile_step


def _event(name, parent=None):
    return SimpleNamespace(name=name, cpu_parent=parent)


def test_ops_are_grouped_by_kind_and_optimizer_steps_claim_their_ops(scripts):
    _, profile_step = scripts
    step = _event("Optimizer.step#Adam.step")
    assert profile_step.kind_of(_event("aten::_fused_adam_", _event("aten::something", step))) == "optimizer"
    assert profile_step.kind_of(_event("aten::convolution_backward")) == "convolution"
    assert profile_step.kind_of(_event("aten::addmm")) == "matmul"
    assert profile_step.kind_of(_event("aten::native_batch_norm_backward")) == "batch norm"
    assert profile_step.kind_of(_event("aten::leaky_relu")) == "other ops"


def test_bench_and_profile_run_and_write_their_tables(scripts, tmp_path, monkeypatch, capsys):
    bench, profile_step = scripts
    tiny = ["--batches", "8", "--warmup", "1", "--steps", "1"]
    bench_args = [*tiny, "--settings", "fp32", "--windows", "1", "--out", str(tmp_path / "bench.json")]
    monkeypatch.setattr(sys, "argv", ["bench.py", *bench_args])
    bench.main()
    rows = json.loads((tmp_path / "bench.json").read_text())["training"]
    assert [r["setting"] for r in rows] == ["reference", "fp32"]
    assert all(r["images_per_s"] > 0 and r["flops_per_image"] > 1e6 for r in rows)

    out = tmp_path / "profile.json"
    monkeypatch.setattr(sys, "argv", ["profile_step.py", *tiny, "--settings", "reference", "fp32", "--out", str(out)])
    profile_step.main()
    rows = json.loads(out.read_text())["rows"]
    assert [r["setting"] for r in rows] == ["reference", "fp32"]
    for row in rows:
        spent = row["seconds_per_step"]
        assert spent["convolution"] > 0 and spent["optimizer"] > 0
        assert sum(spent.values()) == pytest.approx(row["step_s"], rel=0.1)
    assert "conv+mm GFLOP/s" in capsys.readouterr().out
