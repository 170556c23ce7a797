"""Callbacks that plug into any Lightning run: sample pictures, evaluation, AdaGAN."""

from lightning_gans.callbacks.adagan import AdaGAN
from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.callbacks.samples import SampleFigures

__all__ = ["AdaGAN", "Evaluation", "SampleFigures"]
