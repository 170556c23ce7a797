"""Unbiased MMD^2 with KID's polynomial kernel, on any vectors (e.g. raw examples, flattened).

``MMD^2_u = 1/(N(N-1)) sum_{i != i'} k(x_i, x_i') + 1/(M(M-1)) sum_{j != j'} k(y_j, y_j')
- 2/(NM) sum_{i, j} k(x_i, y_j)`` [Gretton et al. 2012, "A Kernel Two-Sample Test", Lemma 6], with
``k(x, y) = (gamma x.y + coef)^degree``, ``gamma = 1/D``, ``coef = 1``, ``degree = 3``: the
estimator and kernel of KID [Binkowski et al. 2018, "Demystifying MMD GANs", Sec. 3] on every
example at once (no random subsets, so no subset std).  With ``N = M`` it equals torchmetrics'
``KernelInceptionDistance`` with one subset holding every example (``tests/test_metrics_prdc.py``).
Unbiased: it can be slightly negative when both sets come from one distribution.  The kernel sees
the raw scale of the data, so values compare runs on the same data only.  Sums in float64, in row
blocks (``prdc.BLOCK_ELEMENTS``).
"""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from lightning_gans.gan_modules.metrics.feature_sets import FeatureSets
from lightning_gans.gan_modules.metrics.prdc import row_blocks


def polynomial_kernel_sum(x: Tensor, y: Tensor, degree: int, gamma: float, coef: float) -> Tensor:
    """``sum_{i, j} (gamma x_i.y_j + coef)^degree`` over the rows of ``x`` ``(N, D)`` and ``y`` ``(M, D)``."""
    return sum(((x[start:stop] @ y.T) * gamma + coef).pow(degree).sum()
               for start, stop in row_blocks(x.shape[0], y.shape[0]))


def mmd2_unbiased(real: Tensor, fake: Tensor, degree: int = 3, gamma: Optional[float] = None,
                  coef: float = 1.0) -> Tensor:
    """The unbiased MMD^2 (module docstring) of ``real`` ``(N, ...)`` and ``fake`` ``(M, ...)``, each
    flattened to vectors, ``N, M >= 2``; ``gamma`` defaults to ``1/D``.  A float64 scalar."""
    real, fake = real.flatten(1).double(), fake.flatten(1).double()
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and generated vectors differ in size: {real.shape[1]} and {fake.shape[1]}")
    n, m = real.shape[0], fake.shape[0]
    if min(n, m) < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 real and 2 generated examples, got {n} and {m}")
    gamma = 1.0 / real.shape[1] if gamma is None else gamma

    def within(x: Tensor) -> Tensor:  # sum over i != i'
        diagonal = (x.pow(2).sum(1) * gamma + coef).pow(degree).sum()
        return (polynomial_kernel_sum(x, x, degree, gamma, coef) - diagonal) / (len(x) * (len(x) - 1))

    return within(real) + within(fake) - 2 * polynomial_kernel_sum(real, fake, degree, gamma, coef) / (n * m)


class PolynomialMMD(FeatureSets):
    """:func:`mmd2_unbiased` of every real and generated vector fed so far, over all processes.

    ``update(x, real)`` as :class:`~lightning_gans.gan_modules.metrics.feature_sets.FeatureSets`;
    ``compute()`` returns ``{"mmd2": ...}``.
    """

    higher_is_better = False

    def __init__(self, degree: int = 3, gamma: Optional[float] = None, coef: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.degree, self.gamma, self.coef = degree, gamma, coef

    def compute(self) -> dict[str, Tensor]:
        return {"mmd2": mmd2_unbiased(self.real(), self.fake(), self.degree, self.gamma, self.coef)}
