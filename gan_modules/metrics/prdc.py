"""Precision, recall, density and coverage of generated examples: k-nearest-neighbour manifolds.

For real vectors ``X_1..X_N`` and generated ``Y_1..Y_M``, with ``NND_k(x)`` the distance from ``x``
to its k-th nearest neighbour within its own set (itself excluded) and ``B(x, r)`` the open ball:

* **precision** [Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
  Generative Models", Sec. 2]: the fraction of the ``Y_j`` inside some real ball ``B(X_i, NND_k(X_i))``;
* **recall** [ibid.]: the fraction of the ``X_i`` inside some generated ball ``B(Y_j, NND_k(Y_j))``;
* **density** [Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models",
  Sec. 3.2]: ``1/(kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]``, the real balls holding a
  generated example, over ``k``: about 1 when both sets come from one distribution, above 1 when
  the samples crowd where the data are dense, so it is not bounded by 1;
* **coverage** [ibid.]: the fraction of the ``X_i`` whose ball ``B(X_i, NND_k(X_i))`` holds some ``Y_j``.

``k = 5``, Naeem et al.'s choice.  The open balls (strict ``<``) and the k-th neighbour counted as
the ``(k+1)``-th smallest distance (the point itself is the first) are those of the authors' code,
``prdc.compute_prdc`` (github.com/clovaai/generative-evaluation-prdc, ``prdc/prdc.py``; PyPI ``prdc``
0.2), which ``tests/test_metrics_prdc.py`` finds equal to :func:`prdc_from_features`.  Distances are
float64 ``torch.cdist`` (float32's matrix-product form would blur ties and the zero self-distances),
computed in row blocks of at most ``BLOCK_ELEMENTS`` so that memory stays bounded at any ``N``, ``M``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_gans.gan_modules.metrics.feature_sets import FeatureSets

#: Neighbours that set each ball's radius [Naeem et al. 2020].
NEAREST_K = 5
#: Distances held at once: 2**25 float64 = 256 MB.
BLOCK_ELEMENTS = 1 << 25


def row_blocks(n_rows: int, n_columns: int) -> list[tuple[int, int]]:
    """``[start, stop)`` blocks of ``n_rows`` rows, each with at most ``BLOCK_ELEMENTS`` entries over ``n_columns``."""
    step = max(1, BLOCK_ELEMENTS // max(n_columns, 1))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def nearest_neighbour_radii(features: Tensor, nearest_k: int = NEAREST_K) -> Tensor:
    """``NND_k`` of each row of ``features`` ``(N, D)``: its distance to its k-th nearest other row, ``(N,)``."""
    n = features.shape[0]
    if n <= nearest_k:
        raise ValueError(f"k-nearest-neighbour radii with k = {nearest_k} need more than {nearest_k} examples, got {n}")
    return torch.cat([torch.cdist(features[start:stop], features).kthvalue(nearest_k + 1, dim=1).values
                      for start, stop in row_blocks(n, n)])


def prdc_from_features(real: Tensor, fake: Tensor, nearest_k: int = NEAREST_K) -> dict[str, Tensor]:
    """Precision, recall, density and coverage (module docstring) of ``fake`` against ``real``.

    Args:
        real: ``(N, ...)`` real examples or features (each flattened to a vector), ``N > nearest_k``.
        fake: ``(M, ...)`` generated ones of the same size, ``M > nearest_k``; ``M`` may differ from ``N``.
        nearest_k: the ``k`` of the radii.

    Returns:
        ``{"precision", "recall", "density", "coverage"}``, float64 scalars.
    """
    real, fake = real.flatten(1).double(), fake.flatten(1).double()
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and generated vectors differ in size: {real.shape[1]} and {fake.shape[1]}")
    real_radii = nearest_neighbour_radii(real, nearest_k)
    fake_radii = nearest_neighbour_radii(fake, nearest_k)
    real_balls_holding = torch.zeros(fake.shape[0], dtype=torch.int64, device=fake.device)  # per Y_j
    recalled, covered = [], []
    for start, stop in row_blocks(real.shape[0], fake.shape[0]):
        distance = torch.cdist(real[start:stop], fake)  # (block, M)
        in_real_ball = distance < real_radii[start:stop, None]  # Y_j in B(X_i, NND_k(X_i))
        real_balls_holding += in_real_ball.sum(0)
        covered.append(in_real_ball.any(1))
        recalled.append((distance < fake_radii[None]).any(1))  # X_i in some B(Y_j, NND_k(Y_j))
    return {
        "precision": (real_balls_holding > 0).double().mean(),
        "recall": torch.cat(recalled).double().mean(),
        "density": real_balls_holding.double().mean() / nearest_k,
        "coverage": torch.cat(covered).double().mean(),
    }


class PRDC(FeatureSets):
    """:func:`prdc_from_features` of every real and generated vector fed so far, over all processes.

    ``update(x, real)`` takes raw examples (flattened) or extracted features; real ones survive
    ``reset()`` (:class:`FeatureSets`).  ``compute()`` returns ``{"precision", "recall", "density",
    "coverage"}``.
    """

    higher_is_better = True

    def __init__(self, nearest_k: int = NEAREST_K, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if nearest_k < 1:
            raise ValueError(f"nearest_k must be at least 1, got {nearest_k}")
        self.nearest_k = nearest_k

    def compute(self) -> dict[str, Tensor]:
        return prdc_from_features(self.real(), self.fake(), self.nearest_k)
