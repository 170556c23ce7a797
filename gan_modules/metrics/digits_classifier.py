"""Metrics of generated handwritten digits that need no download: a small convnet trained once per data set.

Each classifier follows a :class:`ClassifierRecipe`: its training data, architecture and optimisation
(:data:`RECIPES`, by name):

* ``"digits"``: scikit-learn's bundled 8 x 8 digits, ``(1, 8, 8)``; 3 x 3 convolutions of 16 and 32
  channels (strides 1, 2) and 64 features, trained on a seeded 1,500 of the 1,797 for 15 epochs;
  97.6 % accurate on the other 297 (measured), trained in a few seconds on one CPU thread;
* ``"mnist"``: 28 x 28 MNIST digits, ``(1, 28, 28)``; 5 x 5 convolutions of 16 and 32 channels
  (strides 2, 2) and 64 features, trained on the 4,000 training digits of
  :class:`~lightning_gans.datamodules.MNIST5k` (its default split) for 30 epochs, each image randomly
  rotated by up to 10 degrees, scaled by up to 10 % and shifted by up to 2 pixels (the affine
  distortions of Simard et al. 2003, Section 2), with a one-cycle learning rate (Smith & Topin 2019,
  torch's ``OneCycleLR``); 98.4 % accurate on the datamodule's 1,000 held-out digits (measured; seeds
  1-4 of the same recipe give 98.0-98.8 %), trained in about 12 s on one CPU thread.  It suits any
  MNIST data, e.g. the torchvision ``MNIST`` datamodule.  Those 1,000 held-out digits, against the
  4,000 training digits, score 10 classes covered, label KL 0.007 (their true labels': 0.006), mean
  confidence 0.98 and Frechet distance 10.3; one digit repeated 1,000 times scores 1 class, KL
  ``log 10`` = 2.30 and Frechet distance 2,700.

:func:`load_classifier` trains one deterministically and caches its weights under
``$LIGHTNING_GANS_CACHE`` (default ``~/.cache/lightning_gans``) as ``<name>_classifier-<hash>.pt``,
the hash covering the whole recipe, training data and split included, so that classifiers of
different data or settings never share a file.  :class:`DigitsMetrics` then reports, for generated
images in ``[-1, 1]``, with keys prefixed by the classifier's name (``digits_...``, ``mnist_...``):

* ``<name>_classes_covered``: classes predicted for at least ``min_per_class`` samples (the
  "modes" count of Stacked-MNIST in VEEGAN / PacGAN, which use a pre-trained classifier the same way);
* ``<name>_label_kl_to_uniform``: KL of the predicted-label histogram to uniform (VEEGAN's
  Stacked-MNIST KL; both data sets are close to balanced);
* ``<name>_mean_confidence``: mean of the top softmax probability (a sharpness proxy);
* ``<name>_frechet_distance``: the Frechet distance of Heusel et al. 2017 in the classifier's
  penultimate features, computed by torchmetrics' ``FrechetInceptionDistance`` with a custom
  feature module.  It is comparable between runs of this library only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from lightning_gans.datamodules.mnist5k import MNIST5k
from lightning_gans.gan_modules.metrics.cache import default_cache_dir
from lightning_gans.gan_modules.metrics.inception import build_fid
from lightning_gans.gan_modules.metrics.mode_coverage import kl_to_uniform

NUM_CLASSES = 10


def load_digits_tensors() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled digits as ``(N, 1, 8, 8)`` floats in ``[-1, 1]`` (pixel values 0..16) and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0
    return images, torch.as_tensor(digits.target, dtype=torch.int64)


Split = tuple[Tensor, Tensor, Tensor, Tensor]


def _digits_split(settings: dict) -> Split:
    """A seeded ``n_train`` of the bundled digits to train on, the rest held out."""
    images, labels = load_digits_tensors()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(settings["seed"]))
    train, test = order[: settings["n_train"]], order[settings["n_train"]:]
    return images[train], labels[train], images[test], labels[test]


def _mnist5k_split(settings: dict) -> Split:
    """MNIST5k's ``train_dataset`` to train on and its ``val_dataset`` held out."""
    data = MNIST5k(val_fraction=settings["val_fraction"], seed=settings["split_seed"])
    data.setup()
    return (*data.train_dataset.tensors, *data.val_dataset.tensors)


