"""Parzen-window log-likelihood (Goodfellow et al. 2014, Table 1 protocol) against scipy."""

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from lightning_gans.gan_modules.metrics.parzen import SIGMA_GRID, ParzenWindow, parzen_evaluation, parzen_log_likelihood, select_sigma


def scipy_parzen(points, samples, sigma):
    logpdf = np.stack([multivariate_normal(mean=mu, cov=sigma**2).logpdf(points) for mu in samples])  # (M, N)
    return logsumexp(logpdf, axis=0) - math.log(len(samples))


def test_sigma_grid_is_the_reference_codes():
    assert np.allclose(SIGMA_GRID, np.logspace(-1, 0, num=10))


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_log_likelihood_matches_scipy_at_any_batch_size(batch_size):
    generator = torch.Generator().manual_seed(0)
    samples, points = torch.rand(40, 5, generator=generator), torch.rand(7, 5, generator=generator)
    got = parzen_log_likelihood(points, samples, 0.2, batch_size=batch_size)
    assert np.allclose(got.numpy(), scipy_parzen(points.numpy(), samples.numpy(), 0.2), rtol=1e-10, atol=1e-8)


def test_far_points_are_stable():
    # exp(-||x - mu||^2 / 2 sigma^2) underflows in float64 here; the log-sum-exp must not
    got = parzen_log_likelihood(torch.full((1, 4), 5.0), torch.zeros(3, 4), sigma=0.1)
    assert torch.isfinite(got).all()
    assert float(got) == pytest.approx(-100 / 0.02 - 4 * math.log(0.1 * math.sqrt(2 * math.pi)))


def test_sigma_selection_is_the_validation_argmax_and_se_is_std_over_sqrt_n():
    generator = torch.Generator().manual_seed(1)
    samples, valid, test = (torch.randn(n, 3, generator=generator) * 0.35 for n in (200, 50, 30))
    sigma, means = select_sigma(valid, samples)
    brute = [scipy_parzen(valid.numpy(), samples.numpy(), s).mean() for s in SIGMA_GRID]
    assert sigma == SIGMA_GRID[int(np.argmax(brute))]
    assert np.allclose(means.numpy(), brute)
    result = parzen_evaluation(samples, valid, test)
    ll = scipy_parzen(test.numpy(), samples.numpy(), sigma)
    assert result["log_likelihood"] == pytest.approx(ll.mean())
    assert result["standard_error"] == pytest.approx(ll.std(ddof=1) / math.sqrt(30))


def test_metric_maps_images_to_unit_interval():
    generator = torch.Generator().manual_seed(2)
    images = torch.rand(12, 1, 2, 2, generator=generator) * 2 - 1
    valid = torch.rand(4, 1, 2, 2, generator=generator) * 2 - 1
    test = torch.rand(5, 1, 2, 2, generator=generator) * 2 - 1
    metric = ParzenWindow(valid, test)
    metric.update(images[:5])
    metric.update(images[5:])
    flat = lambda x: ((x + 1) / 2).reshape(len(x), -1)  # noqa: E731
    assert metric.compute() == pytest.approx(parzen_evaluation(flat(images), flat(valid), flat(test)))


def test_bad_input_raises():
    with pytest.raises(ValueError, match="sigma"):
        parzen_log_likelihood(torch.zeros(2, 3), torch.zeros(2, 3), 0.0)
    with pytest.raises(ValueError, match="equal d"):
        parzen_log_likelihood(torch.zeros(2, 3), torch.zeros(2, 4), 0.1)
