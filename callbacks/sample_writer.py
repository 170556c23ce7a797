"""``SampleWriter``: what ``trainer.predict`` (``python train.py predict --ckpt_path ...``) generates, written to files.

The module's ``predict_step`` turns sample indices into samples
(:meth:`~lightning_gans.gan_modules.training.base.AdversarialModule.predict_step`): the datamodule's
``predict_dataloader`` when it has one, else the module's own (``predict_samples`` indices); this
prediction writer (Lightning's ``BasePredictionWriter``) saves them once the epoch is over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import lightning.pytorch as pl
import matplotlib.pyplot as plt
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch import Tensor

from lightning_gans.callbacks.samples import SampleFigures


def in_index_order(samples: Tensor, indices: Tensor) -> Tensor:
    """``samples[k]`` (of sample index ``indices[k]``) rearranged so that row ``i`` is sample ``i``; an index that
    occurs twice (the padding of Lightning's distributed sampler) is one sample, so it is kept once."""
    ordered = samples.new_empty(int(indices.max()) + 1, *samples.shape[1:])
    ordered[indices] = samples
    return ordered


class SampleWriter(BasePredictionWriter):
    """Save the predicted samples as ``samples.pt`` (one tensor, ``(N, *data_shape)``, data space, row ``i``
    sample ``i``) and ``samples.png`` (a scatter plot over the data for 2-D points, a grid of the first
    ``n_images`` images otherwise) in ``output_dir`` (default ``<run dir>/predictions``).

    Under DDP the processes' shares are gathered, so the files are those of one process.  ``n_samples``:
    how many samples to draw when the datamodule has no ``predict_dataloader`` of its own (the
    module's ``predict_samples``, 1,000 by default).
    """

    def __init__(self, output_dir: Optional[str] = None, n_images: int = 64, n_samples: Optional[int] = None) -> None:
        super().__init__(write_interval="epoch")
        if n_images < 1:
            raise ValueError(f"n_images must be at least 1, got {n_images}")
        if n_samples is not None and n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}")
        self.n_images, self.n_samples = n_images, n_samples
        self._requested_dir = output_dir
        self.output_dir: Optional[Path] = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.output_dir = Path(self._requested_dir or Path(trainer.log_dir or trainer.default_root_dir) / "predictions")
        if self.n_samples is not None and hasattr(pl_module, "predict_samples"):
            pl_module.predict_samples = self.n_samples

    def write_on_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, predictions: Sequence[Any],
                           batch_indices: Sequence[Any]) -> None:
        samples = torch.cat([batch.detach().float() for batch in predictions])
        if trainer.world_size > 1:
            indices = torch.as_tensor([i for batch in batch_indices[0] for i in batch], device=samples.device)
            gathered, gathered_indices = trainer.strategy.all_gather(samples), trainer.strategy.all_gather(indices)
            samples = in_index_order(gathered.flatten(0, 1), gathered_indices.flatten())
        samples = samples.cpu()
        if not trainer.is_global_zero:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        torch.save(samples, self.output_dir / "samples.pt")
        shown = samples if samples.dim() == 2 else samples[: self.n_images]
        figure = SampleFigures(n_samples=len(samples)).picture(shown, trainer)
        figure.suptitle(f"{type(pl_module).__name__}: {len(samples)} samples")
        figure.savefig(self.output_dir / "samples.png", dpi=100, bbox_inches="tight")
        plt.close(figure)
