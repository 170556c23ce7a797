"""Precision / recall / density / coverage against the authors' code (PyPI ``prdc``) and hand cases; the
unbiased MMD against torchmetrics' KID; both metrics' states across reset and across 2 processes."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.gan_modules.metrics import prdc as prdc_module
from lightning_gans.gan_modules.metrics.fid_helper_weights import inception_skeleton
from lightning_gans.gan_modules.metrics.images import to_rgb_uint8
from lightning_gans.gan_modules.metrics.inception import FeatureInput
from lightning_gans.gan_modules.metrics.mmd import PolynomialMMD, mmd2_unbiased
from lightning_gans.gan_modules.metrics.prdc import PRDC, prdc_from_features

KEYS = ("precision", "recall", "density", "coverage")
SCRIPT = Path(__file__).parent / "scripts" / "ddp_feature_metrics.py"

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402


def two_sets(seed, n, m, d, shift=0.3, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    real = torch.randn(n, d, generator=generator, dtype=torch.float64)
    fake = torch.randn(m, d, generator=generator, dtype=torch.float64) * 1.2 + shift
    return real.to(dtype), fake.to(dtype)


def reference_prdc(real, fake, k):
    """The authors' ``compute_prdc`` (it prints the set sizes)."""
    compute_prdc = pytest.importorskip("prdc").compute_prdc
    with contextlib.redirect_stdout(io.StringIO()):
        return compute_prdc(real.numpy(), fake.numpy(), k)


# ---------------------------------------------------------------- the authors' code
@pytest.mark.parametrize("n, m, d, k, dtype", [
    (7, 7, 2, 5, torch.float64),  # the fewest examples the reference code takes at k = 5
    (40, 40, 2, 5, torch.float64),
    (50, 83, 3, 5, torch.float64),  # more generated than real
    (300, 120, 16, 5, torch.float64),  # fewer generated than real
    (257, 400, 64, 3, torch.float64),
    (500, 350, 2, 5, torch.float32),  # float32 inputs (the callback's)
])
def test_equals_the_authors_prdc(n, m, d, k, dtype, monkeypatch):
    real, fake = two_sets(n + m + d, n, m, d, dtype=dtype)
    want = reference_prdc(real, fake, k)
    got = prdc_from_features(real, fake, k)
    assert max(abs(float(got[key]) - float(want[key])) for key in KEYS) <= 1e-6
    monkeypatch.setattr(prdc_module, "BLOCK_ELEMENTS", 97)  # many small row blocks: the same numbers
    blocked = prdc_from_features(real, fake, k)
    assert all(float(blocked[key]) == float(got[key]) for key in KEYS)


def test_the_sets_differ_enough_for_the_comparison_to_mean_something():
    got = prdc_from_features(*two_sets(1, 300, 120, 16), nearest_k=5)
    assert 0.05 < float(got["precision"]) < 0.95 and 0.05 < float(got["coverage"]) < 0.95


# ---------------------------------------------------------------- hand cases
def test_identical_sets_score_one_on_all_four():
    real, _ = two_sets(2, 200, 1, 3)
    got = prdc_from_features(real, real.clone(), nearest_k=5)
    # density: each real ball holds exactly its centre and its k nearest neighbours, minus the k-th on the boundary
    assert {key: float(got[key]) for key in KEYS} == {key: 1.0 for key in KEYS}


def test_far_away_samples_score_zero_on_all_four():
    real, fake = two_sets(3, 100, 60, 2, shift=100.0)
    got = prdc_from_features(real, fake, nearest_k=5)
    assert {key: float(got[key]) for key in KEYS} == {key: 0.0 for key in KEYS}


def test_a_hand_computed_case_on_a_line():
    real = torch.arange(10.0)[:, None]  # 0, 1, ..., 9: every 1-NN radius is 1
    fake = torch.tensor([[0.5], [20.0], [20.5]])  # 1-NN radii 19.5, 0.5, 0.5
    got = prdc_from_features(real, fake, nearest_k=1)
    assert float(got["precision"]) == pytest.approx(1 / 3)  # 0.5 lies in the balls of 0 and 1; 20, 20.5 in none
    assert float(got["density"]) == pytest.approx(2 / 3)  # two real balls hold a sample, over k M = 3
    assert float(got["coverage"]) == pytest.approx(2 / 10)  # the balls of 0 and 1
    assert float(got["recall"]) == 1.0  # the outlier's ball B(0.5, 19.5) holds every real point
    assert {key: float(value) for key, value in got.items()} == pytest.approx(reference_prdc(real, fake, 1))


def test_a_collapsed_generator_has_no_recall_and_almost_no_coverage():
    real, _ = two_sets(4, 400, 1, 2)
    collapsed = real[:1].expand(100, 2)  # every sample on one real point
    got = prdc_from_features(real, collapsed, nearest_k=5)
    assert float(got["precision"]) == 1.0  # the point is real ...
    assert float(got["recall"]) == 0.0  # ... but the samples' own balls have radius 0
    assert float(got["coverage"]) < 0.05  # only the real balls around that point hold it


def test_too_few_examples_or_mismatched_sizes_are_clear_errors():
    real, fake = two_sets(5, 5, 20, 2)
    with pytest.raises(ValueError, match="need more than 5 examples, got 5"):
        prdc_from_features(real, fake, nearest_k=5)
    with pytest.raises(ValueError, match="differ in size: 2 and 3"):
        prdc_from_features(torch.zeros(10, 2), torch.zeros(10, 3))


