"""The run directory: its layout on disk, config round trip, and where outputs go beside a model."""

import pytest

from infogan.config import preset
from infogan.errors import InfoGANError
from infogan.run import RunDir, checkpoint_file, output_beside


def test_the_layout_users_rely_on(tmp_path):
    run = RunDir(tmp_path)
    assert run.config == tmp_path / "config.json"
    assert run.checkpoint == tmp_path / "checkpoint.safetensors"
    assert run.selected == tmp_path / "selected.safetensors"
    assert run.metrics == tmp_path / "metrics.jsonl"
    assert run.tensorboard == tmp_path / "tensorboard"
    assert run.lock == tmp_path / ".lock"
    assert run.sample_image(40) == tmp_path / "samples" / "step_0000040.png"


def test_checkpoint_file(tmp_path):
    with pytest.raises(InfoGANError, match="no checkpoint"):
        checkpoint_file(tmp_path)
    (tmp_path / "checkpoint.safetensors").write_bytes(b"x")
    assert checkpoint_file(tmp_path) == tmp_path / "checkpoint.safetensors"
    assert checkpoint_file(tmp_path / "checkpoint.safetensors") == tmp_path / "checkpoint.safetensors"


def test_outputs_beside_a_run_its_checkpoint_or_another_file(tmp_path):
    assert output_beside(tmp_path, "evaluation.json") == tmp_path / "evaluation.json"
    assert output_beside(tmp_path / "checkpoint.safetensors", "onnx") == tmp_path / "onnx"
    assert output_beside(tmp_path / "selected.safetensors", "onnx") == tmp_path / "selected_onnx"


def test_config_round_trip_keeps_the_resolved_record_out_of_the_settings(tmp_path):
    run, config = RunDir(tmp_path), preset("mnist").replace(steps=7)
    assert not run.has_config()
    with pytest.raises(InfoGANError, match="is not a run directory"):
        run.read_config()
    run.write_config(config, {"precision": "fp32", "precision_reason": "asked"})
    assert run.has_config()
    assert run.read_config() == config
    run.config.write_text("{")
    with pytest.raises(InfoGANError, match=r"config.json is not valid JSON"):
        run.read_config()
