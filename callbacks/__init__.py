"""Callbacks that plug into any Lightning run: sample pictures, evaluation, AdaGAN."""

from callbacks.adagan import AdaGAN
from callbacks.evaluation import Evaluation
from callbacks.samples import SampleFigures

__all__ = ["AdaGAN", "Evaluation", "SampleFigures"]