# ---------------------------------------------------------------- the torchmetrics Metric
def test_metric_accumulates_batches_and_keeps_the_real_set_across_reset():
    real, fake = two_sets(6, 90, 70, 3)
    metric = PRDC(nearest_k=5)
    for chunk in real.split(32):
        metric.update(chunk, real=True)
    for chunk in fake.split(25):
        metric.update(chunk)
    want = prdc_from_features(real, fake, nearest_k=5)
    assert {key: float(value) for key, value in metric.compute().items()} == {key: float(want[key]) for key in KEYS}
    metric.reset()  # the generated set is cleared, the real one stays
    metric.update(real)
    assert float(metric.compute()["coverage"]) == 1.0
    assert sum(len(chunk) for chunk in metric.real_features) == 90 and sum(map(len, metric.fake_features)) == 90


def test_metric_flattens_examples_to_vectors():
    real, fake = two_sets(7, 30, 30, 12)
    metric = PRDC()
    metric.update(real.reshape(30, 3, 2, 2), real=True)
    metric.update(fake.reshape(30, 3, 2, 2))
    want = prdc_from_features(real, fake)
    assert {key: float(value) for key, value in metric.compute().items()} == {key: float(want[key]) for key in KEYS}


def test_metric_without_a_real_set_says_so():
    metric = PRDC()
    metric.update(torch.zeros(8, 2))
    with pytest.raises(ValueError, match="no real examples"):
        metric.compute()


# ---------------------------------------------------------------- the unbiased MMD
@pytest.mark.parametrize("n, d", [(10, 2), (60, 5), (200, 32)])
def test_mmd_equals_torchmetrics_kid_with_one_subset_of_every_example(n, d):
    real, fake = two_sets(n + d, n, n, d)
    kid = KernelInceptionDistance(feature=FeatureInput(d), subsets=1, subset_size=n)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    want = float(kid.compute()[0])
    assert abs(float(mmd2_unbiased(real, fake)) - want) <= 1e-6
    assert want > 0.01  # shifted sets: a value a wrong estimator would miss


def test_mmd_with_different_set_sizes_equals_the_formula_by_hand(monkeypatch):
    real, fake = (x.numpy() for x in two_sets(8, 40, 25, 4))
    kernel = lambda x, y: (x @ y.T / 4 + 1) ** 3  # noqa: E731  gamma = 1/d, coef 1, degree 3
    n, m = len(real), len(fake)
    k_xx, k_yy, k_xy = kernel(real, real), kernel(fake, fake), kernel(real, fake)
    want = ((k_xx.sum() - np.trace(k_xx)) / (n * (n - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
            - 2 * k_xy.sum() / (n * m))
    got = float(mmd2_unbiased(torch.from_numpy(real), torch.from_numpy(fake)))
    assert got == pytest.approx(want, rel=1e-12)
    monkeypatch.setattr(prdc_module, "BLOCK_ELEMENTS", 50)
    assert float(mmd2_unbiased(torch.from_numpy(real), torch.from_numpy(fake))) == pytest.approx(want, rel=1e-12)


def test_mmd_metric_is_small_for_one_distribution_and_grows_with_the_shift():
    generator = torch.Generator().manual_seed(9)
    real = torch.randn(400, 2, generator=generator)
    values = []
    for shift in (0.0, 0.5, 2.0):
        metric = PolynomialMMD()
        metric.update(real, real=True)
        metric.update(torch.randn(400, 2, generator=generator) + shift)
        values.append(float(metric.compute()["mmd2"]))
    assert abs(values[0]) < 0.05 * values[1] and values[1] < values[2]  # 0.035, 2.1, 178


# ---------------------------------------------------------------- two processes
def test_states_gather_across_two_processes(tmp_path):
    env = dict(os.environ, WANDB_MODE="offline", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    real, fake = two_sets(10, 41, 37, 3)  # the script's sets, split between the ranks
    want = prdc_from_features(real, fake)
    want_mmd = float(mmd2_unbiased(real, fake))
    for rank in (0, 1):
        record = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert record["local_sizes"] != [41, 37]  # each rank held only its share ...
        assert record["prdc"] == pytest.approx({key: float(want[key]) for key in KEYS}, abs=1e-12)  # ... of these
        assert record["mmd2"] == pytest.approx(want_mmd, rel=1e-9)


# ---------------------------------------------------------------- on Inception features
@pytest.mark.usefixtures("one_thread")
def test_prdc_on_inception_pool_features_through_the_callback(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "inception_random.pth"  # random weights: the features, not their quality, are tested
    torch.save(inception_skeleton().state_dict(), weights)
    generator = torch.Generator().manual_seed(0)
    real, samples = (torch.rand(6, 1, 8, 8, generator=generator) * 2 - 1 for _ in range(2))
    callback = Evaluation(metrics=["prdc_inception"], every_n_steps=100, n_samples=6, batch_size=3,
                          feature_extractor_weights_path=str(weights))
    make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(samples), datamodule=TensorDataModule(real))
    extractor = callback.suites["inception"].extractor
    with torch.no_grad():
        want = prdc_from_features(extractor(to_rgb_uint8(real))[0], extractor(to_rgb_uint8(samples))[0])
    got = {key: callback.last_results[f"eval/prdc_inception_{key}"] for key in KEYS}
    assert got == pytest.approx({key: float(want[key]) for key in KEYS}, abs=1e-12)
    assert callback.last_results["eval/n_real"] == 6


def test_prdc_on_inception_features_is_left_out_when_the_training_set_is_too_small():
    callback = Evaluation(metrics=["prdc_inception", "prdc"], n_samples=20, every_n_steps=100)
    images = torch.zeros(5, 1, 8, 8)
    with pytest.warns(UserWarning, match="prdc_inception left out: prdc_inception with k = 5 needs more than 5 real"):
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(torch.rand(20, 1, 8, 8)),
                                                          datamodule=TensorDataModule(images, val=torch.rand(9, 1, 8, 8)))
    assert callback.metrics == ["prdc"] and "inception" not in callback.suites
