"""Datamodules: each exposes ``data_shape``, yields ``(x, label)`` batches and accepts per-example weights."""

from datamodules.base import WeightedDataModule
from datamodules.digits import Digits
from datamodules.in_memory import InMemoryDataset
from datamodules.sampler import ReweightableSampler
from datamodules.toy import GaussianMixture2D, GridOfGaussians, RingOfGaussians
from datamodules.vision import CIFAR10, MNIST, DatasetNotFoundError, ImageFolder

__all__ = [
    "CIFAR10", "MNIST", "DatasetNotFoundError", "Digits", "GaussianMixture2D", "GridOfGaussians", "ImageFolder",
    "InMemoryDataset", "RingOfGaussians", "ReweightableSampler", "WeightedDataModule",
]
