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
      (``{step}``, ``{epoch}`` in ``filename``), never by a logged metric of that name;
    * writes a checkpoint due at an epoch's last batch after the epoch's end instead (after every other
      callback's ``on_train_epoch_end``, e.g. AdaGAN's stage end): Lightning 2.6 resumes a checkpoint of
      an epoch's last batch without that epoch's ``on_train_epoch_end`` and with its epoch counters one
      behind (``benchmarks/faults.py`` found it);
    * writes nothing at the end of an epoch that a stop (Ctrl-C, SIGTERM: :class:`~lightning_gans.callbacks.
      interrupt.SaveOnInterrupt`) cut short: such a checkpoint would mark the epoch finished, and a
      ``max_epochs`` run resumed from it would train one epoch less.  The stop's own checkpoint is the one
      to resume from.

    The CLI uses it wherever a config names Lightning's ``ModelCheckpoint``
    (:mod:`lightning_gans.cli`).  A module with automatic optimization gets Lightning's behaviour.
    """

    _due_at_epoch_end = False  # a save due at the epoch's last batch, written after the epoch's end

    #: read by the module's step axis (:class:`~lightning_gans.gan_modules.training.step_logging.StepAxis`)
    names_by_global_step = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._due_at_epoch_end = False
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
        if trainer.is_last_batch:  # written after the epoch's end instead (class docstring)
            self._due_at_epoch_end = True
            return
        self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        if self.monitor is not None and self.monitor not in candidates:
            self._defer_save_until_validation = True  # as Lightning does: saved when validation logs it
            return
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    @staticmethod
    def _stopped_mid_epoch(trainer: pl.Trainer) -> bool:
        """Whether a stop (``should_stop``, not ``max_steps``) ended the epoch before its last batch."""
        return trainer.should_stop and not trainer.is_last_batch

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._stopped_mid_epoch(trainer):
            return  # a stopped run's checkpoint is the one written where it stopped (SaveOnInterrupt)
        super().on_train_epoch_end(trainer, pl_module)
        if self._due_at_epoch_end:
            self._due_at_epoch_end = False
            self._save(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._stopped_mid_epoch(trainer):
            super().on_validation_end(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._stopped_mid_epoch(trainer):
            super().on_train_end(trainer, pl_module)

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["step"], candidates["epoch"] = torch.tensor(trainer.global_step), torch.tensor(trainer.current_epoch)
        return candidates
