"""Model and training configuration, presets, and their JSON form.

A :class:`ModelConfig` travels inside every checkpoint so a model can be rebuilt from the
file alone; a :class:`TrainConfig` is written to ``config.json`` in the run directory so a
resume can refuse a mismatch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from infogan.errors import InfoGANError
from infogan.latent import LatentSpec
from infogan.networks import NetworkConfig
from infogan.options import check_options, declared, internal, option

InfoReach = Literal["head", "body"]
Precision = Literal["auto", "fp32", "bf16"]
NeighbourSpace = Literal["pixels", "deskewed", "features"]
PRECISIONS: tuple[Precision, ...] = ("auto", "fp32", "bf16")
MAX_SEED = 2**32 - 1  # infogan.seeding.step_seed must stay below 2**64
# Errors shared by several options (one message for a family of settings)
_LEARNING_RATES = "learning rates must be positive"
_WEIGHTS = "instance-noise, consistency, iic, iic-warp and iic-rotation must be >= 0"
_CR_ERROR = "cr-weight and cr-start must be >= 0"
_EVAL_EVERY_ERROR = "eval-every must be >= 0 (0 turns evaluation off)"
_PATIENCE_ERROR = "patience must be >= 0, and needs evaluation (eval-every > 0)"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the networks: the latent layout and the architecture."""

    latent: LatentSpec = field(default_factory=LatentSpec)
    network: NetworkConfig = field(default_factory=NetworkConfig)


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Args:
        dataset: a named dataset (``mnist``, ``fashion-mnist``, ``svhn``, ``celeba``,
            ``dsprites``), or ``folder`` for the image folder at ``data_path``.
        info_reaches: which parameters the information loss trains besides G. ``head``: Q's
            head only, D's body is shaped by the GAN loss alone (the common PyTorch reading).
            ``body``: Q's head and the shared D body, as the official code, which subtracts
            the same MI term from D's loss and keeps Q in D's optimizer.
        plain_gan: λ = 0 for G, the paper's baseline: G and D see no information term, while
            Q still learns on detached fakes so that its L_I can be tracked.
        precision: ``bf16`` runs the networks under bfloat16 autocast (weights, optimizer state
            and the losses stay float32); ``auto`` (the default) resolves, when training starts,
            to bf16 where the hardware runs it natively and its accuracy is checked, else fp32
            (:func:`infogan.hardware.choose_precision`).
        channels_last: keep images and conv weights in NHWC layout.
        compile: ``torch.compile`` each network (pays off only on long runs).
        instance_noise: σ of Gaussian noise added to every image D sees (Sønderby et al., 2017),
            decaying linearly to 0 at the last step; 0 turns it off.
        label_smoothing: one-sided label smoothing (Salimans et al., 2016): D's target for real
            images is 1 - label_smoothing.
        consistency: weight of the categorical information loss on randomly warped fakes
            (:mod:`infogan.augment`), for Q and G: the categories must survive a small rotation,
            shift and zoom, so G cannot keep them in slant or position; 0 turns it off.
        iic: weight of IIC's objective on real images (Ji et al., 2019) in D's step: Q's reading
            of each categorical code on a real image and on a randomly warped copy should agree,
            with balanced classes (:func:`infogan.losses.paired_cluster_information`); Q then learns
            from real images, not only from G's; 0 turns it off.
        iic_warp: strength of the IIC term's warps, a multiple of the consistency term's largest
            rotation (15°), log-zoom (ln 1.1) and shift (10% of the half-width).
        iic_rotation: scales the IIC warps' rotation once more; 0 leaves shift and zoom only. A pair
            that must agree across a rotation teaches Q's shared body to ignore slant, which the
            continuous codes then struggle to carry.
        iic_erase: side of a square erased (set to background) at a random place of each warped
            copy of the IIC pair, as a share of the image's width (Cutout); 0 (default) erases
            nothing. A class that survives losing any small part cannot rest on one stroke.
        iic_balance: weight of the IIC term's class balance (the entropy of Q's average reading)
            against the two views' agreement; 1 is IIC's mutual information, more pushes harder
            towards classes of equal size.
        iic_neighbours: k > 0 adds a second IIC pair per real image (SCAN, Van Gansbeke et al.,
            2020): the image and a warped copy of one of its k nearest training images in pixel
            space (:func:`infogan.data.neighbours.pixel_neighbours`, searched once, at the first
            step that draws a neighbour; or in D's features, see ``iic_neighbours_space``), at
            the same weight. Images of one kind that differ in a
            stroke (a 7 with and without a crossbar) are each other's neighbours more often than a
            warp makes them alike. 0 (default) turns it off.
        iic_neighbours_steps: the neighbour pair stops at this step (the warped pair of IIC goes
            on); 0 (default) keeps it on to the end. The classes settle in the first few hundred
            steps, and the samples may not need the pair after that.
        iic_neighbours_space: where the neighbours are searched: ``pixels`` (default);
            ``deskewed``, pixels after :func:`infogan.data.neighbours.deskewed` removes each
            image's slant (made for handwriting: on MNIST 97.3% of the 10 nearest share the
            image's digit, against 94.9% in raw pixels, and none of it comes from Q; but three
            seeds of it split the 7s, which raw pixels' farther neighbours had kept whole on two
            of them); or
            ``features``, the normalised features of D's body (which Q shares) at step
            ``iic_neighbours_from``, in eval mode. IIC has by then taught the body to ignore what a
            warp changes, so the neighbours there are purer: at the end of a run that split the
            7s, 98.7% of an image's 10 nearest in D's features shared its digit against 94.9% in
            pixels. But they share Q's reading too (16% of a misread image's feature neighbours
            were read as its digit, 36% of its pixel neighbours), so the pair holds Q's classes
            as they are at that step, mistakes included. The table goes into every later
            checkpoint, as it cannot be searched again on resume.
        iic_neighbours_from: the step at which the neighbour pair starts (and, in feature space,
            the step whose D is searched); 0 (default): the first.
        iic_neighbours_mutual: keep only mutual neighbours: a neighbour that does not count the
            image among its own k nearest is replaced by the image itself
            (:func:`infogan.data.neighbours.mutual_neighbours`). Mutual neighbours share the
            image's kind more often, so the pair joins fewer images of two kinds (5s and 8s).
        iic_head_only: the IIC term trains Q's head only, never the body Q shares with D (which
            otherwise follows ``info_reaches``): D's features, and the continuous codes Q reads
            from them, keep what the IIC pair's warps teach Q to ignore.
        g_average: decay of an exponential moving average of G's weights (Yazıcı et al., 2019): the
            average, not the last iterate, draws the progress grids and is the G of every saved
            model, so ``generate``, ``evaluate`` and FID see it; training itself uses the live G
            (and checkpoints keep it, to resume). The decay warms up, min(g_average, (1 + n) /
            (10 + n)) after n steps, so that the random initial weights fade early. 0 (default)
            turns it off.
        patience: stop once the label-free score (Q's information about the first categorical code
            on unlabelled training images, ``eval/c1_real_mi``) has not risen for this many
            evaluations; 0 (default) trains every step. Needs ``eval_every`` > 0.
        cr_weight: weight of InfoGAN-CR's contrastive regulariser (Lin et al., 2020) in G's loss:
            a pair classifier H, with its own optimizer at ``lr_d``, learns from pairs of fakes
            which continuous code they share, and G helps it; 0 turns it off.
        cr_start: the step from which H trains and G sees ``cr_weight`` (before it: 0).
        cr_gap: each code the pair does not share differs by at least this much (uniform codes).
        cr_share_noise: the pair shares its noise too, as InfoGAN-CR's code draws it (the
            paper's text resamples everything but the shared code).
    """

    model: ModelConfig = internal(factory=ModelConfig)
    dataset: str = internal("mnist")  # a preset's, or folder with --data
    data_path: str | None = internal(None)
    steps: int = option(5000, "training steps (one D and one G update each)", low=1, resumable=True)
    batch_size: int = option(128, "images per step", low=1)
    seed: int = option(0, "seed for weights, latents and data order", low=0, high=MAX_SEED)
    lr_d: float = option(2e-4, "Adam learning rate of D", above=0, error=_LEARNING_RATES)
    lr_g: float = option(1e-3, "Adam learning rate of G", above=0, error=_LEARNING_RATES)
    lr_q: float = option(2e-4, "Adam learning rate of Q", above=0, error=_LEARNING_RATES)
    betas: tuple[float, float] = option(
        (0.5, 0.999), "Adam's β1 and β2", low=0, below=1, error="Adam betas must lie in [0, 1)", cli=False
    )
    info_reaches: InfoReach = option(
        "head",
        "what the information loss trains besides G: Q's head, or also D's shared body",
        choices=("head", "body"),
        error="info_reaches must be 'head' or 'body', not {value!r}",
    )
    plain_gan: bool = option(False, "λ = 0 baseline: no information term for G or D; Q still learns, for tracking")
    log_every: int = option(50, "steps between metric lines", low=1, resumable=True)
    sample_every: int = option(500, "steps between sample grids", low=1, resumable=True)
    checkpoint_every: int = option(500, "steps between checkpoints", low=1, resumable=True)
    eval_every: int = option(
        500, "steps between test-set scores (0: off)", low=0, error=_EVAL_EVERY_ERROR, resumable=True
    )
    precision: Precision = option(
        "auto",
        "bf16: bfloat16 autocast (fp32 weights); auto (default): bf16 where the hardware runs it "
        "natively and its accuracy is checked, else fp32 (infogan info shows the choice)",
        choices=PRECISIONS,
        resumable=True,
    )
    channels_last: bool = option(False, "NHWC memory layout", resumable=True)
    compile: bool = option(False, "torch.compile the networks", resumable=True)
    instance_noise: float = option(
        0.0, "σ of Gaussian noise on D's inputs, decaying to 0 by the last step (0: off)", low=0, error=_WEIGHTS
    )
    label_smoothing: float = option(0.0, "D's target for real images is 1 minus this", low=0, below=0.5)
    consistency: float = option(
        0.0, "weight of the categorical information loss on randomly warped fakes (0: off)", low=0, error=_WEIGHTS
    )
    iic: float = option(
        0.0, "weight of IIC's objective on real images and warped copies, for Q (0: off)", low=0, error=_WEIGHTS
    )
    iic_warp: float = option(1.0, "strength of the IIC term's warps (1: the consistency term's)", low=0, error=_WEIGHTS)
    iic_rotation: float = option(
        1.0, "scale of the IIC warps' rotation on top of --iic-warp (0: shift and zoom only)", low=0, error=_WEIGHTS
    )
    g_average: float = option(
        0.0, "decay of a moving average of G's weights that every saved model uses (0: off; e.g. 0.999)", low=0, below=1
    )
    iic_erase: float = option(
        0.0,
        "side of a square erased at random from each IIC copy, a share of the image width (0: off)",
        low=0,
        below=1,
    )
    iic_balance: float = option(
        1.0, "weight of the IIC term's class balance against agreement (1: IIC's mutual information)", above=0
    )
    iic_neighbours: int = option(
        0, "a second IIC pair: each real image and one of its k nearest training images (0: off)", low=0
    )
    iic_neighbours_steps: int = option(0, "the step at which the neighbour pair stops (0: never)", low=0)
    iic_neighbours_space: NeighbourSpace = option(
        "pixels",
        "where neighbours are searched: pixels, deskewed pixels, or D's body features at step iic-neighbours-from",
        choices=("pixels", "deskewed", "features"),
    )
    iic_neighbours_from: int = option(0, "the step at which the neighbour pair starts", low=0)
    iic_neighbours_mutual: bool = option(
        False, "pair an image only with neighbours that count it among their own k nearest"
    )
    iic_head_only: bool = option(False, "the IIC term trains Q's head only, not the body it shares with D")
    patience: int = option(
        0,
        "stop after this many evaluations without a new best label-free score (0: off)",
        low=0,
        error=_PATIENCE_ERROR,
        resumable=True,
    )
    cr_weight: float = option(
        0.0, "weight of InfoGAN-CR's contrastive regulariser in G's loss (0: off)", low=0, error=_CR_ERROR
    )
    cr_start: int = option(0, "step from which the contrastive regulariser is on", low=0, error=_CR_ERROR)
    # cr_gap's bounds hold only with the regulariser on, so _validate_cr checks them
    cr_gap: float = option(0.0, "least difference of the codes a CR pair does not share (0)")
    cr_share_noise: bool = option(
        False, "a CR pair shares its noise as well as one code (as InfoGAN-CR's code draws it)"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        _check_finite(self)
        check_options(self)
        if self.patience and not self.eval_every:
            raise InfoGANError(_PATIENCE_ERROR)
        if (self.dataset == "folder") != (self.data_path is not None):
            raise InfoGANError("an image folder run needs dataset 'folder' and a data_path, and only it")
        self._validate_neighbours()
        self._validate_cr()

    def _validate_neighbours(self) -> None:
        if self.iic_neighbours and not self.iic:
            raise InfoGANError("iic-neighbours adds a pair to the IIC term: it needs iic > 0")
        if self.iic_neighbours_steps and not self.iic_neighbours:
            raise InfoGANError("iic-neighbours-steps schedules the neighbour pair: it needs iic-neighbours > 0")
        if self.iic_neighbours_mutual and not self.iic_neighbours:
            raise InfoGANError("iic-neighbours-mutual filters the neighbour pair: it needs iic-neighbours > 0")
        if (self.iic_neighbours_from or self.iic_neighbours_space != "pixels") and not self.iic_neighbours:
            raise InfoGANError("iic-neighbours-from and -space shape the neighbour pair: they need iic-neighbours > 0")
        if self.iic_neighbours_space == "features" and not self.iic_neighbours_from:
            raise InfoGANError(
                "iic-neighbours-space features searches D's features at step iic-neighbours-from: "
                "it needs iic-neighbours-from > 0 (an untrained D's features are noise)"
            )
        if self.iic_neighbours_steps and self.iic_neighbours_steps <= self.iic_neighbours_from:
            raise InfoGANError(
                f"the neighbour pair stops (iic-neighbours-steps {self.iic_neighbours_steps}) before it starts "
                f"(iic-neighbours-from {self.iic_neighbours_from})"
            )

    def _validate_cr(self) -> None:
        if not self.cr_weight:
            return
        latent = self.model.latent
        if latent.continuous < 2:
            raise InfoGANError("the contrastive regulariser (cr-weight > 0) needs at least 2 continuous codes")
        if self.cr_start >= self.steps:
            raise InfoGANError(f"cr-start {self.cr_start} is not before the last step ({self.steps}): lower it")
        if not 0 <= self.cr_gap < 2 or (self.cr_gap and latent.continuous_dist != "uniform"):
            raise InfoGANError("cr-gap must lie in [0, 2) and needs uniform continuous codes")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied; ``latent``/``network`` keys reach into the model."""
        latent = changes.pop("latent", {})
        network = changes.pop("network", {})
        model = ModelConfig(
            dataclasses.replace(self.model.latent, **latent),
            dataclasses.replace(self.model.network, **network),
        )
        return dataclasses.replace(self, model=model, **changes)


