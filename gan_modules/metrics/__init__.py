"""Evaluation metrics (torchmetrics ``Metric`` objects and pure functions).

* :mod:`.images`: the one conversion of ``[-1, 1]`` images to uint8 / RGB / [0, 1].
* :mod:`.mode_coverage`: VEEGAN/PacGAN mode statistics of 2-D mixtures.
* :mod:`.digits_classifier`: classifier metrics of the bundled 8 x 8 digits and of 28 x 28 MNIST digits
  (small convnets trained once, on the 8 x 8 digits / MNIST5k; no download).
* :mod:`.inception`: IS / FID / KID through torchmetrics with local Inception weights.
* :mod:`.prdc`: precision, recall, density and coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020)
  of any vectors: raw examples or Inception features.
* :mod:`.mmd`: unbiased MMD^2 with KID's polynomial kernel on any vectors.
* :mod:`.feature_sets`: the real / generated vector states those two share (synced under DDP).
* :mod:`.feature_cache`: the real data's Inception / digits-classifier features cached on disk across runs,
  keyed by data, split, N, extractor and its weights' hash (as torch-fidelity caches reference features).
* :mod:`.parzen`: Parzen-window log-likelihood (legacy, Goodfellow et al. 2014 Table 1).

The evaluation callback that runs them during training is :class:`lightning_gans.callbacks.evaluation.Evaluation`.
"""

from lightning_gans.gan_modules.metrics.digits_classifier import (
    ClassifierRecipe,
    DigitsClassifier,
    DigitsMetrics,
    load_classifier,
    load_digits_classifier,
    load_mnist_classifier,
)
from lightning_gans.gan_modules.metrics.images import comparable_with_published, to_rgb_uint8, to_uint8, to_unit_interval
from lightning_gans.gan_modules.metrics.inception import (
    InceptionMetrics,
    InceptionWeightsMissing,
    build_fid,
    build_inception_score,
    build_kid,
    inception_weights_file,
)
from lightning_gans.gan_modules.metrics.feature_cache import (
    FeatureKey,
    RealFeatureCache,
    RealFeatureSource,
    feed_real_examples,
    weights_digest,
)
from lightning_gans.gan_modules.metrics.feature_sets import FeatureSets
from lightning_gans.gan_modules.metrics.mmd import PolynomialMMD, mmd2_unbiased
from lightning_gans.gan_modules.metrics.mode_coverage import ModeCoverage, mode_statistics
from lightning_gans.gan_modules.metrics.parzen import ParzenWindow, parzen_evaluation
from lightning_gans.gan_modules.metrics.prdc import PRDC, nearest_neighbour_radii, prdc_from_features

__all__ = [
    "ClassifierRecipe",
    "DigitsClassifier",
    "DigitsMetrics",
    "FeatureKey",
    "FeatureSets",
    "InceptionMetrics",
    "InceptionWeightsMissing",
    "ModeCoverage",
    "PRDC",
    "ParzenWindow",
    "PolynomialMMD",
    "RealFeatureCache",
    "RealFeatureSource",
    "build_fid",
    "build_inception_score",
    "build_kid",
    "comparable_with_published",
    "feed_real_examples",
    "inception_weights_file",
    "load_classifier",
    "load_digits_classifier",
    "load_mnist_classifier",
    "mmd2_unbiased",
    "mode_statistics",
    "nearest_neighbour_radii",
    "parzen_evaluation",
    "prdc_from_features",
    "to_rgb_uint8",
    "to_uint8",
    "to_unit_interval",
    "weights_digest",
]
