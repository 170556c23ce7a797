"""What the library reads from a datamodule: the one place the contract is written down.

Any ``LightningDataModule`` (or plain dataloaders) trains a method; the callbacks need more, and each
of them stops with an error naming the piece it misses.  The library's own datamodules
(:class:`~lightning_gans.datamodules.base.WeightedDataModule`) have all of it.

============================  ====================================================================
piece                         who reads it, and what for
============================  ====================================================================
training batches              the methods: a tensor ``x``, a tuple/list ``(x, ...)`` or a dict holding
                              ``x`` under the module's ``batch_key`` (``"x"`` by default); ``x`` has
                              shape ``(B, *data_shape)``
``data_shape`` (optional)     the CLI links it into the model, so network factories are built for the
                              data; without it the shape of one example of the first training batch
                              is used (:func:`data_shape_of`)
``train_dataset``             a map-style ``Dataset`` whose items are examples in the batch formats
                              above (``(x, label)``, ``x`` or a dict): real points behind the
                              SampleFigures scatter (optional there), real statistics for Evaluation's
                              FID/KID/digits metrics, AdaGAN's data weights and uniform-weight summary
``val_dataset``               held-out examples: Evaluation's ``parzen`` metric; the inputs of
                              alpha-GAN's reconstruction pictures in SampleFigures (``train_dataset``
                              when absent)
``set_sample_weights(w)``     AdaGAN (unless ``weights="uniform"``): per-example weights over
                              ``train_dataset`` (normalised, ``None`` = uniform), used from the next
                              epoch on
``centres``, ``std``          2-D mixtures: Evaluation's mode coverage (or pass them to it), the
                              modes in SampleFigures' scatter and AdaGAN's mixture statistics
============================  ====================================================================
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

DEFAULT_BATCH_KEY = "x"


def real_from_batch(batch: Any, key: str = DEFAULT_BATCH_KEY) -> Tensor:
    """The data tensor of a batch (or of one dataset item): ``x``, ``(x, ...)`` or ``{key: x, ...}``."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        return batch[0]
    if isinstance(batch, dict):
        if isinstance(batch.get(key), Tensor):
            return batch[key]
        raise ValueError(f"the batch is a dict with keys {sorted(map(str, batch))} and no tensor under the "
                         f"module's batch_key {key!r}: set batch_key to the key that holds the data")
    raise TypeError(f"a batch must be a tensor, a tuple/list whose first element is the data tensor, or a dict; "
                    f"got {type(batch).__name__}")


def batch_key_of(module: Any) -> str:
    """The module's ``batch_key`` (the default for modules without one)."""
    return getattr(module, "batch_key", DEFAULT_BATCH_KEY)


def stack_examples(dataset: Dataset, indices: Sequence[int], key: str = DEFAULT_BATCH_KEY) -> Tensor:
    """The data of items ``indices`` of ``dataset`` (items in the batch formats) as one float tensor."""
    return torch.stack([real_from_batch(dataset[int(i)], key) for i in indices]).float()


class DictExamples(Dataset):
    """The data tensors of a dataset whose items are dicts: item ``i`` is ``dataset[i][key]``."""

    def __init__(self, dataset: Dataset, key: str) -> None:
        self.dataset, self.key = dataset, key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Tensor:
        return real_from_batch(self.dataset[i], self.key)


def examples_dataset(dataset: Dataset, key: str = DEFAULT_BATCH_KEY) -> Dataset:
    """``dataset`` itself when its items are ``x`` or ``(x, ...)``, a :class:`DictExamples` view when they are dicts."""
    return DictExamples(dataset, key) if len(dataset) and isinstance(dataset[0], dict) else dataset


def data_shape_of(datamodule: Any, key: str = DEFAULT_BATCH_KEY) -> Optional[tuple[int, ...]]:
    """The datamodule's ``data_shape``, else the shape of one example of its first training batch
    (read with the global RNG forked, so training draws the same numbers); ``None`` without a datamodule."""
    if datamodule is None:
        return None
    shape = getattr(datamodule, "data_shape", None)
    if shape is not None:
        return tuple(int(size) for size in shape)
    with torch.random.fork_rng(devices=[]):
        batch = next(iter(datamodule.train_dataloader()))
    return tuple(real_from_batch(batch, key).shape[1:])


def required(datamodule: Any, piece: str, reader: str) -> Any:
    """``datamodule.<piece>``, or a ``ValueError`` saying that ``reader`` needs it and where it is described."""
    value = getattr(datamodule, piece, None)
    if value is None:
        found = "the run has no datamodule" if datamodule is None else f"{type(datamodule).__name__} has none"
        raise ValueError(f"{reader} needs the datamodule's `{piece}`, but {found} "
                         "(the datamodule contract: lightning_gans.datamodules.contract)")
    return value
