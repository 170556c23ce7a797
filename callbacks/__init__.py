"""Callbacks that plug into any Lightning run: sample pictures, evaluation, AdaGAN."""

from callbacks.samples import SampleFigures

__all__ = ["SampleFigures"]
