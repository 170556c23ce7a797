"""Callbacks that plug into any Lightning run: sample pictures, evaluation, AdaGAN, predicted samples to files."""

from lightning_gans.callbacks.adagan import AdaGAN
from lightning_gans.callbacks.checkpoint import StepCheckpoint
from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.callbacks.interrupt import SaveOnInterrupt
from lightning_gans.callbacks.progress import StepProgressBar
from lightning_gans.callbacks.sample_writer import SampleWriter
from lightning_gans.callbacks.samples import SampleFigures

__all__ = ["AdaGAN", "Evaluation", "SampleFigures", "SaveOnInterrupt", "SampleWriter", "StepCheckpoint", "StepProgressBar"]
