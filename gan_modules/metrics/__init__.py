"""Evaluation metrics (torchmetrics ``Metric`` objects and pure functions).

* :mod:`.images`: the one conversion of ``[-1, 1]`` images to uint8 / RGB / [0, 1].
* :mod:`.mode_coverage`: VEEGAN/PacGAN mode statistics of 2-D mixtures.
* :mod:`.digits_classifier`: classifier metrics of the bundled 8 x 8 digits (no download).
* :mod:`.inception`: IS / FID / KID through torchmetrics with local Inception weights.
* :mod:`.parzen`: Parzen-window log-likelihood (legacy, Goodfellow et al. 2014 Table 1).

The evaluation callback that runs them during training is :class:`lightning_gans.callbacks.evaluation.Evaluation`.
"""

from lightning_gans.gan_modules.metrics.digits_classifier import DigitsClassifier, DigitsMetrics, load_digits_classifier
from lightning_gans.gan_modules.metrics.images import comparable_with_published, to_rgb_uint8, to_uint8, to_unit_interval
from lightning_gans.gan_modules.metrics.inception import (
    InceptionMetrics,
    InceptionWeightsMissing,
    build_fid,
    build_inception_score,
    build_kid,
    inception_weights_file,
)
from lightning_gans.gan_modules.metrics.mode_coverage import ModeCoverage, mode_statistics
from lightning_gans.gan_modules.metrics.parzen import ParzenWindow, parzen_evaluation

__all__ = [
    "DigitsClassifier",
    "DigitsMetrics",
    "InceptionMetrics",
    "InceptionWeightsMissing",
    "ModeCoverage",
    "ParzenWindow",
    "build_fid",
    "build_inception_score",
    "build_kid",
    "comparable_with_published",
    "inception_weights_file",
    "load_digits_classifier",
    "mode_statistics",
    "parzen_evaluation",
    "to_rgb_uint8",
    "to_uint8",
    "to_unit_interval",
]
