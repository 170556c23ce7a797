"""``SaveOnInterrupt``: Ctrl-C (SIGINT) or SIGTERM during a fit ends it cleanly, with a resumable checkpoint.

Python's default SIGINT raises ``KeyboardInterrupt`` wherever the run is, e.g. between a
discriminator and a generator step, and Lightning then exits without a checkpoint: everything
since the last one is lost.  During ``fit`` this callback only records the signal; at the end of
the batch it writes ``interrupted.ckpt`` (resuming from it continues exactly, as from any batch
boundary) and asks the trainer to stop, so the run ends as usual: the final evaluation and picture,
the loggers' closing, the CLI's summary lines.  A second Ctrl-C stops at once (``KeyboardInterrupt``).

A signal during an epoch's last batch is written after the epoch's end instead: Lightning 2.6 resumes
a checkpoint of an epoch's last batch without that epoch's ``on_train_epoch_end`` (where e.g. AdaGAN
ends a stage) and with its epoch counters one behind.  So that the epoch-end hooks of the other
callbacks are in the checkpoint, put this callback after them (the CLI adds it last).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SaveOnInterrupt(pl.Callback):
    """On SIGINT or SIGTERM during fit: checkpoint at the end of the batch, then stop the run.

    The checkpoint goes to ``<checkpoint dir>/interrupted.ckpt`` (the ``ModelCheckpoint``'s
    directory, else ``<run dir>/checkpoints``).  Under DDP the ranks agree at every batch on whether
    any of them was signalled, so they stop at the same batch.  ``signal_received`` and
    ``checkpoint_path`` tell the caller what happened (the CLI exits with ``128 + signal``).
    """

    def __init__(self) -> None:
        self.signal_received: Optional[int] = None
        self.checkpoint_path: Optional[Path] = None
        self._save_at_epoch_end = False
        self._previous_handlers: dict[int, Any] = {}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.signal_received, self.checkpoint_path, self._save_at_epoch_end = None, None, False
        try:
            self._previous_handlers = {number: signal.signal(number, self._record) for number in SIGNALS}
        except ValueError:  # not the main thread: signals stay as they are
            self._previous_handlers = {}

    def _record(self, number: int, frame: Any) -> None:
        if self.signal_received == signal.SIGINT and number == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signal_received = number

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        signalled = self.signal_received is not None
        if trainer.world_size > 1:
            signalled = trainer.strategy.reduce_boolean_decision(signalled, all=False)
        if not signalled or self.checkpoint_path is not None:
            return
        self.signal_received = self.signal_received or signal.SIGTERM  # a rank signalled by another
        self.checkpoint_path = self._directory(trainer) / "interrupted.ckpt"
        trainer.should_stop = True
        if trainer.is_last_batch:
            self._save_at_epoch_end = True  # the epoch's last batch: written after the epoch's end (module docstring)
            return
        self._save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._save_at_epoch_end:
            self._save_at_epoch_end = False
            self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        trainer.save_checkpoint(self.checkpoint_path)
        if trainer.is_global_zero:
            print(f"\n{signal.Signals(self.signal_received).name}: stopped at step {trainer.global_step}, "
                  f"checkpoint {self.checkpoint_path.resolve()} (resume with --ckpt_path)", flush=True)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_handlers()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore_handlers()

    def _restore_handlers(self) -> None:
        for number, handler in self._previous_handlers.items():
            signal.signal(number, handler)
        self._previous_handlers = {}

    @staticmethod
    def _directory(trainer: pl.Trainer) -> Path:
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and getattr(checkpoint, "dirpath", None):
            return Path(checkpoint.dirpath)
        return Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"