@dataclass(frozen=True)
class ClassifierRecipe:
    """How a classifier is made.

    Args:
        name: names its cache file, its real features in the feature cache and the metrics' keys.
        image_shape: the ``(C, H, W)`` images it takes.
        split: ``settings -> (train images, train labels, held-out images, held-out labels)``.
        settings: everything that determines the weights, hashed into the cache file's name: the data
            and its split, the architecture (``kernel_size``, ``strides`` of the two convolutions,
            ``width``, ``num_features``) and the optimisation (Adam, ``lr``, ``lr_schedule``
            ``"constant"`` or ``"one_cycle"``, ``epochs``, ``batch_size``, ``seed``, and ``augment``:
            ``None`` or the arguments of :func:`random_affine`).
    """

    name: str
    image_shape: tuple[int, int, int]
    split: Callable[[dict], Split]
    settings: dict


DIGITS_RECIPE = ClassifierRecipe("digits", (1, 8, 8), _digits_split, {
    "version": 1, "data": "sklearn load_digits", "n_train": 1500, "seed": 0,
    "kernel_size": 3, "strides": [1, 2], "width": 16, "num_features": 64,
    "epochs": 15, "lr": 2e-3, "lr_schedule": "constant", "batch_size": 64, "augment": None,
})
MNIST_RECIPE = ClassifierRecipe("mnist", (1, 28, 28), _mnist5k_split, {
    "version": 1, "data": "MNIST5k", "val_fraction": 0.2, "split_seed": 0, "seed": 0,
    "kernel_size": 5, "strides": [2, 2], "width": 16, "num_features": 64,
    "epochs": 30, "lr": 2e-3, "lr_schedule": "one_cycle", "batch_size": 64,
    "augment": {"max_rotation": 10.0, "max_scale": 0.1, "max_shift": 2.0},
})
#: The classifiers by name (the metric families of :class:`~lightning_gans.callbacks.Evaluation`).
RECIPES = {recipe.name: recipe for recipe in (DIGITS_RECIPE, MNIST_RECIPE)}


class DigitsClassifier(nn.Module):
    """Two ReLU convolutions and a ``num_features``-d ReLU hidden layer, sized by ``recipe``;
    ``features`` gives that layer."""

    def __init__(self, recipe: ClassifierRecipe = DIGITS_RECIPE) -> None:
        super().__init__()
        self.recipe = recipe
        settings = recipe.settings
        kernel, width = settings["kernel_size"], settings["width"]
        channels, rows, columns = recipe.image_shape
        for stride in settings["strides"]:  # "same" padding: a side of n pixels becomes ceil(n / stride)
            rows, columns = math.ceil(rows / stride), math.ceil(columns / stride)
        first, second = settings["strides"]
        self.num_features = settings["num_features"]
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, kernel, stride=first, padding=kernel // 2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, kernel, stride=second, padding=kernel // 2), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * width * rows * columns, self.num_features), nn.ReLU(),
        )
        self.head = nn.Linear(self.num_features, NUM_CLASSES)

    def features(self, images: Tensor) -> Tensor:
        if images.shape[1:] != self.recipe.image_shape:
            shape = ", ".join(map(str, self.recipe.image_shape))
            raise ValueError(f"the {self.recipe.name} classifier takes (B, {shape}) images, got shape "
                             f"{tuple(images.shape)}")
        return self.body(images.clamp(-1, 1))

    def features_and_logits(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(images)
        return features, self.head(features)

    def forward(self, images: Tensor) -> Tensor:
        return self.features_and_logits(images)[1]


def _settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def random_affine(images: Tensor, max_rotation: float, max_scale: float, max_shift: float) -> Tensor:
    """Each image rotated by up to ``max_rotation`` degrees, scaled by ``1 +- max_scale`` and translated by
    up to ``max_shift`` pixels along each axis (independent uniform draws from the global RNG), resampled
    bilinearly; what comes in from outside the image is background, ``-1``."""
    n, _, height, width = images.shape
    rotation, scale, shift_x, shift_y = torch.rand(4, n) * 2 - 1
    angle = rotation * math.radians(max_rotation)
    zoom = 1 / (1 + scale * max_scale)  # theta maps output to input coordinates
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x * 2 * max_shift / width], 1),
                         torch.stack([sin, cos, shift_y * 2 * max_shift / height], 1)], 1)
    grid = nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    return nn.functional.grid_sample(images + 1, grid, align_corners=False) - 1


