"""ONNX export: both graphs match PyTorch in onnxruntime, carry the layout, and the
onnxruntime-and-numpy snippet of docs/names-units.md reads codes as InfoGAN.encode does."""

import json
import os
import re
import sys
from pathlib import Path

import onnxruntime as ort
import pytest
import torch
from numpy.testing import assert_allclose

import infogan
from infogan import InfoGAN, LatentSpec, ModelConfig
from infogan.calibration import UnitMap
from infogan.cli import main
from infogan.export import ENCODER_FILE, GENERATOR_FILE, generator_inputs
from infogan.run import CHECKPOINT_NAME

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "names-units.md"
TOLERANCE = 1e-4
NAMES = ["zero", "one", None, "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(scope="module")
def model():
    """A small random model with learned σ, named classes and a unit map on c3."""
    torch.manual_seed(0)
    model = InfoGAN(ModelConfig(LatentSpec(learn_sigma=True)), device="cpu")
    with torch.no_grad():  # He init, so that outputs vary enough for the comparison to mean something
        for module in model.nets.modules():
            if isinstance(module, torch.nn.Linear | torch.nn.Conv2d | torch.nn.ConvTranspose2d):
                torch.nn.init.kaiming_normal_(module.weight)
    model.set_names("c1", NAMES)
    model.calibration = {"c3": UnitMap("c3", "slant", "deg", 0.9, (-2.0, 0.0, 2.0), (-25.0, 0.0, 30.0))}
    return model


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    """The model exported through the CLI, as a run would be."""
    run = tmp_path_factory.mktemp("run")
    model.save(run / CHECKPOINT_NAME)
    out = run / "onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out), "--device", "cpu"]) == 0
    return out


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("batch", [1, 5])
def test_generator_matches_pytorch(model, exported, batch):
    latents = model.sample_latents(batch, seed=batch)
    feeds = {"noise": latents.noise, "categories": latents.categories, "continuous": latents.continuous}
    images = _session(exported / GENERATOR_FILE).run(["images"], {k: v.numpy() for k, v in feeds.items()})[0]
    assert images.shape == (batch, 1, 28, 28)
    assert_allclose(images, model.render(latents).numpy(), atol=TOLERANCE, rtol=0)
    assert images.std() > 0.05  # the images differ, so agreeing means something


@pytest.mark.parametrize("batch", [1, 5])
def test_encoder_matches_pytorch(model, exported, batch):
    images = model.generate(batch, seed=10 + batch)
    session = _session(exported / ENCODER_FILE)
    names = [o.name for o in session.get_outputs()]
    assert names == ["c1_probs", "c2_mean", "c2_sigma", "c3_mean", "c3_sigma"]
    outputs = dict(zip(names, session.run(None, {"images": images.numpy()}), strict=True))
    reading = model.encode(images)
    assert_allclose(outputs["c1_probs"], reading.probabilities["c1"].numpy(), atol=TOLERANCE, rtol=0)
    for code in ("c2", "c3"):
        assert outputs[f"{code}_mean"].shape == (batch,)
        assert_allclose(outputs[f"{code}_mean"], reading.means[code].numpy(), atol=TOLERANCE, rtol=0)
        assert_allclose(outputs[f"{code}_sigma"], reading.sigmas[code].numpy(), atol=TOLERANCE, rtol=0)


def test_both_files_carry_the_layout_names_and_units(exported):
    for file in (GENERATOR_FILE, ENCODER_FILE):
        meta = json.loads(_session(exported / file).get_modelmeta().custom_metadata_map["infogan"])
        assert meta["format"] == "infogan-onnx-v1" and meta["image_shape"] == [1, 28, 28]
        assert meta["noise"] == {"dim": 62, "prior": "uniform"}
        c1, c2, c3 = meta["codes"]
        assert c1 == {"name": "c1", "kind": "categorical", "num_classes": 10, "names": NAMES}
        assert c2 == {"name": "c2", "kind": "continuous", "prior": "uniform"}
        assert c3["unit"]["property"] == "slant" and c3["unit"]["value"] == [-25.0, 0.0, 30.0]
        assert meta["generator"]["inputs"] == ["noise", "categories", "continuous"]
    assert sorted(p.name for p in exported.iterdir()) == [ENCODER_FILE, GENERATOR_FILE]  # no temporary files left
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in exported.iterdir()} == {0o666 & ~umask}  # as open() would make them


def _docs_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS_PAGE.read_text(), flags=re.DOTALL)
    (snippet,) = [b for b in blocks if "def read_codes(" in b]
    assert "import torch" not in snippet and "infogan" not in snippet.replace('["infogan"]', "")
    return snippet


def test_the_docs_onnxruntime_snippet_reads_what_encode_reads(model, exported):
    namespace: dict = {}
    exec(compile(_docs_snippet(), str(DOCS_PAGE), "exec"), namespace)
    images = model.generate(3, seed=4)
    pixels = (images * 255).round().to(torch.uint8)  # what an image file holds
    for image in pixels:
        reading = namespace["read_codes"](str(exported / ENCODER_FILE), image[0].numpy())
        expected = model.encode(image.unsqueeze(0)).records()[0]
        assert reading["c1"] == expected["c1"]
        assert reading["c1_name"] == (NAMES[expected["c1"]])
        assert reading["c2"] == pytest.approx(expected["c2"], abs=TOLERANCE)
        assert reading["slant_deg"] == pytest.approx(expected["slant_deg"], abs=1e-3)


def test_generator_inputs_leave_out_empty_parts():
    bare = InfoGAN(ModelConfig(LatentSpec(noise_dim=0, categorical=(), continuous=2)))
    assert generator_inputs(bare) == ["continuous"]


def test_export_without_the_extra_says_what_to_install(model, tmp_path, monkeypatch, capsys):
    model.save(tmp_path / "m.safetensors")
    monkeypatch.delitem(sys.modules, "infogan.export", raising=False)
    monkeypatch.delattr(infogan, "export", raising=False)
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    assert main(["export", str(tmp_path / "m.safetensors")]) == 2
    assert 'pip install "infogan[export]"' in capsys.readouterr().err
