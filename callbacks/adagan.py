"""AdaGAN as a callback: T boosting stages inside one ``trainer.fit``, for any method of the library.

Tolstikhin, Gelly, Bousquet, Simon-Gabriel, Schoelkopf 2017, "AdaGAN: Boosting Generative Models"
(arXiv:1701.02386), Algorithm 1 [code: tolstikhin/adagan ``adagan.py``].  The boosting itself lives
in :mod:`lightning_gans.gan_modules.adagan` (the mixture, the data-vs-mixture classifier, the data
weights); this callback runs the stages.

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
3. unless it was the last stage: the next ``beta`` is chosen; a
   :class:`~lightning_gans.gan_modules.adagan.classifier.MixtureClassifier` of the discriminator's
   architecture, freshly initialised (``pl_module.fresh_networks()``), is trained on real data
   (uniform, not weighted) against samples of the **whole** mixture, and its probabilities become
   data weights (:func:`~lightning_gans.gan_modules.adagan.weights.classifier_data_weights`), computed on
   rank 0 and broadcast so every rank samples from the same vector, and handed to
   ``trainer.datamodule.set_sample_weights``; then the module starts the next component
   (``pl_module.start_new_component()``: fresh networks, the same on every rank, fresh optimizer
   state, the discriminator cycle restarted).  After the last stage the run stops.

**What samples what.**  During fit ``pl_module.sample`` stays the component being trained (the
``SampleFigures`` / ``Evaluation`` callbacks keep showing the current GAN); :attr:`mixture` is the
boosted model: ``validate``, ``test`` and ``predict`` score and sample it (this callback hands it to the
module, ``use_mixture``; without the callback the module takes it from the checkpoint), and
``load_generator`` on a checkpoint of the run returns it.

**Checkpoints.**  :meth:`state_dict` holds the stage index, the mixture (in its own checkpoint form,
:meth:`~lightning_gans.gan_modules.adagan.mixture.GeneratorMixture.to_checkpoint`), the current data
weights, the next ``beta`` and the per-stage history; a run resumed from a checkpoint taken
mid-stage continues that stage (the epoch counter and the datamodule's sampler are restored by
Lightning, the mixture is rebuilt in ``on_fit_start``).

Deviation from the reference code: minibatches are drawn with replacement by the weights
(proportional sampling, see the sampler).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, Optional

import lightning.pytorch as pl
import torch
from torch import Tensor

from lightning_gans.callbacks.samples import SampleFigures
from lightning_gans.datamodules.contract import batch_key_of, examples_dataset, required
from lightning_gans.gan_modules.adagan.classifier import (
    CLASSIFIER_BATCH_SIZE,
    CLASSIFIER_EPOCHS,
    CLASSIFIER_OPTIMIZER,
    PREDICTION_BATCH_SIZE,
    MixtureClassifier,
)
from lightning_gans.gan_modules.adagan.mixture import CHECKPOINT_KEY, GeneratorMixture
from lightning_gans.gan_modules.adagan.weights import (
    TOPK_FRACTION,
    WEIGHT_RULES,
    classifier_data_weights,
    next_mixture_weight,
    uniform_weights,
    weight_summary,
)
from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec
from lightning_gans.gan_modules.training.rng import seeded

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
        classifier_steps, classifier_epochs, classifier_batch_size, classifier_optimizer,
            prediction_batch_size: the data-vs-mixture classifier's ``steps``, ``epochs``,
            ``batch_size``, ``optimizer`` and ``prediction_batch_size``
            (:class:`~lightning_gans.gan_modules.adagan.classifier.MixtureClassifier`; defaults of the
            reference code: 5 epochs over the data, 64 reals and 64 fakes a step).
        eval_samples: mixture samples for the mode statistics on 2-D toy data (2,500).
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
        prediction_batch_size: int = PREDICTION_BATCH_SIZE,
    ) -> None:
        for name, value in (("stages", stages), ("epochs_per_stage", epochs_per_stage),
                            ("eval_samples", eval_samples)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if weights not in WEIGHT_RULES:
            raise ValueError(f"weights must be one of {WEIGHT_RULES}, got {weights!r}")
        next_mixture_weight(1, beta)  # validates beta
        if not 0.0 < topk_fraction <= 1.0:
            raise ValueError(f"topk_fraction must lie in (0, 1], got {topk_fraction}")
        self.stages = stages
        self.epochs_per_stage = epochs_per_stage
        self.beta = beta
        self.weights = weights
        self.topk_fraction = topk_fraction
        self.classifier = MixtureClassifier(classifier_steps, classifier_epochs, classifier_batch_size,
                                            classifier_optimizer, prediction_batch_size)
        self.eval_samples = eval_samples
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
        if not isinstance(pl_module, AdversarialModule):
            raise TypeError("AdaGAN needs an AdversarialModule (it starts each component with start_new_component()), "
                            f"got {type(pl_module).__name__}")
        if pl_module.packing != 1 and self.weights != "uniform":
            raise ValueError(f"AdaGAN(weights={self.weights!r}) with packing={pl_module.packing}: its data-vs-mixture "
                             "classifier, a fresh copy of the discriminator, scores single examples; train the "
                             "components without packing or use weights='uniform' (bagging)")
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

    def _hand_over_the_mixture(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Outside fit, ``validate``/``test``/``predict`` score and sample this callback's mixture (where it has
        a component), not the component being trained (the module's ``use_mixture``)."""
        if trainer.state.fn != "fit" and self.mixture is not None and len(self.mixture) > 0:
            pl_module.use_mixture(self.mixture)

    on_validation_start = on_test_start = on_predict_start = _hand_over_the_mixture

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stage >= self.stages:
            trainer.should_stop = True
            return
        if (trainer.current_epoch + 1) % self.epochs_per_stage != 0:
            return
        if not trainer.is_last_batch:
            # the epoch was cut short (Ctrl-C / SIGTERM through SaveOnInterrupt, max_steps): the stage is not
            # over, and the run resumed from its checkpoint ends it where the uninterrupted run does
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
            self._reweight_data(trainer, pl_module)
        pl_module.start_new_component()

    def _reweight_data(self, trainer: pl.Trainer, pl_module: AdversarialModule) -> None:
        """Data weights for the next component from a fresh classifier of data vs the mixture (rank 0's, broadcast)."""
        result = None
        if trainer.is_global_zero:
            dataset = examples_dataset(trainer.datamodule.train_dataset, batch_key_of(pl_module))
            network = pl_module.fresh_networks()["discriminator"]
            prob_real = self.classifier.probability_real(network, self.mixture, dataset)
            result = classifier_data_weights(prob_real, self.weights, self.next_beta, self.topk_fraction)
        weights, info = trainer.strategy.broadcast(result, src=0)  # one vector for every rank
        self.data_weights = weights
        self.weight_stats = {**weight_summary(weights), **info}
        trainer.datamodule.set_sample_weights(weights)

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
        with seeded(self.stage, self.mixture.device):  # a fixed seed, leaving the training RNG untouched
            samples = self.mixture.sample(self.eval_samples)
        stats = mode_statistics(samples.float().cpu(), centres, std)
        return {"mixture_modes_captured": float(stats["modes_captured"]),
                "mixture_high_quality_fraction": stats["high_quality_fraction"],
                "mixture_kl_to_uniform": stats["kl_to_uniform"]}

    def _draw_mixture(self, trainer: pl.Trainer) -> None:
        """``mixture_stage_XX.png`` next to the pictures of a ``SampleFigures`` callback, when there is one."""
        figures = next((c for c in trainer.callbacks if isinstance(c, SampleFigures)), None)
        if figures is not None:
            figures.draw_samples(trainer, self.mixture, f"AdaGAN mixture of {self.stage} components, step "
                                 f"{trainer.global_step}", f"mixture_stage_{self.stage:02d}", seed=self.stage)

    @staticmethod
    def _log(trainer: pl.Trainer, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        mixture = self.mixture.to_checkpoint() if self.mixture is not None else self._pending_mixture
        return {CHECKPOINT_KEY: mixture, "stage": self.stage, "next_beta": self.next_beta,
                "data_weights": self.data_weights, "weight_stats": dict(self.weight_stats),
                "history": [dict(r) for r in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.stage = state_dict["stage"]
        self.next_beta = state_dict["next_beta"]
        self.data_weights = state_dict["data_weights"]
        self.weight_stats = dict(state_dict["weight_stats"])
        self.history = [dict(r) for r in state_dict["history"]]
        self._pending_mixture = state_dict[CHECKPOINT_KEY]
        self.mixture = None
