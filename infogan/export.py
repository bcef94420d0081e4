"""G and Q as ONNX files, to run a model without this package or PyTorch (e.g. in onnxruntime).

``generator.onnx``
    inputs ``noise`` (B, noise_dim) float32, ``categories`` (B, n_categorical) int64 class indices,
    ``continuous`` (B, n_continuous) float32, each only where the model has it; output ``images``
    (B, C, H, W) in [0, 1].
``encoder.onnx``
    Q: input ``images`` (B, C, H, W) float32 in [0, 1]; one output per code, ``c1_probs`` (B, k)
    for a categorical code, ``c2_mean`` (B,) for a continuous one (and ``c2_sigma`` when Q
    learned σ).

Both have a dynamic batch axis and carry, under the ``infogan`` key of their metadata_props, a
JSON description: the image shape, the noise, every code with its class names or unit map
(knots to interpolate), and the inputs and outputs.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import Tensor, nn

from infogan import __version__
from infogan.config import to_dict
from infogan.errors import InfoGANError
from infogan.model import InfoGAN

FORMAT = "infogan-onnx-v1"
METADATA_KEY = "infogan"
GENERATOR_FILE, ENCODER_FILE = "generator.onnx", "encoder.onnx"


class GeneratorGraph(nn.Module):
    """G with its one-hot encoding inside: takes the parts of a latent draw, not G's flat input."""

    def __init__(self, model: InfoGAN) -> None:
        super().__init__()
        self.nets, self.spec = model.nets, model.spec
        self.inputs = generator_inputs(model)

    def forward(self, *parts: Tensor) -> Tensor:
        given = dict(zip(self.inputs, parts, strict=True))
        categories = given.get("categories")
        # one-hot as a comparison with 0..k-1, as LatentSpec.generator_input builds it
        hots = [
            (categories[:, i : i + 1] == torch.arange(k, device=categories.device)).float()
            for i, k in enumerate(self.spec.categorical)
        ]
        pieces = [p for p in (given.get("noise"), *hots, given.get("continuous")) if p is not None]
        return self.nets.generate(torch.cat(pieces, dim=1))  # (B, C, H, W)


class EncoderGraph(nn.Module):
    """D's body and Q's head, with Q's output split into named per-code outputs."""

    def __init__(self, model: InfoGAN) -> None:
        super().__init__()
        self.nets, self.spec = model.nets, model.spec

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        reading = self.spec.read_q(self.nets.q_logits_of(images))
        outputs = [logits.softmax(dim=1) for logits in reading.logits]
        for code in (c for c in self.spec.codes if c.kind == "continuous"):
            outputs.append(reading.mean[:, code.index])
            if reading.log_sigma is not None:
                outputs.append(reading.log_sigma[:, code.index].exp())
        return tuple(outputs)


def generator_inputs(model: InfoGAN) -> list[str]:
    """The generator's input names, leaving out empty parts."""
    spec = model.spec
    sizes = {"noise": spec.noise_dim, "categories": len(spec.categorical), "continuous": spec.continuous}
    return [name for name, size in sizes.items() if size > 0]


def encoder_outputs(model: InfoGAN) -> list[str]:
    """The encoder's output names, in order."""
    names = []
    for code in model.spec.codes:
        if code.kind == "categorical":
            names.append(f"{code.name}_probs")
        else:
            names += [f"{code.name}_mean"] + ([f"{code.name}_sigma"] if model.spec.learn_sigma else [])
    return names


def description(model: InfoGAN) -> dict[str, Any]:
    """The JSON stored in both files' metadata: layout, names, units, inputs and outputs."""
    spec = model.spec
    codes = []
    for code in spec.codes:
        if code.kind == "categorical":
            entry = {"name": code.name, "kind": code.kind, "num_classes": code.num_classes}
            entry["names"] = model.names.get(code.name) or [None] * code.num_classes
        else:
            entry = {"name": code.name, "kind": code.kind, "prior": spec.continuous_dist}
            if code.name in model.calibration:
                entry["unit"] = model.calibration[code.name].as_dict()
        codes.append(entry)
    return {
        "format": FORMAT,
        "library_version": __version__,
        "image_shape": list(model.image_shape),
        "noise": {"dim": spec.noise_dim, "prior": spec.noise_dist},
        "codes": codes,
        "generator": {"inputs": generator_inputs(model), "outputs": ["images"]},
        "encoder": {"inputs": ["images"], "outputs": encoder_outputs(model)},
        "model_config": to_dict(model.config),
    }


def _example_inputs(model: InfoGAN, batch: int = 2) -> tuple[Tensor, ...]:
    latents = model.sample_latents(batch, seed=0)
    parts = {"noise": latents.noise, "categories": latents.categories, "continuous": latents.continuous}
    return tuple(parts[name].cpu() for name in generator_inputs(model))


def _to_onnx(module: nn.Module, args: tuple[Tensor, ...], inputs: list[str], outputs: list[str]) -> onnx.ModelProto:
    """The dynamo exporter's graph (the TorchScript one is deprecated), every input's first axis dynamic."""
    batch = torch.export.Dim("batch")
    axes = tuple({0: batch} for _ in args)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*axis name.*", category=UserWarning)  # one Dim shared on purpose
        program = torch.onnx.export(
            module.eval(),
            args,
            dynamo=True,
            verbose=False,
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes=(axes,) if isinstance(module, GeneratorGraph) else axes,  # its forward takes *parts
        )
    return program.model_proto


def _save(proto: onnx.ModelProto, meta: dict[str, Any], path: Path) -> Path:
    """Add the metadata, check the model and write it atomically."""
    del proto.metadata_props[:]
    proto.metadata_props.add(key=METADATA_KEY, value=json.dumps(meta))
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a model to hand on is not
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise InfoGANError(f"could not write {path}: {err.strerror or err}") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def export_onnx(model: InfoGAN, out_dir: str | Path) -> list[Path]:
    """Write ``generator.onnx`` and ``encoder.onnx`` under ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    meta = description(model)
    device = model.device
    model.nets.to("cpu")  # export traces on the CPU whatever the model runs on
    try:
        generator = _to_onnx(GeneratorGraph(model), _example_inputs(model), generator_inputs(model), ["images"])
        images = torch.rand(2, *model.image_shape)
        encoder = _to_onnx(EncoderGraph(model), (images,), ["images"], encoder_outputs(model))
    finally:
        model.nets.to(device)
    return [_save(generator, meta, out_dir / GENERATOR_FILE), _save(encoder, meta, out_dir / ENCODER_FILE)]
