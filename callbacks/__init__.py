"""Callbacks that plug into any Lightning run: sample pictures, evaluation, AdaGAN."""

from callbacks.evaluation import Evaluation
from callbacks.samples import SampleFigures

__all__ = ["Evaluation", "SampleFigures"]
