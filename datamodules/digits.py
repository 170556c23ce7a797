"""scikit-learn's bundled 8x8 handwritten digits: an image data set that needs no download."""

from __future__ import annotations

from typing import Optional

import torch

from lightning_gans.datamodules.base import WeightedDataModule
from lightning_gans.datamodules.in_memory import InMemoryDataset


class Digits(WeightedDataModule):
    """The 1,797 8x8 digits of ``sklearn.datasets.load_digits`` (UCI optical digits), as ``(1, 8, 8)``
    images in ``[-1, 1]`` (pixel values 0..16 mapped by ``x / 16 * 2 - 1``) with their class labels.

    A seeded random ``val_fraction`` of the images is held out as ``val_dataset`` (evaluation,
    reconstruction error, Parzen bandwidth selection).  ``val_fraction`` 0.2 and ``batch_size`` 64
    (AdaGAN's toy scripts' batch size) are this library's defaults, not taken from a paper on this set.
    """

    def __init__(self, batch_size: int = 64, val_fraction: float = 0.2, seed: int = 0, num_workers: int = 0,
                 n_predict: int = 1000) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, n_predict=n_predict)
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
        self.val_fraction, self.seed = val_fraction, seed

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (1, 8, 8)

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images ``(N, *data_shape)`` in ``[-1, 1]`` and their labels, before the split."""
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16 * 2 - 1
        return images, torch.as_tensor(digits.target, dtype=torch.long)

    def setup(self, stage: Optional[str] = None) -> None:
        if self.train_dataset is not None:
            return
        images, labels = self.load()
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
        n_val = int(round(self.val_fraction * len(images)))
        val, train = order[:n_val], order[n_val:]
        self.train_dataset = InMemoryDataset(images[train], labels[train])
        if n_val:
            self.val_dataset = InMemoryDataset(images[val], labels[val])
