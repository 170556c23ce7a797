"""The digits classifier metrics: cached training, label statistics, Frechet distance, via the callback."""

import sys
from pathlib import Path

import pytest
import torch

from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.gan_modules.metrics.digits_classifier import (
    ClassifierStatistics,
    DigitsMetrics,
    load_digits_classifier,
    load_digits_tensors,
)

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lightning_gans_cache")


@pytest.fixture(scope="module")
def classifier(cache_dir):
    return load_digits_classifier(cache_dir)


def test_classifier_is_accurate_cached_and_frozen(classifier, cache_dir):
    assert classifier.test_accuracy > 0.93
    files = list(Path(cache_dir).glob("digits_classifier-*.pt"))
    assert len(files) == 1
    again = load_digits_classifier(cache_dir)  # loaded from the file, not retrained
    assert all(torch.equal(a, b) for a, b in zip(classifier.state_dict().values(), again.state_dict().values()))
    assert not any(p.requires_grad for p in again.parameters()) and not again.training


def test_classifier_statistics_hand_values():
    logits = torch.full((4, 10), -1e4)
    logits[[0, 1, 2], [3, 3, 5]] = 0.0  # two samples confidently class 3, one class 5
    logits[3, :2] = 0.0  # the last one split evenly between classes 0 and 1 (argmax 0, confidence 0.5)
    statistics = ClassifierStatistics()
    statistics.update(logits)
    result = statistics.compute()
    assert result["classes_covered"] == 3
    assert result["counts"].tolist() == [1, 0, 0, 2, 0, 1, 0, 0, 0, 0]
    assert result["mean_confidence"] == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    p = torch.tensor([0.25, 0.5, 0.25])
    assert result["label_kl_to_uniform"] == pytest.approx(float((p * (p * 10).log()).sum()))


def test_real_digits_cover_all_classes_and_a_single_digit_does_not(classifier):
    images, labels = load_digits_tensors()
    metrics = DigitsMetrics(classifier=classifier)
    metrics.update(images[:900], real=True)
    metrics.update(images[900:])
    good = metrics.compute()
    metrics.reset()  # keeps the real statistics
    metrics.update(images[labels == 7][:50])
    collapsed = metrics.compute()
    assert good["digits_classes_covered"] == 10 and collapsed["digits_classes_covered"] <= 2
    assert good["digits_label_kl_to_uniform"] < 0.01 < collapsed["digits_label_kl_to_uniform"]
    assert good["digits_mean_confidence"] > 0.9
    assert 0 <= good["digits_frechet_distance"] < collapsed["digits_frechet_distance"] / 5


def test_digits_metrics_through_the_callback(cache_dir):
    images, _ = load_digits_tensors()
    module = PointsModule(images[1000:1400])
    callback = Evaluation(every_n_steps=100, n_samples=300, n_real=600, cache_dir=str(cache_dir))
    make_trainer(max_steps=1, callbacks=[callback]).fit(module, datamodule=TensorDataModule(images[:1000]))
    assert callback.metrics == ["digits"]
    results = callback.last_results
    assert results["eval/digits_classes_covered"] == 10
    assert results["eval/n_samples"] == 300 and results["eval/n_real"] == 600
    assert results["eval/digits_frechet_distance"] < 100
    assert callback.suites["digits"].frechet.real_features_num_samples == 600
