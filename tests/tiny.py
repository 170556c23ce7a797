"""Tiny networks, loaders and a quiet Trainer shared by the tests (tests/ is on sys.path under pytest)."""

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules import GAN


class LinearGenerator(nn.Module):
    """``x = A z + b`` with a 2-D latent."""

    latent_dim = 2

    def __init__(self, data_shape=(2,)):
        super().__init__()
        self.linear = nn.Linear(2, data_shape[0])

    def forward(self, z):
        return self.linear(z)


class LinearDiscriminator(nn.Module):
    """``f(x) = w . x + b``: its gradient is ``w`` everywhere."""

    def __init__(self, data_shape=(2,)):
        super().__init__()
        self.linear = nn.Linear(data_shape[0], 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1)


class FixedNoise:
    """Mixin for a method: latent codes come from a fixed queue, so a test can redo the update by hand."""

    def __init__(self, *args, codes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = list(codes)

    def sample_latent(self, n):
        return self.codes.pop(0)


class FixedNoiseGAN(FixedNoise, GAN):
    """The GAN with latent codes from a fixed queue."""


def make_trainer(**kwargs):
    """One epoch on the CPU, no logger, checkpoints, progress bar or summary (all overridable)."""
    options = dict(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False, accelerator="cpu")
    options.update(kwargs)
    return pl.Trainer(**options)


def loader(n_batches, batch_size=8, fill=None):
    """``(x, label)`` batches of 2-D points: standard normal, or all equal to ``fill``."""
    shape = (n_batches * batch_size, 2)
    data = torch.randn(shape) if fill is None else torch.full(shape, float(fill))
    return DataLoader(TensorDataset(data, torch.zeros(len(data), dtype=torch.long)), batch_size=batch_size)
