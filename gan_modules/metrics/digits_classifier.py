"""Metrics for the bundled 8 x 8 digits that need no download: a small classifier trained once.

:func:`load_digits_classifier` trains :class:`DigitsClassifier` on a fixed split of scikit-learn's
bundled digits (deterministic, a few seconds on CPU) and caches the weights under
``$LIGHTNING_GANS_CACHE`` (default ``~/.cache/lightning_gans``), keyed by a hash of its settings.
:class:`DigitsMetrics` then reports, for generated digits in ``[-1, 1]``:

* ``digits_classes_covered``: classes predicted for at least ``min_per_class`` samples (the
  "modes" count of Stacked-MNIST in VEEGAN / PacGAN, which use a pre-trained classifier the same way);
* ``digits_label_kl_to_uniform``: KL of the predicted-label histogram to uniform (VEEGAN's
  Stacked-MNIST KL; the digits are close to balanced);
* ``digits_mean_confidence``: mean of the top softmax probability (a sharpness proxy);
* ``digits_frechet_distance``: the Frechet distance of Heusel et al. 2017 in the classifier's
  penultimate features, computed by torchmetrics' ``FrechetInceptionDistance`` with a custom
  feature module.  It is comparable between runs of this library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from lightning_gans.gan_modules.metrics.cache import default_cache_dir
from lightning_gans.gan_modules.metrics.inception import build_fid
from lightning_gans.gan_modules.metrics.mode_coverage import kl_to_uniform

NUM_CLASSES = 10
#: Everything that determines the trained weights; its hash names the cache file.
#: ``n_train=1500`` of the 1,797 digits train the classifier, the other 297 measure its accuracy.
CLASSIFIER_SETTINGS = {
    "version": 1, "width": 16, "num_features": 64, "epochs": 15, "lr": 2e-3, "batch_size": 64,
    "seed": 0, "n_train": 1500,
}


def load_digits_tensors() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled digits as ``(N, 1, 8, 8)`` floats in ``[-1, 1]`` (pixel values 0..16) and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0
    return images, torch.as_tensor(digits.target, dtype=torch.int64)


class DigitsClassifier(nn.Module):
    """Two convolutions and a ``num_features``-d hidden layer; ``features`` gives that layer."""

    def __init__(self, width: int = 16, num_features: int = 64, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.num_features = num_features
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),  # 8 -> 4 px
            nn.Flatten(), nn.Linear(2 * width * 16, num_features), nn.ReLU(),
        )
        self.head = nn.Linear(num_features, num_classes)

    def features(self, images: Tensor) -> Tensor:
        if images.shape[1:] != (1, 8, 8):
            raise ValueError(f"the digits classifier takes (B, 1, 8, 8) images, got shape {tuple(images.shape)}")
        return self.body(images.clamp(-1, 1))

    def features_and_logits(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(images)
        return features, self.head(features)

    def forward(self, images: Tensor) -> Tensor:
        return self.features_and_logits(images)[1]


def _settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def train_digits_classifier(settings: dict = CLASSIFIER_SETTINGS) -> tuple[DigitsClassifier, float]:
    """Train on a seeded split of the bundled digits with Adam; returns the model and its held-out accuracy.

    The global RNG state and the thread count are left as they were.
    """
    images, labels = load_digits_tensors()
    threads = torch.get_num_threads()
    # One thread: the net is tiny, and on a busy machine extra threads make it ~40x slower (measured).
    torch.set_num_threads(1)
    try:
        model = _fit(images, labels, settings)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    test = _split(len(images), settings)[1]
    with torch.no_grad():
        accuracy = float((model(images[test]).argmax(1) == labels[test]).float().mean())
    return model, accuracy


def _split(n: int, settings: dict) -> tuple[Tensor, Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(settings["seed"]))
    return order[: settings["n_train"]], order[settings["n_train"]:]


def _fit(images: Tensor, labels: Tensor, settings: dict) -> DigitsClassifier:
    train = _split(len(images), settings)[0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings["seed"])
        model = DigitsClassifier(settings["width"], settings["num_features"])
        optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
        for _ in range(settings["epochs"]):
            for batch in train[torch.randperm(len(train))].split(settings["batch_size"]):
                loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return model


def load_digits_classifier(
    cache_dir: Optional[str | Path] = None, settings: dict = CLASSIFIER_SETTINGS
) -> DigitsClassifier:
    """The cached classifier for ``settings``, trained and cached first if missing.

    The returned model is frozen, in eval mode, and has a ``test_accuracy`` attribute.
    """
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = directory / f"digits_classifier-{_settings_hash(settings)}.pt"
    model = DigitsClassifier(settings["width"], settings["num_features"])
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        accuracy = saved["test_accuracy"]
    else:
        model, accuracy = train_digits_classifier(settings)
        directory.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=directory, suffix=".partial")
        os.close(handle)
        torch.save({"state_dict": model.state_dict(), "settings": settings, "test_accuracy": accuracy}, partial)
        os.replace(partial, path)  # atomic: concurrent writers leave one whole file
    model.test_accuracy = accuracy
    return model.eval().requires_grad_(False)


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
    """Classifier metrics of generated 8 x 8 digits in ``[-1, 1]`` (module docstring).

    ``update(images, real)``: one classifier pass gives features for the Frechet distance (real or
    generated) and, for generated images, the label statistics.  Real statistics survive ``reset()``;
    ``update(images, real=True)`` is ``update_real_features(real_features(images))`` (cacheable,
    :mod:`.feature_cache`).

    Args:
        cache_dir: where the trained classifier is cached (default :func:`default_cache_dir`).
        min_per_class: predictions needed for a class to count as covered (default 1, as for modes).
        classifier: use this classifier instead of the cached one.
    """

    needs_real = True
    #: The real features' name in the feature cache.
    feature_name = "digits-classifier-penultimate"

    def __init__(self, cache_dir: Optional[str | Path] = None, min_per_class: int = 1,
                 classifier: Optional[DigitsClassifier] = None) -> None:
        super().__init__()
        self.classifier = classifier if classifier is not None else load_digits_classifier(cache_dir)
        self.statistics = ClassifierStatistics(min_per_class=min_per_class)
        self.frechet = build_fid(self.classifier.num_features)

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
        """The classifier's penultimate features ``(B, num_features)`` of real digits in ``[-1, 1]``."""
        return self.classifier.features(images.float())

    def update_real_features(self, features: Tensor) -> None:
        """Feed real features (from :meth:`real_features`, or cached) to the Frechet distance."""
        self.frechet.update(features, real=True)

    def compute(self) -> dict:
        statistics = self.statistics.compute()
        return {
            "digits_classes_covered": statistics["classes_covered"],
            "digits_label_kl_to_uniform": statistics["label_kl_to_uniform"],
            "digits_mean_confidence": statistics["mean_confidence"],
            "digits_frechet_distance": float(self.frechet.compute()),
        }

    def reset(self) -> None:
        self.statistics.reset()
        self.frechet.reset()
