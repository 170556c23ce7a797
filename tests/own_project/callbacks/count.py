"""A callback of the project's own: counts the training batches and writes the count at the end of fit."""

from pathlib import Path

import lightning.pytorch as pl


class CountBatches(pl.Callback):
    def __init__(self, output: str = "batches.txt") -> None:
        self.output, self.batches = output, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batches += 1

    def on_train_end(self, trainer, pl_module):
        Path(self.output).write_text(str(self.batches))