def train_classifier(recipe: ClassifierRecipe) -> tuple[DigitsClassifier, float]:
    """Train on the recipe's training split; returns the model (eval mode) and its held-out accuracy.

    The global RNG state and the thread count are left as they were.
    """
    train_images, train_labels, test_images, test_labels = recipe.split(recipe.settings)
    threads = torch.get_num_threads()
    # One thread: the nets are tiny, and on a busy machine extra threads make it ~40x slower (measured).
    torch.set_num_threads(1)
    try:
        model = _fit(recipe, train_images, train_labels)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    with torch.no_grad():
        accuracy = float((model(test_images).argmax(1) == test_labels).float().mean())
    return model, accuracy


def _fit(recipe: ClassifierRecipe, images: Tensor, labels: Tensor) -> DigitsClassifier:
    settings = recipe.settings
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings["seed"])
        model = DigitsClassifier(recipe)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
        steps = settings["epochs"] * math.ceil(len(images) / settings["batch_size"])
        schedule = (torch.optim.lr_scheduler.OneCycleLR(optimizer, settings["lr"], total_steps=steps)
                    if settings["lr_schedule"] == "one_cycle" else None)
        for _ in range(settings["epochs"]):
            for batch in torch.randperm(len(images)).split(settings["batch_size"]):
                inputs = images[batch]
                if settings["augment"]:
                    inputs = random_affine(inputs, **settings["augment"])
                loss = nn.functional.cross_entropy(model(inputs), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if schedule is not None:
                    schedule.step()
    return model


def load_classifier(recipe: ClassifierRecipe, cache_dir: Optional[str | Path] = None) -> DigitsClassifier:
    """The cached classifier of ``recipe``, trained and cached first if missing.

    The returned model is frozen, in eval mode, and has a ``test_accuracy`` attribute (held-out accuracy).
    """
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = directory / f"{recipe.name}_classifier-{_settings_hash(recipe.settings)}.pt"
    model = DigitsClassifier(recipe)
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        accuracy = saved["test_accuracy"]
    else:
        model, accuracy = train_classifier(recipe)
        directory.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=directory, suffix=".partial")
        os.close(handle)
        torch.save({"state_dict": model.state_dict(), "settings": recipe.settings, "test_accuracy": accuracy},
                   partial)
        os.replace(partial, path)  # atomic: concurrent writers leave one whole file
    model.test_accuracy = accuracy
    return model.eval().requires_grad_(False)


def load_digits_classifier(cache_dir: Optional[str | Path] = None) -> DigitsClassifier:
    """The 8 x 8 digits classifier (:data:`DIGITS_RECIPE`), trained and cached first if missing."""
    return load_classifier(DIGITS_RECIPE, cache_dir)


def load_mnist_classifier(cache_dir: Optional[str | Path] = None) -> DigitsClassifier:
    """The MNIST classifier (:data:`MNIST_RECIPE`), trained and cached first if missing."""
    return load_classifier(MNIST_RECIPE, cache_dir)


