"""``StepProgressBar``: the progress bar on the clock that ends a ``max_steps`` run, optimizer steps.

Lightning's bar counts the epoch's batches, but a GAN takes several optimizer steps a batch
(``n_critic + 1`` per cycle of ``n_critic`` batches; four for alpha-GAN), so a run that
``--trainer.max_steps`` ends stops with Lightning's bar at 50 % or wherever.  With ``max_steps``
set this bar is one bar for the whole fit: its total is ``max_steps``, it shows ``global_step`` and its
rate is optimizer steps a second; without, it is Lightning's bar.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import TQDMProgressBar


class StepProgressBar(TQDMProgressBar):
    """Lightning's ``TQDMProgressBar`` counting optimizer steps up to ``max_steps`` (when set)."""

    @property
    def total_train_batches(self) -> int | float:
        if self.trainer.max_steps != -1:
            return self.trainer.max_steps
        return super().total_train_batches

    def on_train_start(self, trainer: pl.Trainer, *args: Any) -> None:
        super().on_train_start(trainer, *args)
        if trainer.max_steps != -1:  # one bar for the whole fit, from where it starts (a resumed run's step)
            bar = self.train_progress_bar
            bar.reset(total=trainer.max_steps)
            bar.initial = bar.n = bar.last_print_n = trainer.global_step
            bar.refresh()

    def on_train_epoch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        """Lightning's bar starts again every epoch (its count, its clock: the rate showed 10^5 it/s); this
        one runs on, naming the epoch."""
        if trainer.max_steps == -1:
            super().on_train_epoch_start(trainer, *args)
            return
        self.train_progress_bar.set_description(f"Epoch {trainer.current_epoch}")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if trainer.max_steps == -1:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        bar = self.train_progress_bar
        if bar is not None and not bar.disable and self._should_update(trainer.global_step, bar.total):
            bar.update(trainer.global_step - bar.n)  # tqdm's rate: optimizer steps a second
            bar.set_postfix(self.get_metrics(trainer, pl_module))