def _check_finite(config: Any) -> None:
    """Every float field (and float tuple, such as betas) must be finite: NaN slips through every
    comparison, so ``lr_d < 0`` alone lets ``nan`` train."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise InfoGANError(f"{f.name.replace('_', '-')} must be a finite number, not {value}")


# What a resume may change (training.ensure_compatible): settings of length, cadence and speed.
RESUMABLE_KEYS = frozenset(name for name, declaration in declared(TrainConfig).items() if declaration.resumable)


def _paper(arch: str, **latent: Any) -> ModelConfig:
    """The paper's networks for ``arch`` with the given code layout."""
    return ModelConfig(LatentSpec(**latent), NetworkConfig(arch))


# Every preset in one place: networks, codes, λs, learning rates, batch size and schedule. The
# appendix (Chen et al., 2016, Appendix C) gives the networks, codes, λ (1 unless noted) and
# learning rates (2e-4 for D, 1e-3 for G unless noted); it gives no batch size or length beyond
# MNIST's, so those are ours (the official code's 128; about 16-35 epochs).
_LONG = {"steps": 20_000, "sample_every": 1000, "checkpoint_every": 1000, "eval_every": 1000}
# The settings that undo every addition of the MNIST default (and of --iic) to the paper's objective.
PAPER_OBJECTIVE: dict[str, Any] = {"consistency": 0.0, "info_reaches": "head", "iic": 0.0}
PRESETS: dict[str, TrainConfig] = {
    # C.1: 62 uniform noise dims, one 10-way code, two continuous codes (λ_cont 0.1, the official code's);
    # plus the label-free remedies chosen by the seed sweeps (docs/results.md): the categorical code
    # must survive small warps of the fakes, and the information loss reaches D's body. IIC on real
    # images (`--iic 4 --iic-warp 1.5`) is not in it: at 1,500 steps 2 of 5 seeds reached 98.5% but 3
    # kept a merge (88-90%). `--paper-objective` is the paper's objective alone.
    "mnist": TrainConfig(consistency=3.0, info_reaches="body"),
    # The default (DEFAULT_PRESET): "mnist" plus IIC on real images (balance 2, a square of each
    # warped copy erased) and an average of G's weights, the best variant of the five-seed sweeps
    # (docs/results.md). Higher accuracy than "mnist" in fewer steps; the 4,000 steps are what the
    # average of G needs for samples as good as "mnist"'s at 5,000 (FID about 5 at 2,500).
    "mnist-iic": TrainConfig(
        consistency=3.0,
        info_reaches="body",
        iic=4.0,
        iic_warp=1.5,
        iic_balance=2.0,
        iic_erase=0.25,
        g_average=0.999,
        steps=4000,
    ),
    # The MNIST networks and codes on Fashion-MNIST (not in the paper).
    "fashion-mnist": TrainConfig(dataset="fashion-mnist"),
    # C.2, Table 2: 124 noise dims, four 10-way codes, four continuous codes (124 + 40 + 4 = 168).
    # Section 7.2's text says two continuous codes; the appendix's count, consistent with its
    # input size of 168, is the one used here.
    "svhn": TrainConfig(
        _paper("svhn", noise_dim=124, categorical=(10,) * 4, continuous=4, lambda_cont=1.0),
        dataset="svhn",
        **_LONG,
    ),
    # C.3, Table 3: 128 noise dims, ten 10-way codes (128 + 100 = 228), 32×32 RGB.
    "celeba": TrainConfig(
        _paper("celeba", noise_dim=128, categorical=(10,) * 10, continuous=0, lambda_cont=1.0),
        dataset="celeba",
        **_LONG,
    ),
    # CelebA's codes at 64×64 on the DCGAN family (the paper gives no 64×64 networks).
    "celeba64": TrainConfig(
        ModelConfig(
            LatentSpec(noise_dim=128, categorical=(10,) * 10, continuous=0, lambda_cont=1.0),
            NetworkConfig("dcgan", image_size=64, channels=3),
        ),
        dataset="celeba",
        **_LONG,
    ),
    # C.4, Tables 4 and 5: 128 noise dims and five continuous codes (133) on 32×32 grayscale
    # renders, Q a second output layer on D; Table 5's azimuth row: lr 2e-4 D / 5e-4 G, λ 0.2.
    "faces": TrainConfig(
        _paper("faces", noise_dim=128, categorical=(), continuous=5, lambda_cont=0.2),
        dataset="faces",
        lr_g=5e-4,
        **_LONG,
    ),
    # The faces codes and rates at 64×64 grayscale on the DCGAN family.
    "faces64": TrainConfig(
        ModelConfig(
            LatentSpec(noise_dim=128, categorical=(), continuous=5, lambda_cont=0.2),
            NetworkConfig("dcgan", image_size=64, channels=1),
        ),
        dataset="faces",
        lr_g=5e-4,
        **_LONG,
    ),
    # C.5, Tables 6 and 7: 128 noise dims, three 20-way codes and one continuous code (189) on
    # 64×64 grayscale renders (Section 7.2's text says four 20-way codes; the appendix's count,
    # consistent with 189, is used); Table 7's rotation row: λ_cont 10, λ_cat 1.
    "chairs": TrainConfig(
        _paper("chairs", noise_dim=128, categorical=(20,) * 3, continuous=1, lambda_cont=10.0),
        dataset="chairs",
        **_LONG,
    ),
}
# InfoGAN-CR's dSprites setup (Lin et al., 2020, and their code's InfoGAN-CR_dSprites/config.py,
# from which every number here comes): 5 uniform[-1, 1] codes and 5 uniform noise dims, Q with
# σ = 1 and weight 0.05 in both G's and D's loss (so the information loss reaches D's body),
# Adam β1 0.5 at lr 1e-3 for G and 2e-3 for D, Q and H, batch 64, 28 epochs of the 737,280
# images (322,560 steps), spectral norm in D. The contrastive regulariser is off here;
# `--cr-weight 2` turns it on at step 288,000 (about 89% of the run) as their config does.
_DSPRITES_STEPS = 28 * (737_280 // 64)
PRESETS["dsprites"] = TrainConfig(
    ModelConfig(
        LatentSpec(noise_dim=5, categorical=(), continuous=5, lambda_cont=0.05),
        NetworkConfig("dsprites", spectral_norm=True),
    ),
    dataset="dsprites",
    steps=_DSPRITES_STEPS,
    batch_size=64,
    lr_d=2e-3,
    lr_g=1e-3,
    lr_q=2e-3,
    info_reaches="body",
    sample_every=5000,
    checkpoint_every=5000,
    eval_every=0,  # no categorical code to score; `infogan evaluate --metrics disentanglement`
    cr_start=288_000,
)
# What `infogan train` and `make mnist` use when no preset is named.
DEFAULT_PRESET = "mnist-iic"
# What `infogan presets` and `infogan train --help` say about each.
PRESET_NOTES = {
    "mnist": "the paper's MNIST setup (Appendix C.1) with the consistency term (3) and info into D's body",
    "mnist-iic": "the default: mnist plus IIC on real images (balance 2, erasing) and an average of G, 4,000 steps",
    "fashion-mnist": "the MNIST networks and codes on Fashion-MNIST",
    "svhn": "Appendix C.2; 4 continuous codes as the appendix has it (the text of Section 7.2 says 2)",
    "celeba": "Appendix C.3, 32×32 RGB",
    "celeba64": "CelebA's codes at 64×64 RGB on the DCGAN family",
    "faces": "Appendix C.4, 32×32 grayscale 3D face renders, given as an image folder (--data)",
    "faces64": "the faces setup at 64×64 grayscale on the DCGAN family, image folder (--data)",
    "chairs": "Appendix C.5, 64×64 grayscale 3D Chairs renders, given as an image folder (--data)",
    "dsprites": "InfoGAN-CR's dSprites setup (Lin et al., 2020), rendered procedurally; --cr-weight 2 adds CR",
}


def preset(name: str) -> TrainConfig:
    """The named preset's configuration."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InfoGANError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


# ----- JSON ----------------------------------------------------------------------------------
def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass, without derived fields."""
    out = {}
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        out[f.name] = to_dict(value) if dataclasses.is_dataclass(value) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _build(cls: type, data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise InfoGANError(f"malformed configuration: expected an object for {cls.__name__}")
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(known)
    if unknown:
        raise InfoGANError(f"unknown configuration keys for {cls.__name__}: {', '.join(sorted(unknown))}")
    nested = {"model": ModelConfig, "latent": LatentSpec, "network": NetworkConfig}
    kwargs = {k: _build(nested[k], v) if k in nested else v for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:  # e.g. "steps": "abc" or "betas": "ab"
        raise InfoGANError(f"malformed configuration for {cls.__name__}: {err}") from None


def model_config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Inverse of :func:`to_dict` for a :class:`ModelConfig`."""
    return _build(ModelConfig, data)


def train_config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Inverse of :func:`to_dict` for a :class:`TrainConfig`."""
    return _build(TrainConfig, data)


def to_json(config: Any) -> str:
    """Stable, human-readable JSON for a config dataclass."""
    return json.dumps(to_dict(config), indent=2, sort_keys=True)
