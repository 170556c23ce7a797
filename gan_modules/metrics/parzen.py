"""Gaussian Parzen-window log-likelihood, Goodfellow et al. 2014, Table 1 protocol -- a LEGACY metric.

The estimator is known to be unreliable in high dimension (the paper calls it "somewhat high
variance"); it is here to reproduce that table's protocol, not to rank models.  Its values are very
sensitive to the pixel scale (here [0, 1], as pylearn2's MNIST in the paper) and to the sigma grid.

Estimator [code: goodfeli/adversarial ``parzen_ll.py``, ``theano_parzen``]::

    log p(x) = logmeanexp_i( -||x - mu_i||^2 / (2 sigma^2) ) - d log(sigma sqrt(2 pi))

with ``mu_i`` the generated samples.  Sigma is the argmax of the mean validation log-likelihood over
``numpy.logspace(-1, 0, 10)`` [code: ``parzen_ll.py`` ``main()``]; the reported error is the
standard error of the mean over test examples, ``std(ll) / sqrt(N_test)`` [paper, Table 1 caption].
The reference code uses 10,000 generated samples and a 1,000-example validation set.
Test points and samples are processed in batches with a stable log-sum-exp, so the
``N_test x N_samples x d`` tensor is never built.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from lightning_gans.gan_modules.metrics.images import to_unit_interval

#: ``numpy.logspace(-1, 0, num=10)`` [code: goodfeli/adversarial ``parzen_ll.py``].
SIGMA_GRID = tuple(float(s) for s in torch.logspace(-1, 0, 10, dtype=torch.float64))


def parzen_log_likelihood(points: Tensor, samples: Tensor, sigma: float, batch_size: int = 256) -> Tensor:
    """Per-point log-likelihood ``(N,)`` of ``points`` (N, d) under the Parzen window on ``samples`` (M, d)."""
    if points.ndim != 2 or samples.ndim != 2 or points.shape[1] != samples.shape[1]:
        raise ValueError(f"points (N, d) and samples (M, d) must be flat with equal d, got "
                         f"{tuple(points.shape)} and {tuple(samples.shape)}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if samples.shape[0] == 0:
        raise ValueError("the Parzen window needs at least one sample")
    samples = samples.double()
    samples_sq = (samples**2).sum(1)
    d = samples.shape[1]
    out = []
    for chunk in points.double().split(batch_size):
        # ||x - mu||^2 = ||x||^2 + ||mu||^2 - 2 x.mu, in float64, clamped at 0 against round-off
        sq = ((chunk**2).sum(1, keepdim=True) + samples_sq[None] - 2 * chunk @ samples.T).clamp_min(0)
        out.append(torch.logsumexp(-sq / (2 * sigma**2), dim=1) - math.log(samples.shape[0]))
    return torch.cat(out) - d * math.log(sigma * math.sqrt(2 * math.pi))


def select_sigma(validation: Tensor, samples: Tensor, sigmas=SIGMA_GRID, batch_size: int = 256) -> tuple[float, Tensor]:
    """The sigma of ``sigmas`` with the highest mean validation log-likelihood, and all the means."""
    means = torch.stack([parzen_log_likelihood(validation, samples, s, batch_size).mean() for s in sigmas])
    return float(sigmas[int(means.argmax())]), means


def parzen_evaluation(
    samples: Tensor, validation: Tensor, test: Tensor, sigmas=SIGMA_GRID, batch_size: int = 256
) -> dict[str, float]:
    """Table 1 protocol on flat ``(N, d)`` tensors already on the [0, 1] pixel scale.

    Returns ``{"log_likelihood": mean test LL, "standard_error": std/sqrt(N_test), "sigma": chosen}``.
    """
    sigma, _ = select_sigma(validation, samples, sigmas, batch_size)
    ll = parzen_log_likelihood(test, samples, sigma, batch_size)
    return {
        "log_likelihood": float(ll.mean()),
        "standard_error": float(ll.std() / math.sqrt(ll.numel())) if ll.numel() > 1 else math.nan,
        "sigma": sigma,
    }


class ParzenWindow(Metric):
    """:func:`parzen_evaluation` of generated data as a torchmetrics ``Metric`` (LEGACY, see module doc).

    ``update(samples)`` takes generated images in ``[-1, 1]`` (mapped to [0, 1]) or flat vectors (used
    as they are); all processes' samples are gathered before ``compute()``.

    Args:
        validation: real examples that choose sigma, in the generator's data space.
        test: real examples that are scored, in the generator's data space.
        sigmas: the bandwidth grid (default ``logspace(-1, 0, 10)``, the reference code's).
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, validation: Tensor, test: Tensor, sigmas=SIGMA_GRID, batch_size: int = 256, **kwargs) -> None:
        super().__init__(**kwargs)
        if len(validation) == 0 or len(test) == 0:
            raise ValueError("ParzenWindow needs non-empty validation and test sets")
        self.register_buffer("validation", self._flat(validation), persistent=False)
        self.register_buffer("test", self._flat(test), persistent=False)
        self.sigmas = tuple(float(s) for s in sigmas)
        self.batch_size = batch_size
        self.add_state("samples", default=[], dist_reduce_fx="cat")

    @staticmethod
    def _flat(x: Tensor) -> Tensor:
        x = to_unit_interval(x) if x.ndim == 4 else x.float()
        return x.reshape(x.shape[0], -1)

    def update(self, samples: Tensor) -> None:
        self.samples.append(self._flat(samples.detach()))

    def compute(self) -> dict[str, float]:
        return parzen_evaluation(dim_zero_cat(self.samples), self.validation, self.test, self.sigmas, self.batch_size)
