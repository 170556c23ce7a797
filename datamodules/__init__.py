"""Datamodules: each exposes ``data_shape``, yields ``(x, label)`` batches and accepts per-example weights."""

from lightning_gans.datamodules.base import WeightedDataModule
from lightning_gans.datamodules.digits import Digits
from lightning_gans.datamodules.in_memory import InMemoryDataset
from lightning_gans.datamodules.mnist5k import MNIST5k
from lightning_gans.datamodules.sampler import ReweightableSampler
from lightning_gans.datamodules.toy import GaussianMixture2D, GridOfGaussians, RingOfGaussians
from lightning_gans.datamodules.vision import CIFAR10, MNIST, DatasetNotFoundError, ImageFolder

__all__ = [
    "CIFAR10", "MNIST", "DatasetNotFoundError", "Digits", "GaussianMixture2D", "GridOfGaussians", "ImageFolder",
    "InMemoryDataset", "MNIST5k", "RingOfGaussians", "ReweightableSampler", "WeightedDataModule",
]
