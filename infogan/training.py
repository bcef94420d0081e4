"""Training: one step of the InfoGAN game, the loop around it, snapshots and resume.

One step samples latents, generates fakes, updates D (and Q, on detached fakes), then InfoGAN-CR's
pair classifier H (with the contrastive regulariser, from its start), then G, with the same fake
batch; the losses are :class:`infogan.objective.Objective`'s.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from infogan import checkpoint, viz
from infogan.config import TrainConfig, to_dict
from infogan.data import ImageDataset, make_batches, mutual_neighbours, neighbours_in
from infogan.distributed import World, barrier, gather_shares, mean_across
from infogan.errors import InfoGANError, InfoGANWarning
from infogan.evaluation import categorical_score, real_data_information
from infogan.hardware import PrecisionChoice, choose_precision, keep_freed_memory
from infogan.latent import LatentBatch, QReading
from infogan.model import InfoGAN
from infogan.networks import build_pair_classifier
from infogan.objective import ContrastivePairs, Objective, discriminator_pass
from infogan.reporting import Reporter
from infogan.run import RunDir, checkpoint_file, resumable_step
from infogan.seeding import Stream, step_seed

PAIR_CLASSIFIER_PREFIX = "cr."  # H's weights in the checkpoint, beside the model's "model."
# With g_average, the model's G is the average; the live G and the average's count sit beside it.
LIVE_GENERATOR_PREFIX = "train.generator."
AVERAGED_STEPS = "train.g_average.n_averaged"
NEIGHBOUR_TABLE = "train.neighbours"  # feature-space neighbours, searched once, kept for resume
SELECTION_IMAGES = 5000


class TrainingDiverged(InfoGANError):
    """Losses or weights became NaN or infinite."""


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped training at a step boundary, after a checkpoint was written."""

    def __init__(self, step: int, path: Path) -> None:
        super().__init__(f"interrupted: checkpoint saved at step {step} in {path.parent}")
        self.step, self.path = step, path


@dataclass
class RunningMeans:
    """Sums of step scalars kept on the device, read with a single sync at log time."""

    world: World = field(default_factory=World)
    sums: dict[str, Tensor] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # per name: CR's scalars start mid-run
    count: int = 0

    def add(self, scalars: dict[str, Tensor]) -> None:
        for name, value in scalars.items():
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1
        self.count += 1

    def pop(self) -> dict[str, float]:
        """Means since the last pop over all ranks; raises :class:`TrainingDiverged` on a non-finite one."""
        if not self.count:
            return {}
        names = list(self.sums)
        values = mean_across(torch.stack([self.sums[n] / self.counts[n] for n in names]), self.world).tolist()
        self.sums, self.counts, self.count = {}, {}, 0
        means = dict(zip(names, values, strict=True))
        bad = [n for n, v in means.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"non-finite {', '.join(bad)}")
        return means

    def all_finite(self) -> bool:
        """Whether every value added since the last pop was finite (a sum is finite iff all are)."""
        return not self.sums or bool(torch.isfinite(torch.stack(list(self.sums.values()))).all())


def _finite_everywhere(local: bool, world: World) -> bool:
    """True only if ``local`` holds on every rank, so that all ranks stop together."""
    return bool(mean_across(torch.tensor(float(local)), world) == 1.0)


