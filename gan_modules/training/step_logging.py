"""Per-step training values recorded only on the batches whose step metrics Lightning keeps, and the
optimizer-step axis the loggers share.

Lightning writes step metrics every ``trainer.log_every_n_steps`` batches and keeps the other
batches' values only for the progress bar and ``trainer.callback_metrics``; yet every ``self.log``
costs 0.2-0.4 ms on CPU (Lightning moves its metric state at each call), 10-20% of a 2-D GAN's step
(``benchmarks/speed.py``).  So the training steps log through :meth:`StepLogging.log_step`, which
records a value on the batches Lightning logs, on the last batch of every epoch and on the batches that
may end the run (``max_steps``, ``should_stop``): the loggers receive exactly what they would
otherwise, and ``callback_metrics`` hold the last batch's values after an epoch or a run; the progress
bar and ``callback_metrics`` refresh at the logging cadence in between.  ``self.log`` itself, epoch-level
values and logging from other hooks and callbacks are Lightning's, unchanged.
"""

from __future__ import annotations

from typing import Any, Mapping

import lightning.pytorch as pl


def lightning_writes_step_metrics(trainer: pl.Trainer) -> bool:
    """Whether Lightning writes this training batch's step metrics to the loggers.

    Lightning 2.6 has no public form of this: its own ``LearningRateMonitor``, ``DeviceStatsMonitor``
    and ``ThroughputMonitor`` read the same private property.  This is the library's one read of it;
    ``tests/test_step_logging.py`` fails when Lightning changes it.
    """
    return bool(trainer._logger_connector.should_update_logs)


def step_values_are_kept(trainer: pl.Trainer) -> bool:
    """Whether Lightning keeps this training batch's step values beyond the progress bar (module docstring)."""
    if trainer.is_last_batch or trainer.should_stop:
        return True
    if trainer.max_steps != -1 and trainer.global_step + len(trainer.optimizers) >= trainer.max_steps:
        return True  # each optimizer steps at most once a batch, so this batch may end the run
    return lightning_writes_step_metrics(trainer)


class StepLogging:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that logs per-step
    training values (:meth:`log_step`) and puts the loggers on the optimizer-step axis (:func:`log_step_axis`)."""

    def log_step(self, name: str, value: Any, prog_bar: bool = False) -> None:
        """``self.log(name, value, prog_bar=prog_bar)`` of a training step's value, on the batches whose
        step values Lightning keeps (module docstring); outside a fit, as ``self.log``."""
        self.log_step_dict({name: value}, prog_bar=prog_bar)

    def log_step_dict(self, values: Mapping[str, Any], prog_bar: bool = False) -> None:
        """:meth:`log_step` of several values (one ``self.log_dict``)."""
        if self._trainer is None or step_values_are_kept(self.trainer):
            self.log_dict(values, prog_bar=prog_bar)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Log the loggers' step axis (:func:`log_step_axis`) on the batches whose step values are kept, unless
        the :class:`StepAxis` callback does it (:meth:`configure_callbacks`)."""
        if step_values_are_kept(self.trainer) and not any(isinstance(c, StepAxis) for c in self.trainer.callbacks):
            log_step_axis(self.trainer, self)
        super().on_train_batch_end(outputs, batch, batch_idx)

    def configure_callbacks(self) -> list[pl.Callback]:
        """Lightning's hook, plus the :class:`StepAxis` callback where a checkpoint callback may name files by a
        logged ``step`` (:func:`checkpoints_named_by_logged_step`), once: a trainer used again holds it."""
        callbacks = list(super().configure_callbacks())
        trainer = self._trainer
        if (trainer is not None and checkpoints_named_by_logged_step(trainer)
                and not any(isinstance(c, StepAxis) for c in trainer.callbacks)):
            callbacks.append(StepAxis())
        return callbacks


def log_step_axis(trainer: pl.Trainer, module: pl.LightningModule) -> None:
    """Log ``step`` = ``global_step`` (optimizer steps, the clock of ``max_steps``, checkpoints, ``Evaluation``
    and ``SampleFigures``) and ``epoch``: Lightning then uses ``step`` as the loggers' step instead of its
    count of batches, so that losses, evaluations and pictures share one axis."""
    module.log_dict({"step": float(trainer.global_step), "epoch": float(trainer.current_epoch)})


def checkpoints_named_by_logged_step(trainer: pl.Trainer) -> list[pl.Callback]:
    """The checkpoint callbacks that save between logged batches and name their files by a logged ``step``:
    Lightning's ``ModelCheckpoint`` with ``every_n_train_steps`` or ``train_time_interval``.

    :class:`~lightning_gans.callbacks.checkpoint.StepCheckpoint` (the CLI's) names by ``global_step`` itself
    (``names_by_global_step``).  Lightning 2.6 has no public form of a ``ModelCheckpoint``'s intervals; this
    is the library's one read of them.
    """
    return [callback for callback in trainer.checkpoint_callbacks
            if not getattr(callback, "names_by_global_step", False)
            and (getattr(callback, "_every_n_train_steps", 0) > 0
                 or getattr(callback, "_train_time_interval", None) is not None)]


def checkpoint_may_save(trainer: pl.Trainer) -> bool:
    """Whether one of :func:`checkpoints_named_by_logged_step` may save after this batch."""
    return any(callback._train_time_interval is not None
               or (callback._every_n_train_steps > 0 and trainer.global_step % callback._every_n_train_steps == 0)
               for callback in checkpoints_named_by_logged_step(trainer))


class StepAxis(pl.Callback):
    """Logs the step axis (:func:`log_step_axis`) on the batches whose step values are kept and on those after
    which a Lightning ``ModelCheckpoint`` may save, for a run that has one with a step or time interval
    (the module adds this callback then, :meth:`StepLogging.configure_callbacks`; otherwise the module logs the
    axis itself, which costs less).

    Lightning names checkpoints by a logged ``step`` (``{step}`` in ``filename``) and keeps the last logged
    value until the epoch ends, so a checkpoint between two logged batches took the older step's name and
    overwrote the file written there.  Being a callback, this runs before every checkpoint callback, which
    Lightning runs last.
    """

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if step_values_are_kept(trainer) or checkpoint_may_save(trainer):
            log_step_axis(trainer, pl_module)
