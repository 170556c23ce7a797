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
    training values (:meth:`log_step`) and puts the loggers on the optimizer-step axis (``on_train_batch_end``)."""

    def log_step(self, name: str, value: Any, prog_bar: bool = False) -> None:
        """``self.log(name, value, prog_bar=prog_bar)`` of a training step's value, on the batches whose
        step values Lightning keeps (module docstring); outside a fit, as ``self.log``."""
        self.log_step_dict({name: value}, prog_bar=prog_bar)

    def log_step_dict(self, values: Mapping[str, Any], prog_bar: bool = False) -> None:
        """:meth:`log_step` of several values (one ``self.log_dict``)."""
        if self._trainer is None or step_values_are_kept(self.trainer):
            self.log_dict(values, prog_bar=prog_bar)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Log ``step`` = ``global_step`` (optimizer steps, the clock of ``max_steps``, checkpoints,
        ``Evaluation`` and ``SampleFigures``) on the batches whose step values are kept; Lightning then
        uses it as the loggers' step instead of its count of batches, so that losses, evaluations and
        pictures share one axis."""
        if step_values_are_kept(self.trainer):
            self.log_dict({"step": float(self.global_step), "epoch": float(self.current_epoch)})
        super().on_train_batch_end(outputs, batch, batch_idx)
