"""The benchmark and profile scripts: tiny real runs that print and write what the README reports."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

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
    tiny = ["--batches", "8", "--warmup", "1", "--steps", "1", "--matmul-size", "64"]
    bench_args = [*tiny, "--settings", "fp32", "--windows", "1", "--inference-batch", "16"]
    bench_args += ["--out", str(tmp_path / "bench.json")]
    monkeypatch.setattr(sys, "argv", ["bench.py", *bench_args])
    bench.main()
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["ceilings"]["size"] == 64 and result["inference"]["batch"] == 16
    rows = result["training"]
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


def test_without_native_bf16_its_ceiling_is_a_tiny_product_and_bf16_rows_are_left_out(scripts, monkeypatch, capsys):
    bench, _ = scripts
    monkeypatch.setattr(bench, "native_bf16", lambda device: (False, "no native bfloat16 here"))
    products = []
    monkeypatch.setattr(bench, "matmul_gflops", lambda dtype, size: products.append((dtype, size)) or 1.0)
    ceilings = bench.matmul_ceilings(2048)
    assert products == [(torch.float32, 2048), (torch.bfloat16, bench.EMULATED_BF16_SIZE)]
    assert f"not native, {bench.EMULATED_BF16_SIZE}² product only" in bench.ceilings_line(ceilings)
    kept = bench.default_settings(bench.DEFAULT_SETTINGS, ceilings)
    assert kept == ["fp32", "fp32+channels_last", "fp32+consistency"]
    assert "bf16 settings left out (no native bfloat16 here)" in capsys.readouterr().out
    monkeypatch.setattr(bench, "native_bf16", lambda device: (True, "native"))
    assert bench.matmul_ceilings(512)["bf16_size"] == 512
    assert bench.default_settings(bench.DEFAULT_SETTINGS, bench.matmul_ceilings(512)) == bench.DEFAULT_SETTINGS