class ClassifierStatistics(Metric):
    """Predicted-label histogram and summed top-1 confidence of classifier logits; sum-synced across ranks."""

    full_state_update = False

    def __init__(self, num_classes: int = NUM_CLASSES, min_per_class: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if min_per_class < 1:
            raise ValueError(f"min_per_class must be at least 1, got {min_per_class}")
        self.min_per_class = min_per_class
        self.add_state("counts", default=torch.zeros(num_classes, dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("confidence_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, logits: Tensor) -> None:
        probabilities = logits.detach().float().softmax(dim=1)
        confidence, label = probabilities.max(dim=1)
        self.counts += torch.bincount(label, minlength=self.counts.numel())
        self.confidence_sum += confidence.double().sum()
        self.total += logits.shape[0]

    def compute(self) -> dict:
        if int(self.total) == 0:
            raise ValueError("no samples were counted")
        return {
            "classes_covered": int((self.counts >= self.min_per_class).sum()),
            "label_kl_to_uniform": kl_to_uniform(self.counts),
            "mean_confidence": float(self.confidence_sum / self.total),
            "counts": self.counts.cpu(),
            "n_samples": int(self.total),
        }


class DigitsMetrics(nn.Module):
    """Classifier metrics of generated digits in ``[-1, 1]`` (module docstring), keyed ``<name>_...``
    by the classifier's recipe.

    ``update(images, real)``: one classifier pass gives features for the Frechet distance (real or
    generated) and, for generated images, the label statistics.  Real statistics survive ``reset()``;
    ``update(images, real=True)`` is ``update_real_features(real_features(images))`` (cacheable,
    :mod:`.feature_cache`).

    Args:
        cache_dir: where the trained classifier is cached (default :func:`default_cache_dir`).
        min_per_class: predictions needed for a class to count as covered (default 1, as for modes).
        classifier: use this classifier instead of the cached one.
        data: which cached classifier to use when ``classifier`` is not given: ``"digits"`` (8 x 8) or
            ``"mnist"`` (28 x 28).
    """

    needs_real = True

    def __init__(self, cache_dir: Optional[str | Path] = None, min_per_class: int = 1,
                 classifier: Optional[DigitsClassifier] = None, data: str = "digits") -> None:
        super().__init__()
        if classifier is None:
            loaders = {"digits": load_digits_classifier, "mnist": load_mnist_classifier}
            if data not in loaders:
                raise ValueError(f"data must be one of {sorted(loaders)}, got {data!r}")
            classifier = loaders[data](cache_dir)
        self.classifier = classifier
        self.statistics = ClassifierStatistics(min_per_class=min_per_class)
        self.frechet = build_fid(self.classifier.num_features)

    @property
    def name(self) -> str:
        """The classifier's name, the prefix of the logged keys."""
        return self.classifier.recipe.name

    @property
    def feature_name(self) -> str:
        """The real features' name in the feature cache."""
        return f"{self.name}-classifier-penultimate"

    @property
    def extractor(self) -> DigitsClassifier:
        """The classifier, whose weights key the cached real features (:mod:`.feature_cache`)."""
        return self.classifier

    @torch.no_grad()
    def update(self, images: Tensor, real: bool = False) -> None:
        if real:
            self.update_real_features(self.real_features(images))
            return
        features, logits = self.classifier.features_and_logits(images.float())
        self.frechet.update(features, real=False)
        self.statistics.update(logits)

    @torch.no_grad()
    def real_features(self, images: Tensor) -> Tensor:
        """The classifier's penultimate features ``(B, num_features)`` of real images in ``[-1, 1]``."""
        return self.classifier.features(images.float())

    def update_real_features(self, features: Tensor) -> None:
        """Feed real features (from :meth:`real_features`, or cached) to the Frechet distance."""
        self.frechet.update(features, real=True)

    def compute(self) -> dict:
        statistics = self.statistics.compute()
        return {
            f"{self.name}_classes_covered": statistics["classes_covered"],
            f"{self.name}_label_kl_to_uniform": statistics["label_kl_to_uniform"],
            f"{self.name}_mean_confidence": statistics["mean_confidence"],
            f"{self.name}_frechet_distance": float(self.frechet.compute()),
        }

    def reset(self) -> None:
        self.statistics.reset()
        self.frechet.reset()