class Trainer:
    """Owns the model, optimizers, batches and run directory of one training run.

    Args:
        data_mode: ``resident`` (the images as one uint8 tensor on ``device``), ``stream`` (read
            by a DataLoader with ``workers`` processes) or ``auto`` (resident when they fit the
            memory budget); the batches are the same in every mode.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        data: ImageDataset,
        *,
        device: torch.device,
        eval_data: ImageDataset | None = None,
        progress: bool = True,
        tensorboard: bool = True,
        world: World | None = None,
        data_mode: str = "auto",
        workers: int | None = None,
    ) -> None:
        self.config, self.run, self.device = config, RunDir(run_dir), device
        self.world = world or World()
        self.precision: PrecisionChoice = choose_precision(config.precision, device)
        if device.type == "cpu":
            keep_freed_memory()  # each step's large temporaries would otherwise be faulted in anew
        self.progress = progress and self.world.is_main
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.model = InfoGAN(config.model, device=device)
        self.nets, self.spec = self.model.nets, self.model.spec
        self._check_data(data)
        if config.channels_last:
            self.nets.to(memory_format=torch.channels_last)
        if config.compile:
            for module in (self.nets.generator, self.nets.body, self.nets.d_head, self.nets.q_head):
                module.compile()  # in place, so state_dict keys stay those of the eager modules
        self.eval_data = eval_data if self.world.is_main else None
        # Unlabelled training images for the label-free score logged beside the test scores.
        scores = self.world.is_main and config.eval_every > 0
        self._selection_images = data.subset(SELECTION_IMAGES, seed=config.seed).images if scores else None
        self._selected_score = -math.inf
        self._selected_step: int | None = None
        self.stopped_early = False
        # Every rank walks the same permutation and takes its own slice of a global batch.
        self.batches = make_batches(
            data,
            batch_size=config.batch_size,
            seed=config.seed,
            device=device,
            rank=self.world.rank,
            world_size=self.world.size,
            mode=data_mode,
            workers=workers,
            channels_last=config.channels_last,
        )
        self.sampler = self.batches.sampler
        self.latent_rng = torch.Generator(device=device)
        self._neighbour_source = data  # searched at the first step that draws a neighbour
        self._neighbour_table: Tensor | None = None
        self.g_average = self._generator_average()
        self.pair_classifier, self._h_pass = self._pair_classifier()
        d_pass, self._g_pass = self._parallel_passes()
        self.objective = Objective(config, self.nets, self.spec, d_pass=d_pass, pair_classifier=self.pair_classifier)
        self.opt_d, self.opt_g = self._optimizers()
        self.opt_h = self._pair_classifier_optimizer()
        self.step = 0
        self._checkpoint_step: int | None = None  # the step of the checkpoint on disk, once written or restored
        if self.world.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self._tensorboard = tensorboard
        self.reporter: Reporter | None = None  # opened by fit(), once a resume has set the step
        self.means = RunningMeans(self.world)
        self._fixed_latents = self._snapshot_latents()

    def _check_data(self, data: ImageDataset) -> None:
        if tuple(data.images.shape[1:]) != self.model.image_shape:
            raise InfoGANError(
                f"the data's images are {tuple(data.images.shape[1:])}, but the "
                f"{self.config.model.network.arch} networks need {self.model.image_shape}"
            )

    @property
    def neighbours(self) -> Tensor | None:
        """Each training image's ``iic_neighbours`` nearest (N, k), in (deskewed) pixel space or
        in D's features, on the device that holds the batches' indices; None when the option is off.
        Searched on first use, so a run resumed past the pair's last step never searches; under
        DDP every rank reaches that use at the same step, as the search's gather needs."""
        if self.config.iic_neighbours and self._neighbour_table is None:
            self._neighbour_table = self._search_neighbours()
        return self._neighbour_table

    def _search_neighbours(self) -> Tensor:
        k, data, space = self.config.iic_neighbours, self._neighbour_source, self.config.iic_neighbours_space
        started = time.perf_counter()
        rows = self.world.share(len(data))  # each rank searches for its share, then all hold the whole table
        images = data.resident().images.to(self.device)
        part = neighbours_in(space, images, k, network=self.nets.body, rows=rows)
        table = gather_shares(part, self.world, len(data))
        if self.config.iic_neighbours_mutual:
            table = mutual_neighbours(table)
        if self.progress:
            where = f"D's features at step {self.step}" if space == "features" else f"{space} pixel space"
            seconds = time.perf_counter() - started
            tqdm.write(f"found {k} neighbours of {len(data):,} images in {where} in {seconds:.0f} s")
        return table.to(self.sampler.device)  # where the batches' indices are

    def _optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        # Q always learns in D's step (on detached fakes), so the plain-GAN baseline can still
        # track L_I; its own learning rate keeps that choice independent of D's.
        cfg, nets = self.config, self.nets
        d_groups = [
            {"params": nets.discriminator_parameters(), "lr": cfg.lr_d},
            {"params": nets.q_parameters(), "lr": cfg.lr_q},
        ]
        return self._adam(d_groups), self._adam(nets.generator.parameters(), lr=cfg.lr_g)

    def _adam(self, params, **options) -> torch.optim.Adam:
        # The fused kernel makes one pass over each parameter where foreach makes about ten: with
        # 13 M parameters, bf16 training at batch 64 went from 1.6-1.9x to 2.3x the reference
        # loop on the 2-core CPU (benchmarks/bench.py; docs/speed.md).
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(
            params, betas=self.config.betas, fused=fused or None, foreach=None if fused else True, **options
        )

    def _generator_average(self) -> AveragedModel | None:
        """The moving average of G's weights (with ``g_average``); BN's running statistics are
        averaged too, since the saved G runs in eval mode on them."""
        if not self.config.g_average:
            return None
        return AveragedModel(self.nets.generator, multi_avg_fn=self._average_into, use_buffers=True)

    def _average_into(self, averages: list[Tensor], current: list[Tensor], updates: Tensor) -> None:
        """One step of the moving average. Its decay warms up as min(decay, (1 + n) / (10 + n)) after
        n updates (as TensorFlow's ExponentialMovingAverage with num_updates): at a fixed 0.999 the
        random initial weights would still hold e^-2.5 = 8% of a 2,500-step average, greying its
        samples."""
        n = float(updates)
        decay = min(self.config.g_average, (1 + n) / (10 + n))
        for average, now in zip(averages, current, strict=True):
            if average.is_floating_point():
                average.lerp_(now, 1 - decay)
            else:
                average.copy_(now)  # BN's count of batches

    @contextlib.contextmanager
    def _saved_generator(self) -> Iterator[None]:
        """G as every saved model has it, for the body of the block: the moving average, when on,
        swapped in for the live G."""
        if self.g_average is None:
            yield
            return
        generator = self.nets.generator
        live = {k: v.clone() for k, v in generator.state_dict().items()}
        generator.load_state_dict(self.g_average.module.state_dict())
        try:
            yield
        finally:
            generator.load_state_dict(live)

    def _saved_weights(self) -> dict[str, Tensor]:
        """The model's tensors as saved: with G's moving average in place of the live G, when on."""
        weights = self.model.weights()
        if self.g_average is None:
            return weights
        averaged = checkpoint.with_prefix("generator.", self.g_average.module.state_dict())
        return weights | checkpoint.with_prefix("model.", averaged)

    def _pair_classifier(self) -> tuple[nn.Module | None, nn.Module | None]:
        """InfoGAN-CR's H (with the contrastive regulariser only), and the module its step calls.

        H is not part of the model, which generates and encodes without it: it lives in the
        trainer and, under its own prefix, in the checkpoint.
        """
        if not self.config.cr_weight:
            return None, None
        network = build_pair_classifier(self.config.model.network, self.spec.continuous).to(self.device)
        if not self.world.active:
            return network, network
        ids = [self.device] if self.device.type == "cuda" else None
        return network, DistributedDataParallel(network, device_ids=ids)

    def _pair_classifier_optimizer(self) -> torch.optim.Optimizer | None:
        # InfoGAN-CR trains H at D's rate (2e-3 both, in their dSprites config).
        if self.pair_classifier is None:
            return None
        return self._adam(self.pair_classifier.parameters(), lr=self.config.lr_d)

    def _named_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimizers by their checkpoint name: d (D and Q), g, and h (H, with CR)."""
        named = {"d": self.opt_d, "g": self.opt_g}
        return named | ({"h": self.opt_h} if self.opt_h is not None else {})

    def _parallel_passes(self) -> tuple[nn.Module, nn.Module]:
        d_pass: nn.Module = discriminator_pass(self.config, self.nets)
        g_pass: nn.Module = self.nets.generator
        if not self.world.active:
            return d_pass, g_pass
        if self.device.type == "cuda":  # batch statistics over the global batch; gloo has no SyncBN
            nn.SyncBatchNorm.convert_sync_batchnorm(self.nets)
        ids = [self.device] if self.device.type == "cuda" else None
        return DistributedDataParallel(d_pass, device_ids=ids), DistributedDataParallel(g_pass, device_ids=ids)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision.precision == "bf16")

    # ----- one step ---------------------------------------------------------------------------
    def real_batch(self, step: int) -> Tensor:
        """This rank's slice of the global batch of training images for ``step``, as floats."""
        return self.batches.batch(step)

    def neighbour_batch(self, step: int) -> Tensor | None:
        """One of the k nearest neighbours of each image of ``step``'s batch, drawn as a pure
        function of (seed, step, rank); None without ``iic_neighbours`` or outside its steps."""
        first, last = self.config.iic_neighbours_from, self.config.iic_neighbours_steps
        if not self.config.iic_neighbours or step < first or (last and step >= last):
            return None
        indices = self.batches.indices(step)
        rng = torch.Generator(device=indices.device)
        rng.manual_seed(step_seed(self.config.seed, step, Stream.NEIGHBOURS, self.world.rank))
        choice = torch.randint(self.neighbours.shape[1], indices.shape, generator=rng, device=indices.device)
        return self.batches.images_at(self.neighbours[indices, choice])

    def latents(self, step: int, batch_size: int) -> LatentBatch:
        """Latent draws as a pure function of (seed, step, rank), so resume needs no RNG state."""
        self.latent_rng.manual_seed(step_seed(self.config.seed, step, Stream.LATENTS, self.world.rank))
        return self.spec.sample(batch_size, generator=self.latent_rng, prior=self.nets.category_prior)

    def train_step(self, real: Tensor) -> dict[str, Tensor]:
        """Sample latents, fake = G, one D/Q update, one H update (with CR, from its start), then one
        G update; returns detached scalars (no host sync)."""
        objective, now = self.objective, {"step": self.step, "generator": self.latent_rng}
        latents = self.latents(self.step, real.shape[0])
        fake, pairs = self._generate(latents)
        with self._autocast():
            d_losses = objective.discriminator_losses(
                real, fake.detach(), latents, neighbours=self.neighbour_batch(self.step), **now
            )
        self._update(self.opt_d, d_losses.total)
        self._update_prior(d_losses.real_reading)
        scalars = {"loss/D": d_losses.gan, "loss/info": d_losses.info, **d_losses.scalars}
        if pairs is not None:
            with self._autocast():
                h_loss, h_accuracy = objective.contrastive_loss(pairs.detached(), self._h_pass)
            self._update(self.opt_h, h_loss)
            scalars |= {"loss/cr": h_loss, "cr/accuracy": h_accuracy}
        with objective.only_generator_learns():
            with self._autocast():
                g_losses = objective.generator_losses(fake, latents, pairs, **now)
            self._update(self.opt_g, g_losses.total)
        if self.g_average is not None:
            self.g_average.update_parameters(self.nets.generator)
        return scalars | {"loss/G": g_losses.gan}

    def _generate(self, latents: LatentBatch) -> tuple[Tensor, ContrastivePairs | None]:
        """G's fakes (B, C, H, W) and, once the contrastive regulariser is on, InfoGAN-CR's pairs:
        one forward for both (one DDP pass, shared BN statistics)."""
        batch = latents.batch_size
        if not self.objective.contrastive_weight(self.step):
            with self._autocast():
                return self._g_pass(self.spec.generator_input(latents)), None
        first, second, shared = self.spec.contrastive_pairs(
            batch, generator=self.latent_rng, gap=self.config.cr_gap, share_noise=self.config.cr_share_noise
        )
        with self._autocast():
            images = self._g_pass(self.spec.generator_input(LatentBatch.concat([latents, first, second])))
        fake, left, right = images.split(batch)
        return fake, ContrastivePairs(torch.cat([left, right], dim=1), shared)  # (B, 2C, H, W)

    @staticmethod
    def _update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def _update_prior(self, real_reading: QReading | None) -> None:
        """Move a learned categorical prior towards Q's class frequencies on this real batch
        (averaged over ranks, so that every rank draws codes from the same prior)."""
        prior = self.nets.category_prior
        if prior is None or real_reading is None:
            return
        prior.copy_(mean_across(self.spec.updated_prior(prior, real_reading), self.world))

    # ----- the loop ---------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        """Train until ``config.steps``; returns the last logged scalars.

        The main rank holds the run directory's lock throughout, so that two processes never
        train one run; a second one gets a one-line error naming the first.
        """
        self.nets.train()
        with contextlib.ExitStack() as held:
            if self.world.is_main:
                held.enter_context(self.run.locked())
                self._claim_run_dir()
                self._write_config()
                reporter = self.run.reporter(tensorboard=self._tensorboard, resume_step=self.step)
                self.reporter = held.enter_context(reporter)
            return self._loop()

    def _loop(self) -> dict[str, float]:
        last: dict[str, float] = {}
        bar = tqdm(
            total=self.config.steps,
            initial=self.step,
            disable=not self.progress,
            desc="train",
            unit="step",
            dynamic_ncols=True,
        )
        self._started, start_step, self._eval_seconds = time.perf_counter(), self.step, 0.0
        batches = self.batches.from_step(self.step, self.config.steps)
        try:
            with self._stop_on_signals() as stop:
                while self.step < self.config.steps:
                    self.means.add(self.train_step(next(batches)))
                    self.step += 1
                    bar.update(1)
                    last = self._maybe_log(bar, start_step) or last
                    self._maybe_evaluate()
                    self._maybe_snapshot()
                    self._maybe_checkpoint()
                    if stop.is_set():
                        raise TrainingInterrupted(self.step, self.save_checkpoint())
                    if self._score_stopped_rising():
                        self.stopped_early = True
                        self.save_checkpoint()
                        break
        finally:
            bar.close()
        return last

    def _claim_run_dir(self) -> None:
        """Under the lock: clear the temporaries of killed writes, and make sure that the run on
        disk is the one this trainer continues (none on a fresh start, else the step it restored)."""
        self.run.remove_stale_temporaries()
        on_disk = self.run.checkpoint_step()
        if on_disk == self._checkpoint_step:
            return
        if self._checkpoint_step is None:
            raise InfoGANError(
                f"{self.run_dir} already holds a run (step {on_disk}): resume it or choose another directory"
            )
        raise InfoGANError(
            f"{self.run_dir} changed since step {self._checkpoint_step} was restored (its checkpoint is now at step "
            f"{on_disk}; another process?): resume it again"
        )

    @staticmethod
    @contextlib.contextmanager
    def _stop_on_signals() -> Iterator[threading.Event]:
        """Ctrl-C or SIGTERM (a scheduler's preemption) ask to stop after the current step, so
        the checkpoint never holds a half-applied update; a second Ctrl-C stops at once."""
        stop = threading.Event()
        if threading.current_thread() is not threading.main_thread():
            yield stop
            return

        def request_stop(signum: int, frame: object) -> None:
            if stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            stop.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield stop
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _due(self, every: int) -> bool:
        return every > 0 and (self.step % every == 0 or self.step == self.config.steps)

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started

    def _maybe_log(self, bar: tqdm, start_step: int) -> dict[str, float] | None:
        if not self._due(self.config.log_every):
            return None
        means = self._pop_means()  # a collective: every rank takes part
        if self.reporter is None:
            return means
        elapsed = self._elapsed()
        means["time/elapsed_s"] = elapsed
        global_batch = self.config.batch_size * self.world.size
        means["time/images_per_s"] = (self.step - start_step) * global_batch / max(elapsed, 1e-9)
        self.reporter.report(self.step, means)
        shown = {
            k.split("/")[-1] if k.startswith("loss") else k: f"{v:.3f}"
            for k, v in means.items()
            if k.startswith(("loss/D", "loss/G", "mi/c1"))
        }
        bar.set_postfix(shown, refresh=False)
        return means

    def _pop_means(self) -> dict[str, float]:
        try:
            return self.means.pop()
        except TrainingDiverged as err:
            raise TrainingDiverged(
                f"training diverged before step {self.step} ({err}); {self._what_is_kept()}"
            ) from None

    def _what_is_kept(self) -> str:
        """The end of a divergence message: which checkpoint survives, if any."""
        if self._checkpoint_step is None:
            return f"no checkpoint had been written yet (the first was due at step {self.config.checkpoint_every})"
        return f"the last good checkpoint, step {self._checkpoint_step}, is kept in {self.run_dir}"

    def _maybe_evaluate(self) -> None:
        if self._selection_images is None or not self._due(self.config.eval_every):
            return
        started, scores = time.perf_counter(), {}
        for code in self.spec.codes:
            if code.kind != "categorical":
                continue
            scores[f"eval/{code.name}_real_mi"] = real_data_information(self.model, self._selection_images, code.name)
            if self.eval_data is not None:
                score = categorical_score(self.model, self.eval_data, code.name)
                scores |= {f"eval/{code.name}_accuracy": score.accuracy, f"eval/{code.name}_nmi": score.nmi}
        self._keep_if_selected(scores)
        self.nets.train()
        self._eval_seconds += time.perf_counter() - started
        timing = {"time/elapsed_s": self._elapsed(), "time/eval_s": self._eval_seconds}
        self.reporter.report(self.step, scores | timing)

    def _score_stopped_rising(self) -> bool:
        """With ``patience``: whether the label-free score has not risen for that many evaluations."""
        if not self.config.patience or self._selected_step is None or not self._due(self.config.eval_every):
            return False
        return self.step - self._selected_step >= self.config.patience * self.config.eval_every

    def _keep_if_selected(self, scores: dict[str, float]) -> None:
        """Keep the weights where the first categorical code's label-free score is highest so far.

        Q's mutual information with unlabelled training images peaks near the best test accuracy
        within a run (docs/results.md, "Unsupervised model selection"), and choosing by it uses no labels.
        """
        name = next((code.name for code in self.spec.codes if code.kind == "categorical"), None)
        if name is None or scores[f"eval/{name}_real_mi"] <= self._selected_score:
            return
        self._selected_score, self._selected_step = scores[f"eval/{name}_real_mi"], self.step
        meta = self.model.metadata() | {"selected": {"step": self.step, "code": name, "real_mi": self._selected_score}}
        self.run.write_selected(self._saved_weights(), meta)

    def _maybe_snapshot(self) -> None:
        if self.world.is_main and self._due(self.config.sample_every):
            self.save_samples(self.run.sample_image(self.step))

    def _maybe_checkpoint(self) -> None:
        if self._due(self.config.checkpoint_every):
            self.save_checkpoint()

    def _snapshot_latents(self) -> LatentBatch:
        """A fixed sweep for progress images: rows are c1's classes, columns noise draws; without
        a categorical code, rows are the continuous codes, each swept over [-1, 1] from one draw."""
        rng = torch.Generator(device=self.device).manual_seed(12345)
        columns = 10
        base = self.spec.sample(columns, generator=rng)
        first = next((c for c in self.spec.codes if c.kind == "categorical"), None)
        if first is not None:
            rows = [self.spec.with_codes(base, {first.name: k}) for k in range(first.num_classes)]
            return LatentBatch.concat(rows)
        if not self.spec.continuous:
            return self.spec.sample(columns * columns, generator=rng)
        one = self.spec.sample(1, generator=rng)
        held = LatentBatch(*(t.expand(columns, -1).clone() for t in (one.noise, one.categories, one.continuous)))
        sweep = torch.linspace(-1, 1, columns, device=self.device)
        rows = []
        for code in self.spec.codes:
            row = self.spec.with_codes(held, {})
            row.continuous[:, code.index] = sweep  # with_codes returned fresh tensors
            rows.append(row)
        return LatentBatch.concat(rows)

    def save_samples(self, path: Path) -> Path:
        """Render the fixed sweep to ``path``."""
        with self._saved_generator():
            images = self.model.render(self._fixed_latents)
        return viz.save_png(viz.grid_image(images, columns=10), path)

    # ----- checkpoints and resume -------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        """The run directory's path (``self.run`` names its files)."""
        return self.run.path

    def _write_config(self) -> None:
        """The config as asked (``precision`` may be ``auto``), and what this run resolved it to."""
        resolved = {"precision": self.precision.precision, "precision_reason": self.precision.reason}
        self.run.write_config(self.config, resolved)

    def _all_parameters(self) -> list[nn.Parameter]:
        extra = list(self.pair_classifier.parameters()) if self.pair_classifier is not None else []
        return [*self.nets.parameters(), *extra]

    def save_checkpoint(self) -> Path:
        """Rank 0 writes weights, optimizer and RNG state atomically, once all ranks are finite."""
        weights_finite = all(torch.isfinite(p).all() for p in self._all_parameters())
        if not _finite_everywhere(weights_finite and self.means.all_finite(), self.world):
            raise TrainingDiverged(
                f"training diverged before step {self.step} (non-finite losses or weights); {self._what_is_kept()}"
            )
        tensors = self._saved_weights()
        if self.g_average is not None:
            tensors |= checkpoint.with_prefix(LIVE_GENERATOR_PREFIX, self.nets.generator.state_dict())
            tensors[AVERAGED_STEPS] = self.g_average.n_averaged.detach().clone()
        if self.pair_classifier is not None:
            tensors |= checkpoint.with_prefix(PAIR_CLASSIFIER_PREFIX, self.pair_classifier.state_dict())
        if self._neighbour_table is not None and self.config.iic_neighbours_space == "features":
            tensors[NEIGHBOUR_TABLE] = self._neighbour_table.cpu()
        meta = self.model.metadata() | {"train_config": to_dict(self.config), "step": self.step}
        for name, optimizer in self._named_optimizers().items():
            flat, rest = checkpoint.flatten_optimizer(optimizer.state_dict())
            tensors |= checkpoint.with_prefix(f"optim.{name}.", flat)
            meta[f"optim_{name}"] = rest
        tensors |= checkpoint.with_prefix("rng.", checkpoint.rng_state())
        path = self.run.checkpoint
        if self.world.is_main:
            self.run.write_checkpoint(tensors, meta)
        barrier(self.world)  # nobody runs ahead of a checkpoint that may yet fail to write
        self._checkpoint_step = self.step
        return path

    def restore(self, path: Path) -> None:
        """Continue from a checkpoint written by :meth:`save_checkpoint` of the same config."""
        with checkpoint.opened(checkpoint_file(path)) as stored:
            step = resumable_step(stored, self.config, path)
            tensors = stored.tensors()
        try:
            self._load_training_state(tensors, stored.meta, step, stored.path)
        except (LookupError, TypeError, ValueError, RuntimeError) as err:  # a header or tensors edited by hand
            detail = (str(err).strip().splitlines() or [""])[0]
            raise InfoGANError(
                f"{stored.path} holds a malformed training state ({type(err).__name__}: {detail})"
            ) from None
        self.step = self._checkpoint_step = step
        self._selected_score, self._selected_step = self.run.kept_selection()
        if self.model.annotated_at and self.world.is_main:
            warnings.warn(_annotations_warning(self.model.annotated_at), InfoGANWarning, stacklevel=2)

    def _load_training_state(self, tensors: dict[str, Tensor], meta: dict, step: int, source: Path) -> None:
        self.model.load_weights(checkpoint.strip_prefix("model.", tensors), source=source)
        self.model.load_annotations(meta)  # names and units go on into every checkpoint this run writes
        if self.g_average is not None:
            self._load_generator_average(tensors, source)
        if self.pair_classifier is not None:
            self.pair_classifier.load_state_dict(checkpoint.strip_prefix(PAIR_CLASSIFIER_PREFIX, tensors))
        self._load_neighbour_table(tensors, step, source)
        for name, optimizer in self._named_optimizers().items():
            if not isinstance(meta.get(f"optim_{name}"), dict):
                raise InfoGANError(f"{source} holds no state of optimizer {name}: it cannot be resumed")
            flat = checkpoint.strip_prefix(f"optim.{name}.", tensors)
            state = checkpoint.unflatten_optimizer(flat, meta[f"optim_{name}"])
            self._check_optimizer_state(name, optimizer, state, step, source)
            optimizer.load_state_dict(state)
        rng = checkpoint.strip_prefix("rng.", tensors)
        if "cpu" not in rng:
            raise InfoGANError(f"{source} holds no RNG state (rng.cpu): it cannot be resumed exactly")
        checkpoint.restore_rng_state(rng)

    def _load_neighbour_table(self, tensors: dict[str, Tensor], step: int, source: Path) -> None:
        """The feature-space table searched at ``iic_neighbours_from``, which no later D can give again."""
        cfg = self.config
        if cfg.iic_neighbours_space != "features" or step <= cfg.iic_neighbours_from:
            return
        table = tensors.get(NEIGHBOUR_TABLE)
        if table is None:
            if cfg.iic_neighbours_steps and step >= cfg.iic_neighbours_steps:
                return  # the pair is over; nothing will draw from it
            raise InfoGANError(f"{source} holds no neighbour table (searched at step {cfg.iic_neighbours_from})")
        expected = (len(self._neighbour_source), cfg.iic_neighbours)
        if (
            tuple(table.shape) != expected
            or table.dtype != torch.long
            or not bool(((table >= 0) & (table < expected[0])).all())
        ):
            raise InfoGANError(f"{source}: the neighbour table does not index this run's {expected[0]:,} images")
        self._neighbour_table = table.to(self.sampler.device)

    def _load_generator_average(self, tensors: dict[str, Tensor], source: Path) -> None:
        """The model's G in a checkpoint is the average: it goes back into the average, and the
        live G kept beside it back into training."""
        live = checkpoint.strip_prefix(LIVE_GENERATOR_PREFIX, tensors)
        if not live or AVERAGED_STEPS not in tensors:
            raise InfoGANError(f"{source} holds no live G beside the average of G's weights: it cannot be resumed")
        if not all(torch.isfinite(t).all() for t in live.values() if t.is_floating_point()):
            raise InfoGANError(f"{source}: the live G holds NaN or infinite values")
        self.g_average.module.load_state_dict(self.nets.generator.state_dict())
        self.g_average.n_averaged.copy_(tensors[AVERAGED_STEPS])
        self.nets.generator.load_state_dict(live)

    def _check_optimizer_state(
        self, name: str, optimizer: torch.optim.Optimizer, state: dict, step: int, source: Path
    ) -> None:
        """Adam's moments must cover every parameter once its optimizer has stepped, in the parameters'
        shapes: load_state_dict takes a stripped state for a fresh Adam, silently, and a misshapen one
        fails steps later."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        stepped = step > (self.config.cr_start if name == "h" else 0)  # H first steps at cr_start
        if stepped and set(state["state"]) != set(range(len(params))):
            raise InfoGANError(
                f"{source} lacks optimizer {name}'s state (Adam's moments) for some parameters: "
                "it cannot be resumed exactly"
            )
        for index, entry in state["state"].items():
            for key, value in entry.items():
                if isinstance(value, Tensor) and value.dim() and value.shape != params[index].shape:
                    raise InfoGANError(
                        f"{source}: optimizer {name}'s {key} for parameter {index} is {list(value.shape)}, "
                        f"the parameter is {list(params[index].shape)}"
                    )


def _annotations_warning(annotated_at: dict[str, int]) -> str:
    """One line: which of a resumed run's names and units were set at which step, and why that matters."""
    what = {"names": "class names", "calibration": "units"}
    if len(set(annotated_at.values())) == 1:
        kinds = " and ".join(what[kind] for kind in annotated_at)
        when = f"the {kinds} were set at step {next(iter(annotated_at.values()))}"
    else:
        when = "the " + " and the ".join(f"{what[kind]} were set at step {step}" for kind, step in annotated_at.items())
    return (
        f"{when} and may no longer fit once G trains further; they are kept in this run's new checkpoints: "
        "check them after training (infogan name, infogan calibrate)"
    )
