"""The public face of a trained InfoGAN: load, generate, encode, traverse.

The CLI, scripts and tests all go through :class:`InfoGAN`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from infogan import __version__, checkpoint
from infogan.config import ModelConfig, model_config_from_dict, to_dict
from infogan.data import as_float, to_tensor
from infogan.errors import InfoGANError
from infogan.latent import LatentBatch, LatentSpec, continuous_value
from infogan.networks import InfoGANNetworks


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; other names are checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):  # not meta, xla...: nothing here runs there
        raise InfoGANError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InfoGANError("--device cuda was asked for, but no CUDA GPU is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InfoGANError("--device mps was asked for, but MPS is not available")
    return device


# safetensors' names of the dtypes a model's state holds
_STORED_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def build_networks(config: ModelConfig) -> InfoGANNetworks:
    """The networks ``config`` describes, sized by its latent layout (with a learned prior's buffer)."""
    latent = config.latent
    learned = latent.categorical_prior == "learned"
    return InfoGANNetworks(
        config.network,
        latent_dim=latent.input_dim,
        q_output_dim=latent.q_output_dim,
        category_prior=latent.uniform_prior() if learned else None,
    )


def check_stored_weights(config: ModelConfig, specs: Mapping[str, checkpoint.TensorSpec], source: Path) -> None:
    """Refuse a checkpoint whose ``model.`` tensors (dtypes and shapes from its header) do not fit
    ``config``, before a model of the sizes ``config`` claims is allocated: a crafted header could
    otherwise ask for gigabytes. The expected shapes come from networks built on the meta device,
    which allocates nothing."""
    with torch.device("meta"):
        nets = build_networks(config)
    expected = {f"model.{k}": v for k, v in nets.state_dict().items()}
    stored = {k: v for k, v in specs.items() if k.startswith("model.")}
    missing, unexpected = sorted(expected.keys() - stored.keys()), sorted(stored.keys() - expected.keys())
    if missing or unexpected:
        detail = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise InfoGANError(f"{source} does not match its configuration: {detail}")
    for name, tensor in expected.items():
        spec, dtype = stored[name], _STORED_DTYPES.get(tensor.dtype, str(tensor.dtype))
        if spec.shape != tuple(tensor.shape) or spec.dtype != dtype:
            raise InfoGANError(
                f"{source} does not match its configuration: {name} is {spec.dtype} {list(spec.shape)}, "
                f"the configuration needs {dtype} {list(tensor.shape)}"
            )


@dataclass(frozen=True)
class Encoding:
    """Q's reading of N images.

    Args:
        probabilities: per categorical code name, class probabilities (N, k).
        means: per continuous code name, the predicted value (N,).
        sigmas: per continuous code name, the predicted σ (N,), when the model learned σ.
    """

    probabilities: dict[str, Tensor]
    means: dict[str, Tensor]
    sigmas: dict[str, Tensor]

    def categories(self, name: str) -> Tensor:
        """The most likely class (N,) of a categorical code."""
        return self.probabilities[name].argmax(dim=1)

    def records(self) -> list[dict[str, object]]:
        """One flat dict per image, e.g. ``{"c1": 7, "c1_p7": 0.98, "c2": 0.31}``."""
        rows: list[dict[str, object]] = []
        n = next(iter([*self.probabilities.values(), *self.means.values()])).shape[0]
        for i in range(n):
            row: dict[str, object] = {}
            for name, probs in self.probabilities.items():
                row[name] = int(probs[i].argmax())
                row |= {f"{name}_p{k}": round(float(p), 6) for k, p in enumerate(probs[i])}
            for name, mean in self.means.items():
                row[name] = round(float(mean[i]), 6)
                if name in self.sigmas:
                    row[f"{name}_sigma"] = round(float(self.sigmas[name][i]), 6)
            rows.append(row)
        return rows


class InfoGAN:
    """A generator G(z, c) with its recognition network Q(c | x) and discriminator D."""

    def __init__(self, config: ModelConfig | None = None, *, device: str | torch.device = "cpu") -> None:
        self.config = config or ModelConfig()
        self.device = torch.device(device)
        self.nets = build_networks(self.config).to(self.device)
        self.nets.eval()

    @property
    def spec(self) -> LatentSpec:
        """The latent-code specification."""
        return self.config.latent

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of generated and encoded images."""
        return self.config.network.image_shape

    # ----- persistence ------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "auto") -> InfoGAN:
        """Rebuild a model from a run directory or checkpoint file; no code is executed."""
        file = checkpoint.resolve(path)
        device = resolve_device(str(device))
        with checkpoint.opened(file) as stored:
            if "model_config" not in stored.meta:
                raise InfoGANError(f"{file} holds no model configuration")
            config = model_config_from_dict(stored.meta["model_config"])
            check_stored_weights(config, stored.specs, file)  # before the model is built at the header's sizes
            model = cls(config, device=device)
            model.load_weights(checkpoint.strip_prefix("model.", stored.tensors("model.")), source=file)
        return model

    def load_weights(self, weights: Mapping[str, Tensor], *, source: Path | str = "checkpoint") -> None:
        """Copy ``weights`` in, with a one-line error when they belong to another architecture or
        hold another dtype or non-finite values (load_state_dict would convert or copy them silently)."""
        expected = self.nets.state_dict()
        for name, tensor in weights.items():
            if name in expected and tensor.dtype != expected[name].dtype:
                raise InfoGANError(f"{source}: {name} is {tensor.dtype}, the model needs {expected[name].dtype}")
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise InfoGANError(f"{source}: {name} holds NaN or infinite values")
        try:
            self.nets.load_state_dict(dict(weights), strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            detail = first[1].strip() if len(first) > 1 else first[0]
            raise InfoGANError(f"{source} does not match its configuration: {detail}") from None

    def weights(self) -> dict[str, Tensor]:
        """The networks' tensors, prefixed for the checkpoint file."""
        return checkpoint.with_prefix("model.", self.nets.state_dict())

    def metadata(self) -> dict[str, object]:
        """What a checkpoint needs besides tensors to rebuild this model."""
        return {"model_config": to_dict(self.config), "library_version": __version__}

    def save(self, path: str | Path) -> None:
        """Write the weights and configuration (no optimizer state) to a single file."""
        checkpoint.write(Path(path), self.weights(), self.metadata())

    # ----- use --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        was_training = self.nets.training
        self.nets.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            self.nets.train(was_training)

    def sample_latents(
        self, n: int, *, codes: Mapping[str, float] | None = None, seed: int | None = None
    ) -> LatentBatch:
        """``n`` latent draws with the given codes fixed; ``seed`` makes them reproducible."""
        rng = torch.Generator(device=self.device)
        rng.manual_seed(seed if seed is not None else int(torch.randint(2**31, ()).item()))
        return self.spec.sample(n, generator=rng, fixed=codes, prior=self.nets.category_prior)

    def render(self, latents: LatentBatch) -> Tensor:
        """Images (B, C, H, W) in [0, 1] for given latents."""
        with self._inference():
            return self.nets.generate(self.spec.generator_input(latents)).float()

    def generate(self, n: int, *, codes: Mapping[str, float] | None = None, seed: int | None = None) -> Tensor:
        """``n`` images (n, C, H, W) in [0, 1], e.g. ``generate(10, codes={"c1": 3})``."""
        if n < 1:
            raise InfoGANError("the number of images must be at least 1")
        return self.render(self.sample_latents(n, codes=codes, seed=seed))

    def encode(self, images: Tensor | np.ndarray, *, batch_size: int = 1024) -> Encoding:
        """Q's reading of images (N, C, H, W): floats in [0, 1], or uint8 in [0, 255] (a tensor or an array)."""
        if len(images.shape) != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise InfoGANError(
                f"images must have shape (N, {', '.join(map(str, self.image_shape))}), got {tuple(images.shape)}"
            )
        chunks = (images[start : start + batch_size] for start in range(0, images.shape[0], batch_size))
        readings = [self._read(as_float(to_tensor(chunk))) for chunk in chunks]
        probabilities = {
            code.name: torch.cat([r.logits[code.index] for r in readings]).softmax(dim=1).cpu()
            for code in self.spec.codes
            if code.kind == "categorical"
        }
        conts = [c for c in self.spec.codes if c.kind == "continuous"]
        means = torch.cat([r.mean for r in readings]).cpu() if conts else None
        sigmas = torch.cat([r.log_sigma for r in readings]).exp().cpu() if self.spec.learn_sigma else None
        return Encoding(
            probabilities,
            {c.name: means[:, c.index] for c in conts},
            {c.name: sigmas[:, c.index] for c in conts} if sigmas is not None else {},
        )

    def _read(self, images: Tensor):
        images = images.to(self.device)
        with self._inference():
            _, features = self.nets.discriminate(images)
            return self.spec.read_q(self.nets.q_logits(images, features).float())

    def traversal(
        self,
        code: str,
        *,
        values: Sequence[float] | None = None,
        span: tuple[float, float] = (-2.0, 2.0),
        steps: int = 10,
        seed: int = 0,
    ) -> Tensor:
        """The paper's Figure 2: images (rows, cols, C, H, W) varying one code, the rest held.

        A categorical code gets one row per class and one column per noise draw. A continuous
        code gets columns from ``span[0]`` to ``span[1]`` (or ``values``), with one fixed noise
        and one row per class of the first categorical code (or per noise draw without one).
        """
        target = self.spec.code(code)
        if target.kind == "categorical":
            base = self.sample_latents(steps, seed=seed)
            rows = [self.spec.with_codes(base, {code: k}) for k in range(target.num_classes)]
        else:
            ends = [continuous_value(code, v) for v in (values if values is not None else span)]
            grid = torch.tensor(ends if values is not None else torch.linspace(*ends, steps).tolist())
            rows = self._continuous_rows(code, grid, seed)
        images = self.render(LatentBatch.concat(rows))  # one forward pass for the whole figure
        return images.view(len(rows), -1, *images.shape[1:])

    def _continuous_rows(self, code: str, grid: Tensor, seed: int) -> list[LatentBatch]:
        categorical = [c for c in self.spec.codes if c.kind == "categorical"]
        held = {c.name: 0.0 for c in self.spec.codes if c.kind == "continuous"}
        if categorical:
            shared = self._repeat(self.sample_latents(1, seed=seed), len(grid))
            first = categorical[0]
            rows = [self.spec.with_codes(shared, {**held, first.name: k}) for k in range(first.num_classes)]
        else:
            draws = [self._repeat(self.sample_latents(1, seed=seed + r), len(grid)) for r in range(8)]
            rows = [self.spec.with_codes(draw, held) for draw in draws]
        index = self.spec.code(code).index
        for row in rows:  # with_codes returned fresh tensors, safe to fill in place
            row.continuous[:, index] = grid.to(row.continuous)
        return rows

    @staticmethod
    def _repeat(batch: LatentBatch, n: int) -> LatentBatch:
        return LatentBatch(*(t.expand(n, -1).clone() for t in (batch.noise, batch.categories, batch.continuous)))

    def information_bounds(self, n: int = 10_000, *, seed: int = 0) -> dict[str, float]:
        """L_I per code (nats) on ``n`` fresh samples: H(c) minus Q's cross-entropy."""
        latents = self.sample_latents(n, seed=seed)
        reading = self._read(self.render(latents))
        terms = self.spec.information_terms(reading, latents)
        bounds = self.spec.mutual_information_bounds(terms, self.nets.category_prior)
        return {k: float(v) for k, v in bounds.items()}
