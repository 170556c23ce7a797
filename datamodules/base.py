"""The datamodule contract every data set of the library keeps: ``data_shape`` and per-example weights."""

from __future__ import annotations

from typing import Any, Optional, Union

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from lightning_gans.datamodules.in_memory import collate
from lightning_gans.datamodules.resumable import ResumableDataLoader
from lightning_gans.datamodules.sampler import ReweightableSampler


class WeightedDataModule(pl.LightningDataModule):
    """Base for the library's datamodules.

    Subclasses set ``data_shape`` (known right after ``__init__``, so the CLI can link it into the
    model) and build ``train_dataset`` (and optionally ``val_dataset``, held out for evaluation) in ``setup``.  Batches are
    ``(x, label)``.  ``set_sample_weights`` reweights the training examples (sampling with
    replacement) from the next epoch on; the sampler's state is saved in checkpoints, and the train
    dataloader's position within an epoch too (:class:`~lightning_gans.datamodules.resumable.ResumableDataLoader`),
    so a run resumed mid-epoch continues with the batches the uninterrupted run would have seen.

    ``val_dataloader`` (and ``test_dataloader``) serve ``val_dataset`` (in order, unweighted) to the
    modules' ``validation_step`` and ``test_step``; ``predict_dataloader`` serves the indices
    ``0 .. n_predict - 1`` in batches, one a sample to generate (``python train.py predict``; 1,000 by
    default, this library's choice).
    """

    def __init__(self, batch_size: int = 64, num_workers: int = 0, n_predict: int = 1000) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if n_predict < 1:
            raise ValueError(f"n_predict must be at least 1, got {n_predict}")
        self.n_predict = n_predict
        if num_workers < 0:
            raise ValueError(f"num_workers must be non-negative, got {num_workers}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.train_dataset: Optional[Dataset] = None
        self.val_dataset: Optional[Dataset] = None
        self._sampler: Optional[ReweightableSampler] = None
        self._pending_sampler_state: Optional[dict[str, Any]] = None

    @property
    def data_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def num_train_examples(self) -> int:
        if self.train_dataset is None:
            self.setup("fit")
        return len(self.train_dataset)

    @property
    def sampler(self) -> ReweightableSampler:
        """The training sampler, created on first use (after ``setup``)."""
        if self._sampler is None:
            self._sampler = ReweightableSampler(self.num_train_examples)
            if self._pending_sampler_state is not None:
                self._sampler.load_state_dict(self._pending_sampler_state)
                self._pending_sampler_state = None
        return self._sampler

    def set_sample_weights(self, weights: Optional[Tensor]) -> None:
        """Weights over ``train_dataset`` (normalised; ``None`` = uniform), used from the next epoch on."""
        self.sampler.set_weights(weights)

    @property
    def sample_weights(self) -> Optional[Tensor]:
        return self.sampler.weights

    def train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            self.setup("fit")
        if len(self.train_dataset) < self.batch_size:
            raise ValueError(f"the training set has {len(self.train_dataset)} examples, fewer than one batch "
                             f"(batch_size={self.batch_size})")
        return ResumableDataLoader(self.train_dataset, draws=self.sampler, batch_size=self.batch_size, drop_last=True,
                                   num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> Union[DataLoader, list]:
        """The held-out split in a fixed order, all of it (no reweighting); ``[]`` where there is none."""
        if self.train_dataset is None:
            self.setup("validate")
        if self.val_dataset is None:
            return []
        # its own generator: starting the loader's iterator draws a seed, which must not come from the training run's RNG
        return DataLoader(self.val_dataset, batch_size=self.batch_size, shuffle=False, drop_last=False,
                          collate_fn=collate, num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          generator=torch.Generator())

    def test_dataloader(self) -> Union[DataLoader, list]:
        """The held-out split, as ``val_dataloader``: ``python train.py test`` scores a checkpoint like ``validate``."""
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """Batches of the sample indices ``0 .. n_predict - 1``: each index seeds the noise of one sample."""
        return DataLoader(torch.arange(self.n_predict), batch_size=self.batch_size, shuffle=False,
                          generator=torch.Generator())

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self._sampler.state_dict()} if self._sampler is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "sampler" in state_dict:
            if self._sampler is not None:
                self._sampler.load_state_dict(state_dict["sampler"])
            else:
                self._pending_sampler_state = state_dict["sampler"]
