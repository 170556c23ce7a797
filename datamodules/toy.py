"""2-D Gaussian mixtures used to count modes: the ring and the grid of VEEGAN / PacGAN."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from lightning_gans.datamodules.base import WeightedDataModule
from lightning_gans.datamodules.in_memory import InMemoryDataset


class GaussianMixture2D(WeightedDataModule):
    """Equal-weight isotropic Gaussians at ``centres``; the label of a point is its mode's index.

    The training and validation sets are drawn once from ``seed`` with a private generator, so
    they do not depend on (or disturb) the global RNG.  Each point's mode is drawn uniformly.

    Args:
        centres: ``(K, 2)`` mode centres.
        std: standard deviation of every coordinate of every mode.
        n_train, n_val: sizes of the training and held-out sets (``n_val = 0``: no held-out set).
        seed: seed of the private generator the sets are drawn from.
        batch_size, num_workers, n_predict: see :class:`~lightning_gans.datamodules.base.WeightedDataModule`.
    """

    def __init__(self, centres: Tensor, std: float, n_train: int, n_val: int, seed: int,
                 batch_size: int, num_workers: int = 0, n_predict: int = 1000) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, n_predict=n_predict)
        centres = torch.as_tensor(centres)
        if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) < 1:
            raise ValueError(f"centres must have shape (K, 2) with K >= 1, got {tuple(centres.shape)}")
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        if n_train < 1 or n_val < 0:
            raise ValueError(f"n_train must be positive and n_val non-negative, got {n_train} and {n_val}")
        self.centres = centres.float()
        self.std = float(std)
        self.n_train, self.n_val, self.seed = n_train, n_val, seed

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def draw(self, n: int, generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor]:
        """``n`` points and their mode labels (modes chosen uniformly)."""
        labels = torch.randint(0, self.n_modes, (n,), generator=generator)
        points = self.centres[labels] + self.std * torch.randn(n, 2, generator=generator)
        return points, labels

    def setup(self, stage: Optional[str] = None) -> None:
        if self.train_dataset is not None:
            return
        generator = torch.Generator().manual_seed(self.seed)
        self.train_dataset = InMemoryDataset(*self.draw(self.n_train, generator))
        if self.n_val:
            self.val_dataset = InMemoryDataset(*self.draw(self.n_val, generator))


class RingOfGaussians(GaussianMixture2D):
    """``n_modes`` Gaussians on a circle at angles ``2*pi*k/n_modes``, ``k = 0..n_modes-1``.

    Defaults are the 2D-ring of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): 8
    modes, radius 1, std 0.01 [code: PacGAN ``2DRing_*/config.py``, variance ``0.01**2``].  The
    angles exclude ``2*pi``: ``linspace(0, 2*pi, K)``, found in several reference copies, puts two
    modes on top of each other.  ``n_train`` 100,000 as PacGAN's toy sets (Lin et al. 2018, Sec. 5.1).
    ``n_val`` 10,000 and ``batch_size`` 256 are this library's choices (PacGAN trains with batches of
    100; any size works).
    """

    def __init__(self, n_modes: int = 8, radius: float = 1.0, std: float = 0.01, n_train: int = 100_000,
                 n_val: int = 10_000, seed: int = 0, batch_size: int = 256, num_workers: int = 0,
                 n_predict: int = 1000) -> None:
        if n_modes < 1:
            raise ValueError(f"n_modes must be at least 1, got {n_modes}")
        if radius <= 0:
            raise ValueError(f"radius must be positive, got {radius}")
        angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
        centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
        super().__init__(centres, std, n_train, n_val, seed, batch_size, num_workers, n_predict)


class GridOfGaussians(GaussianMixture2D):
    """``grid_size**2`` Gaussians on a square grid centred at the origin.

    Defaults are the 2D-grid of VEEGAN and PacGAN: 5x5 modes at ``(i, j)``, ``i, j`` in
    ``{-4, -2, 0, 2, 4}`` (spacing 2), std 0.05 [code: PacGAN ``2DGrid_*/config.py``, ``MEANS``],
    100,000 training points as there.  ``n_val`` 10,000 and ``batch_size`` 256 are this library's
    choices, as for :class:`RingOfGaussians`.
    """

    def __init__(self, grid_size: int = 5, spacing: float = 2.0, std: float = 0.05, n_train: int = 100_000,
                 n_val: int = 10_000, seed: int = 0, batch_size: int = 256, num_workers: int = 0,
                 n_predict: int = 1000) -> None:
        if grid_size < 1:
            raise ValueError(f"grid_size must be at least 1, got {grid_size}")
        if spacing <= 0:
            raise ValueError(f"spacing must be positive, got {spacing}")
        axis = spacing * (torch.arange(grid_size, dtype=torch.float64) - (grid_size - 1) / 2)
        centres = torch.cartesian_prod(axis, axis)
        super().__init__(centres, std, n_train, n_val, seed, batch_size, num_workers, n_predict)
