"""Tiny stand-ins for the evaluation tests: a module whose ``sample(n)`` returns known points and a
datamodule of tensors."""

from __future__ import annotations

from typing import Optional

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset


class PointsModule(pl.LightningModule):
    """``sample(n)`` cycles through ``points`` (or, with ``by_rank``, repeats ``points[global_rank]``).

    It records, for every call, whether autograd and CPU autocast were on, and counts the samples drawn.
    """

    def __init__(self, points: Tensor, by_rank: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.register_buffer("points", points.clone())
        self.data_shape = tuple(points.shape[1:])
        self.by_rank = by_rank
        self.cursor = 0
        self.generated = 0
        self.calls: list[tuple[bool, bool]] = []

    def sample(self, n: int) -> Tensor:
        self.calls.append((torch.is_grad_enabled(), torch.is_autocast_enabled("cpu")))
        self.generated += n
        if self.by_rank:
            return self.points[self.global_rank].expand(n, *self.data_shape) + 0 * self.weight
        index = (self.cursor + torch.arange(n, device=self.points.device)) % len(self.points)
        self.cursor += n
        return self.points[index] + 0 * self.weight

    def training_step(self, batch, batch_idx):
        return (self.weight - 1) ** 2 + 0 * batch[0].sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class TensorDataModule(pl.LightningDataModule):
    """``train``/``val`` tensors as ``(x, 0)`` datasets; optional mixture ``centres``/``std``."""

    def __init__(self, train: Tensor, val: Optional[Tensor] = None, centres: Optional[Tensor] = None,
                 std: Optional[float] = None, batch_size: int = 4) -> None:
        super().__init__()
        self.data_shape = tuple(train.shape[1:])
        self.train_dataset = TensorDataset(train, torch.zeros(len(train), dtype=torch.int64))
        self.val_dataset = None if val is None else TensorDataset(val, torch.zeros(len(val), dtype=torch.int64))
        self.centres, self.std, self.batch_size = centres, std, batch_size

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=self.batch_size, shuffle=False)


def make_trainer(**kwargs) -> pl.Trainer:
    options = dict(max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False, accelerator="cpu", devices=1)
    options.update(kwargs)
    return pl.Trainer(**options)
