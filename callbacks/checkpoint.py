"""``StepCheckpoint``: Lightning's ``ModelCheckpoint`` on the optimizer-step clock of a module with several optimizer steps a batch.

Lightning 2.6's ``ModelCheckpoint(every_n_train_steps=n)`` saves after a batch whose ``global_step`` is
a multiple of ``n``.  A GAN's batch takes one to ``n_critic + 1`` optimizer steps (``global_step``
counts them all), so ``global_step`` can jump over the multiples: with WGAN-GP at ``n_critic=2`` (1 or 2
steps a batch), ``n=50`` saved at steps 100 and 150, then 250: never at 50 or 200.  With manual
optimization it also ignores ``train_time_interval`` and warns on every save.  And it names files by a
metric called ``step`` where one was logged (``{step}`` in ``filename``), which this library logs as the
loggers' step axis: a checkpoint written between two logged batches took the older step's name and
overwrote the checkpoint written there.
"""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor


class StepCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` (same arguments) that, for modules with manual optimization:

    * saves after every batch that crosses a multiple of ``every_n_train_steps`` optimizer steps (so at
      most one batch late, one checkpoint an interval, whatever the optimizer steps a batch), and after
      ``train_time_interval`` has passed;
    * names and ranks every checkpoint by the trainer's true ``global_step`` and ``current_epoch``
      (``{step}``, ``{epoch}`` in ``filename``), never by a logged metric of that name.

    The CLI uses it wherever a config names Lightning's ``ModelCheckpoint``
    (:mod:`lightning_gans.cli`).  A module with automatic optimization gets Lightning's behaviour.
    """

    #: read by the module's step axis (:class:`~lightning_gans.gan_modules.training.step_logging.StepAxis`)
    names_by_global_step = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._intervals_done = self._interval_of(trainer.global_step)  # a resumed run continues the count
        self._time_checked = time.monotonic()

    def _interval_of(self, step: int) -> int:
        return step // self._every_n_train_steps if self._every_n_train_steps > 0 else 0

    def due(self, trainer: pl.Trainer) -> bool:
        """Whether this batch crossed a multiple of ``every_n_train_steps`` or the time interval ran out."""
        crossed = self._every_n_train_steps > 0 and self._interval_of(trainer.global_step) > self._intervals_done
        timed = self._train_time_interval is not None and (
            time.monotonic() - self._time_checked >= self._train_time_interval.total_seconds())
        if self._train_time_interval is not None and trainer.world_size > 1:
            timed = trainer.strategy.broadcast(timed)  # the ranks' clocks differ: rank 0 decides for all
        return crossed or timed

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if pl_module.automatic_optimization:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        if not self.due(trainer):
            return
        self._intervals_done = self._interval_of(trainer.global_step)
        self._time_checked = time.monotonic()
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        if self.monitor is not None and self.monitor not in candidates:
            self._defer_save_until_validation = True  # as Lightning does: saved when validation logs it
            return
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["step"], candidates["epoch"] = torch.tensor(trainer.global_step), torch.tensor(trainer.current_epoch)
        return candidates
