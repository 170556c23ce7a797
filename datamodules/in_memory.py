"""An in-memory data set that a DataLoader reads a whole batch at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset, default_collate


class StackedSamples(Sequence):
    """A batch's samples, held as tensors already stacked along the batch dimension.

    As a sequence it is the list of samples ``(x_i, label_i)`` a map-style data set's batch is, so any
    ``collate_fn`` (``default_collate`` included) gets the usual batch from it; :func:`collate` takes
    the stacked tensors as they are.
    """

    def __init__(self, tensors: tuple[Tensor, ...]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        return zip(*self.tensors)


class InMemoryDataset(TensorDataset):
    """A :class:`~torch.utils.data.TensorDataset` whose batches are one indexing operation per tensor.

    A ``DataLoader`` fetches a batch of a map-style data set example by example (``dataset[i]`` for
    each index, then ``default_collate`` stacks them): for a 2-D toy batch of 256 that is 0.75 ms on
    the CPU, an eighth of the 2-D GAN's ~6 ms training step, against 0.07 ms here (the input-pipeline
    table of ``python benchmarks/speed.py``).  When a data set has ``__getitems__``, the loader
    passes it the batch's index list instead; here that is ``tensor[indices]`` for each tensor, and
    :func:`collate` hands those on: the same values, order and types as the example-by-example path
    (``[x, label]``).  With another ``collate_fn`` the batch is still correct, collated sample by sample.
    The library's loaders (:class:`~lightning_gans.datamodules.resumable.ResumableDataLoader`) use :func:`collate`.
    """

    def __getitems__(self, indices: list[int]) -> StackedSamples:
        index = torch.as_tensor(indices)  # converted once, not once per tensor
        return StackedSamples(tuple(tensor[index] for tensor in self.tensors))


def collate(data: Any) -> Any:
    """``default_collate``, except that :class:`StackedSamples` become their tensors without a copy."""
    if isinstance(data, StackedSamples):
        return list(data.tensors)
    return default_collate(data)
