"""``SampleWriter``: what ``trainer.predict`` (``python train.py predict --ckpt_path ...``) generates, written to files.

The module's ``predict_step`` turns the datamodule's sample indices into samples
(:meth:`~lightning_gans.gan_modules.training.base.AdversarialModule.predict_step`); this prediction writer
(Lightning's ``BasePredictionWriter``) saves them once the epoch is over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import lightning.pytorch as pl
import matplotlib.pyplot as plt
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_gans.callbacks.samples import SampleFigures


class SampleWriter(BasePredictionWriter):
    """Save the predicted samples as ``samples.pt`` (one tensor, ``(N, *data_shape)``, data space) and
    ``samples.png`` (a scatter plot over the data for 2-D points, a grid of the first ``n_images``
    images otherwise) in ``output_dir`` (default ``<run dir>/predictions``).

    Under DDP each process writes its own share as ``samples_rank<r>.pt``; rank 0 draws the picture of its share.
    """

    def __init__(self, output_dir: Optional[str] = None, n_images: int = 64) -> None:
        super().__init__(write_interval="epoch")
        if n_images < 1:
            raise ValueError(f"n_images must be at least 1, got {n_images}")
        self.n_images = n_images
        self._requested_dir = output_dir
        self.output_dir: Optional[Path] = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.output_dir = Path(self._requested_dir or Path(trainer.log_dir or trainer.default_root_dir) / "predictions")

    def write_on_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, predictions: Sequence[Any],
                           batch_indices: Sequence[Any]) -> None:
        samples = torch.cat([batch.detach().float().cpu() for batch in predictions])
        self.output_dir.mkdir(parents=True, exist_ok=True)
        name = "samples.pt" if trainer.world_size == 1 else f"samples_rank{trainer.global_rank}.pt"
        torch.save(samples, self.output_dir / name)
        if trainer.is_global_zero:
            shown = samples if samples.dim() == 2 else samples[: self.n_images]
            figure = SampleFigures(n_samples=len(samples)).picture(shown, trainer)
            figure.suptitle(f"{type(pl_module).__name__}: {len(samples)} samples")
            figure.savefig(self.output_dir / "samples.png", dpi=100, bbox_inches="tight")
            plt.close(figure)
