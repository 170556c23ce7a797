"""AdaGAN as a callback: T boosting stages inside one ``trainer.fit``, for any method of the library.

Tolstikhin, Gelly, Bousquet, Simon-Gabriel, Schoelkopf 2017, "AdaGAN: Boosting Generative Models"
(arXiv:1701.02386), Algorithm 1 [code: tolstikhin/adagan ``adagan.py``]; algorithms.md Sec. 6.

**Stage clock.**  A stage is ``epochs_per_stage`` epochs of the training dataloader (the reference
code also measures a component's training in epochs, ``gan_epoch_num``).  Stage ``t`` (0-based)
spans epochs ``[t E, (t + 1) E)``; Lightning's ``global_step`` keeps counting across stages and
everything the callback logs is logged at the ``global_step`` of the stage end.  Stage boundaries
are epoch ends *by construction*, and that is what makes the new data weights take effect at once:
the datamodule's :class:`~lightning_gans.datamodules.sampler.ReweightableSampler` draws the indices of an epoch
when the epoch starts (every DDP rank the same list, sharded by Lightning's
``DistributedSamplerWrapper``), so the first batch of stage ``t + 1`` is already drawn from the new
weights.  Size a stage with the data set (``n_train`` of the toy sets) and/or
``trainer.limit_train_batches``.  Set ``trainer.max_epochs`` to ``stages * epochs_per_stage`` (or
leave it unset: the callback stops the run after the last stage).

**At the end of every stage** (``on_train_epoch_end``, before ``ModelCheckpoint`` saves):

1. a frozen copy of ``pl_module.sampling_generator`` (the generator, or its moving average when
   ``ema_decay`` is set) joins :attr:`mixture` with weight ``beta_t`` (the old weights are scaled
   by ``1 - beta_t``; ``beta_1 = 1``);
2. the stage is logged (``adagan/*``: ``beta``, the data weights the component was trained on --
   ``ess``, ``ess_fraction``, ``zero_weight_fraction``, ``lambda_star`` -- and, on the 2-D toy sets,
   the mixture's mode statistics ``mixture_modes_captured``, ``mixture_high_quality_fraction``,
   ``mixture_kl_to_uniform``); with a :class:`~lightning_gans.callbacks.samples.SampleFigures` callback a picture
   of the mixture is saved as ``mixture_stage_XX.png`` next to its pictures;
3. unless it was the last stage: the next ``beta`` is chosen, a **fresh** classifier (the
   discriminator's architecture, freshly initialised) is trained on real data (uniform, not
   weighted) against samples of the **whole** mixture, its probabilities ``p`` become ratios
   ``h = (1 - p)/(p + 1e-8)`` and data weights (:mod:`lightning_gans.gan_modules.adagan_weights`), computed on
   rank 0 and broadcast so every rank samples from the same vector, and handed to
   ``trainer.datamodule.set_sample_weights``; then the method's networks are re-initialised
   (``pl_module.reset_networks()``, synchronised across ranks) and every optimizer's state is
   cleared (a fresh optimizer, same settings), and the module's critic-cycle counter restarts.
   ``pl_module.generator_steps`` keeps counting across stages (so WGAN's optional critic warm-up
   is not repeated for later components).  After the last stage the run stops.

**What samples what.**  ``pl_module.sample`` stays the component being trained (the
``SampleFigures`` / ``Evaluation`` callbacks keep showing the current GAN); :attr:`mixture` is the
boosted model, and ``load_generator`` on a checkpoint of the run returns it.

**Checkpoints.**  :meth:`state_dict` holds the stage index, the mixture (weights and component state
dicts), the current data weights, the next ``beta`` and the per-stage history; a run resumed from a
checkpoint taken mid-stage continues that stage (the epoch counter and the datamodule's sampler
are restored by Lightning, the mixture is rebuilt in ``on_fit_start``).

Deviations from the reference code: minibatches are drawn with replacement by the weights
(proportional sampling, see the sampler); the mixture draws fresh samples from its frozen
generators instead of stored ones; the classifier sees fresh mixture samples every step and its
default optimizer is Adam instead of the run's generic optimizer.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from pathlib import Path
from typing import Any, Literal, Optional

import lightning.pytorch as pl
import torch
from matplotlib import pyplot as plt
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lightning_gans.callbacks.samples import SampleFigures  # (selects matplotlib's Agg backend)
from lightning_gans.datamodules.contract import batch_key_of, examples_dataset, real_from_batch, required
from lightning_gans.gan_modules.adagan_weights import (
    TOPK_FRACTION,
    density_ratios,
    next_mixture_weight,
    theory_star_weights,
    topk_weights,
    uniform_weights,
    weight_summary,
)
from lightning_gans.gan_modules.losses import discriminator_loss
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics
from lightning_gans.gan_modules.mixture import ADAGAN_STATE_MARK, GeneratorMixture
from lightning_gans.gan_modules.optimizer import OptimizerSpec
from lightning_gans.gan_modules.rng import seeded

WEIGHT_RULES = ("theory_star", "topk", "uniform")
#: Adam's default settings (Kingma & Ba 2015, Algorithm 1) for the mixture classifier.
CLASSIFIER_OPTIMIZER = OptimizerSpec(name="adam", lr=1e-3, betas=(0.9, 0.999))
#: Classifier batch size of the reference code (64 reals and 64 fakes a step) [code: ``gan.py``].
CLASSIFIER_BATCH_SIZE = 64
#: Classifier epochs of the reference code [code: ``mixture_c_epoch_num = 5``].
CLASSIFIER_EPOCHS = 5.0
#: Mixture samples for the mode statistics, as VEEGAN/PacGAN (2,500; see ``lightning_gans.callbacks.evaluation``).
MIXTURE_EVAL_SAMPLES = 2_500


class AdaGAN(pl.Callback):
    """Boost any adversarial module into a mixture of ``stages`` generators (module docstring).

    Args:
        stages: number of components ``T`` (the reference scripts run 10 AdaGAN steps).
        epochs_per_stage: training epochs of each component (the stage clock, module docstring).
        beta: mixture weight of each new component: ``"uniform"`` (``1/t``, default of the scripts)
            or a constant in (0, 1) (the scripts' ``beta_constant`` default is 0.5).
        weights: data weights for the next component: ``"theory_star"`` (default of the scripts),
            ``"topk"``, or ``"uniform"`` (no reweighting and no classifier: bagging, the reference
            code's ``is_bagging``).
        topk_fraction: fraction of points kept by ``"topk"`` (0.5, the scripts' ``topk_constant``).
        classifier_steps: optimizer steps of the mixture classifier; default
            ``classifier_epochs * N / classifier_batch_size``.
        classifier_epochs: 5 passes over the ``N`` training points [code: ``mixture_c_epoch_num``],
            used when ``classifier_steps`` is not given.
        classifier_batch_size: reals and fakes per classifier step (64 [code]).
        classifier_optimizer: the classifier's optimizer (Adam 1e-3, betas (0.9, 0.999)).
        eval_samples: mixture samples for the mode statistics on 2-D toy data (2,500).
        prediction_batch_size: batch size when the classifier scores the ``N`` training points
            (speed only; 1024).
    """

    def __init__(
        self,
        stages: int = 10,
        epochs_per_stage: int = 1,
        beta: str | float = "uniform",
        weights: Literal["theory_star", "topk", "uniform"] = "theory_star",
        topk_fraction: float = TOPK_FRACTION,
        classifier_steps: Optional[int] = None,
        classifier_epochs: float = CLASSIFIER_EPOCHS,
        classifier_batch_size: int = CLASSIFIER_BATCH_SIZE,
        classifier_optimizer: OptimizerSpec = CLASSIFIER_OPTIMIZER,
        eval_samples: int = MIXTURE_EVAL_SAMPLES,
        prediction_batch_size: int = 1024,
    ) -> None:
        for name, value in (("stages", stages), ("epochs_per_stage", epochs_per_stage),
                            ("classifier_batch_size", classifier_batch_size), ("eval_samples", eval_samples),
                            ("prediction_batch_size", prediction_batch_size)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if weights not in WEIGHT_RULES:
            raise ValueError(f"weights must be one of {WEIGHT_RULES}, got {weights!r}")
        next_mixture_weight(1, beta)  # validates beta
        if not 0.0 < topk_fraction <= 1.0:
            raise ValueError(f"topk_fraction must lie in (0, 1], got {topk_fraction}")
        if classifier_steps is not None and classifier_steps < 1:
            raise ValueError(f"classifier_steps must be at least 1, got {classifier_steps}")
        if classifier_epochs <= 0:
            raise ValueError(f"classifier_epochs must be positive, got {classifier_epochs}")
        self.stages = stages
        self.epochs_per_stage = epochs_per_stage
        self.beta = beta
        self.weights = weights
        self.topk_fraction = topk_fraction
        self.classifier_steps = classifier_steps
        self.classifier_epochs = classifier_epochs
        self.classifier_batch_size = classifier_batch_size
        self.classifier_optimizer = classifier_optimizer
        self.eval_samples = eval_samples
        self.prediction_batch_size = prediction_batch_size
        # Training state (saved in checkpoints).
        self.stage = 0  # finished stages = components in the mixture
        self.next_beta = 1.0  # weight of the component being trained (Algorithm 1: beta_1 = 1)
        self.data_weights: Optional[Tensor] = None  # None = uniform
        self.weight_stats: dict[str, float] = {}  # summary of data_weights (set in on_fit_start for uniform)
        self.history: list[dict[str, float]] = []
        self.mixture: Optional[GeneratorMixture] = None
        self._pending_mixture: Optional[dict[str, Any]] = None

    # ------------------------------------------------------------------ lifecycle
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the run, build (or, on resume, rebuild) the mixture and re-apply the data weights."""
        needed = self.stages * self.epochs_per_stage
        if trainer.max_epochs not in (None, -1) and trainer.max_epochs < needed:
            raise ValueError(f"AdaGAN(stages={self.stages}, epochs_per_stage={self.epochs_per_stage}) needs "
                             f"trainer.max_epochs >= {needed}, got {trainer.max_epochs}")
        if not callable(getattr(pl_module, "reset_networks", None)) or not hasattr(pl_module, "generator"):
            raise TypeError("AdaGAN needs an AdversarialModule (a `generator` and `reset_networks()`), "
                            f"got {type(pl_module).__name__}")
        datamodule = trainer.datamodule
        if self.weights != "uniform":  # reweighting reads the training set and hands weights to the sampler
            required(datamodule, "train_dataset", f"AdaGAN(weights={self.weights!r})")
            required(datamodule, "set_sample_weights", f"AdaGAN(weights={self.weights!r})")
        if trainer.max_steps != -1:
            warnings.warn("AdaGAN counts stages in epochs; trainer.max_steps may end the run before the last stage",
                          UserWarning)
        template = pl_module.generator
        if self._pending_mixture is not None:
            self.mixture = GeneratorMixture.from_checkpoint(self._pending_mixture, template)
            self._pending_mixture = None
        elif self.mixture is None:
            self.mixture = GeneratorMixture(pl_module.latent_dim, pl_module.prior, pl_module.data_shape)
        self.mixture.to(pl_module.device)
        if self.data_weights is not None:
            datamodule.set_sample_weights(self.data_weights)
        if not self.weight_stats:
            self.weight_stats = self._uniform_stats(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stage >= self.stages:
            trainer.should_stop = True
            return
        if (trainer.current_epoch + 1) % self.epochs_per_stage != 0:
            return
        self.end_stage(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stage < self.stages:
            warnings.warn(f"training ended after {self.stage} of {self.stages} AdaGAN stages; the mixture holds the "
                          "finished stages only", UserWarning)

    # ------------------------------------------------------------------ one stage boundary
    def end_stage(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Freeze the component, log the stage and, unless it was the last, prepare the next one."""
        beta = self.next_beta
        self.mixture.add_component(pl_module.sampling_generator, beta)  # the EMA generator when ema_decay is set
        self.stage += 1
        record = {"stage": float(self.stage), "beta": beta, **self.weight_stats,
                  **self._mixture_metrics(trainer)}
        self.history.append(record)
        self._log(trainer, {f"adagan/{key}": value for key, value in record.items()})
        self._draw_mixture(trainer)
        if self.stage >= self.stages:
            trainer.should_stop = True
            return
        self.next_beta = next_mixture_weight(self.stage, self.beta)
        if self.weights != "uniform":  # bagging keeps the data uniform
            result = None
            if trainer.is_global_zero:
                examples = examples_dataset(trainer.datamodule.train_dataset, batch_key_of(pl_module))
                result = self.compute_data_weights(pl_module, examples)
            weights, info = trainer.strategy.broadcast(result, src=0)  # one vector for every rank
            self.data_weights = weights
            self.weight_stats = {**weight_summary(weights), **info}
            trainer.datamodule.set_sample_weights(weights)
        self._restart_networks(trainer, pl_module)

    def compute_data_weights(self, pl_module: pl.LightningModule, dataset: Dataset) -> tuple[Tensor, dict]:
        """Train a fresh classifier of ``dataset`` vs the mixture and turn its outputs into data weights."""
        pl_module.reset_networks()  # a freshly initialised network of the discriminator's architecture
        classifier = _copy_network(pl_module.discriminator)
        steps = self.classifier_steps or max(1, math.ceil(self.classifier_epochs * len(dataset)
                                                          / self.classifier_batch_size))
        train_classifier(classifier, self.mixture, dataset, steps, self.classifier_batch_size,
                         self.classifier_optimizer)
        prob_real = classifier_probabilities(classifier, dataset, self.prediction_batch_size)
        ratios = density_ratios(prob_real)
        info = {"classifier_real_accuracy": float((prob_real > 0.5).double().mean())}
        if self.weights == "topk":
            return topk_weights(ratios, self.topk_fraction), info
        weights, lam = theory_star_weights(ratios, self.next_beta)
        return weights, {**info, "lambda_star": math.nan if lam is None else lam}

    def _restart_networks(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Fresh networks (the same on every rank) and fresh optimizer state for the next component."""
        pl_module.reset_networks()
        if trainer.world_size > 1:
            state = {key: value.detach().cpu() for key, value in pl_module.state_dict().items()}
            pl_module.load_state_dict(trainer.strategy.broadcast(state, src=0))
        for optimizer in trainer.optimizers:
            optimizer.state.clear()
        if hasattr(pl_module, "discriminator_steps_since_generator_step"):
            pl_module.discriminator_steps_since_generator_step = 0

    # ------------------------------------------------------------------ metrics, pictures, logs
    @staticmethod
    def _uniform_stats(trainer: pl.Trainer) -> dict[str, float]:
        """The weight summary of uniform data (the first component, and every bagging component)."""
        dataset = getattr(trainer.datamodule, "train_dataset", None)
        if dataset is None:
            return {"ess_fraction": 1.0, "zero_weight_fraction": 0.0}
        return weight_summary(uniform_weights(len(dataset)))

    def _mixture_metrics(self, trainer: pl.Trainer) -> dict[str, float]:
        """Mode statistics of the mixture on the 2-D toy sets (datamodule with ``centres`` and ``std``)."""
        datamodule = trainer.datamodule
        centres, std = getattr(datamodule, "centres", None), getattr(datamodule, "std", None)
        if centres is None or std is None or not trainer.is_global_zero:
            return {}
        stats = mode_statistics(self._mixture_samples(self.eval_samples).float().cpu(), centres, std)
        return {"mixture_modes_captured": float(stats["modes_captured"]),
                "mixture_high_quality_fraction": stats["high_quality_fraction"],
                "mixture_kl_to_uniform": stats["kl_to_uniform"]}

    def _mixture_samples(self, n: int) -> Tensor:
        """``n`` mixture samples from a fixed seed, leaving the training RNG untouched."""
        with seeded(self.stage, self.mixture.device):
            return self.mixture.sample(n)

    def _draw_mixture(self, trainer: pl.Trainer) -> Optional[Path]:
        figures = next((c for c in trainer.callbacks if isinstance(c, SampleFigures)), None)
        if figures is None or figures.output_dir is None or not trainer.is_global_zero:
            return None
        toy = self.mixture.data_shape == (2,)
        samples = self._mixture_samples(figures.n_samples if toy else figures.n_images).detach().float().cpu()
        figure = figures._scatter(samples, trainer) if toy else SampleFigures._grid(samples)
        figure.suptitle(f"AdaGAN mixture of {self.stage} components, step {trainer.global_step}")
        figures.output_dir.mkdir(parents=True, exist_ok=True)
        path = figures.output_dir / f"mixture_stage_{self.stage:02d}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        return path

    @staticmethod
    def _log(trainer: pl.Trainer, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        mixture = self.mixture.to_checkpoint() if self.mixture is not None else self._pending_mixture
        return {ADAGAN_STATE_MARK: mixture, "stage": self.stage, "next_beta": self.next_beta,
                "data_weights": self.data_weights, "weight_stats": dict(self.weight_stats),
                "history": [dict(r) for r in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.stage = state_dict["stage"]
        self.next_beta = state_dict["next_beta"]
        self.data_weights = state_dict["data_weights"]
        self.weight_stats = dict(state_dict["weight_stats"])
        self.history = [dict(r) for r in state_dict["history"]]
        self._pending_mixture = state_dict[ADAGAN_STATE_MARK]
        self.mixture = None


# ---------------------------------------------------------------------- the mixture classifier
def _copy_network(network: nn.Module) -> nn.Module:
    """An independent trainable copy of ``network`` (same architecture and current weights)."""
    copied = copy.deepcopy(network).train()
    for parameter in copied.parameters():
        parameter.requires_grad_(True)
    return copied


def _real_batches(dataset: Dataset, batch_size: int, shuffle: bool):
    """Batches of the examples of ``dataset`` (labels dropped); one pass.

    A ``TensorDataset`` (the toy sets, digits) is sliced directly, which is much faster than a
    ``DataLoader`` collating single examples; any other dataset goes through a ``DataLoader``.
    """
    if isinstance(dataset, TensorDataset):
        examples = dataset.tensors[0]
        order = torch.randperm(len(examples)) if shuffle else torch.arange(len(examples))
        stop = len(examples) - len(examples) % batch_size if shuffle and len(examples) >= batch_size else len(examples)
        return (examples[order[i:i + batch_size]] for i in range(0, stop, batch_size))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                        drop_last=shuffle and len(dataset) >= batch_size)
    return (real_from_batch(batch) for batch in loader)


def train_classifier(classifier: nn.Module, mixture: GeneratorMixture, dataset: Dataset, steps: int,
                     batch_size: int, optimizer: OptimizerSpec) -> None:
    """``steps`` steps of sigmoid cross-entropy: real examples (uniform, label 1) vs mixture samples (label 0).

    As the reference code [``_train_mixture_discriminator_internal``]: real batches drawn uniformly
    (epochs of random permutations), not by the data weights; the fakes are fresh samples of the
    whole mixture.
    """
    device = mixture.device
    opt = optimizer.build(classifier.parameters())
    epochs = (_real_batches(dataset, batch_size, shuffle=True) for _ in itertools.count())
    classifier.train()
    with torch.enable_grad():
        for batch in itertools.islice(itertools.chain.from_iterable(epochs), steps):
            real = batch.to(device).float()
            fake = mixture.sample(real.shape[0])
            loss = discriminator_loss(classifier(real), classifier(fake))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    classifier.eval()


@torch.no_grad()
def classifier_probabilities(classifier: nn.Module, dataset: Dataset, batch_size: int) -> Tensor:
    """``sigmoid(C(x))`` for every example of ``dataset`` in order, float64 on the CPU."""
    device = next(classifier.parameters()).device
    classifier.eval()
    return torch.cat([torch.sigmoid(classifier(batch.to(device).float()).double()).cpu()
                      for batch in _real_batches(dataset, batch_size, shuffle=False)])
