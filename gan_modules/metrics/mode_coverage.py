"""Mode coverage of samples from a 2-D Gaussian mixture (VEEGAN / PacGAN protocol).

Definition [Srivastava et al. 2017, VEEGAN, Sec. 5.1; code: PacGAN ``pacgan/extensions.py``,
``MetricLogger``, which follows VEEGAN's protocol]:

* each sample is assigned to the nearest mode by the standardised distance
  ``sqrt(sum_d (x_d - mu_kd)^2 / sigma_kd^2)``;
* it is **high-quality** if that distance is below ``threshold`` (default 3, "within three standard
  deviations" [VEEGAN Sec. 5.1]);
* a mode is **captured** if at least ``min_per_mode`` high-quality samples are assigned to it (default
  1, as in the PacGAN code; some later papers require more);
* the histogram of high-quality samples over modes is compared with the uniform distribution:
  ``KL(p || U)``, the reverse KL of PacGAN's Table 1 (Lin et al. 2018, Sec. 5.1: generated mode
  distribution first) -- the toy mixtures are uniform over modes.

A stricter view beside PacGAN's: with one sample enough to capture a mode, a generator that blurs
over the whole square "captures" every mode -- 2,500 samples uniform on the grid's square
``[-5, 5]^2`` put ``25 * pi * (3 * 0.05)^2 / 100`` = 1.8 % of themselves within 3 std of some mode,
about 1.8 a mode (Poisson), so about ``25 * (1 - exp(-1.8))`` = 21 of the 25 modes count as captured.  ``modes_captured_strict`` therefore
also counts the modes holding at least ``strict_min_per_mode`` (default 10) high-quality samples;
a mode of the 25-mode grid holds 100 of 2,500 samples on average, so a learned mode passes easily
and a blur fails.

VEEGAN/PacGAN draw 2,500 generator samples; that number is chosen by the caller (see
:class:`lightning_gans.callbacks.evaluation.Evaluation`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric

STRICT_MIN_PER_MODE = 10  # high-quality samples a mode needs in the strict count (module docstring)


def _as_std(std: float | Tensor, centres: Tensor) -> Tensor:
    """Broadcast ``std`` (scalar, per mode ``(K,)`` or per mode and axis ``(K, D)``) to ``(K, D)``."""
    std = torch.as_tensor(std, dtype=centres.dtype, device=centres.device)
    if std.ndim == 1 and std.shape[0] == centres.shape[0]:
        std = std[:, None]
    if std.ndim > 2 or (std.ndim >= 1 and std.shape != centres.shape and std.shape != (centres.shape[0], 1)):
        raise ValueError(
            f"std must be a scalar, (K,) or (K, D) for centres {tuple(centres.shape)}, got {tuple(std.shape)}"
        )
    std = std.expand_as(centres)
    if not bool((std > 0).all()):
        raise ValueError("std must be positive")
    return std


def _check_centres(centres: Tensor) -> None:
    if centres.ndim != 2 or centres.shape[0] < 1:
        raise ValueError(f"centres must be a non-empty (K, D) tensor, got shape {tuple(centres.shape)}")


def _check(samples: Tensor, centres: Tensor) -> None:
    _check_centres(centres)
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples must be (N, {centres.shape[1]}) like the centres, got shape {tuple(samples.shape)}")


def assign_modes(samples: Tensor, centres: Tensor, std: float | Tensor) -> tuple[Tensor, Tensor]:
    """Nearest mode of each sample by standardised distance, and that distance.

    Returns ``(mode_index (N,) int64, distance (N,))``.
    """
    _check(samples, centres)
    centres = centres.to(samples)
    std = _as_std(std, centres)
    # (N, K): sqrt(sum_d ((x_d - mu_kd) / sigma_kd)^2)
    distance = (((samples[:, None, :] - centres[None]) / std[None]) ** 2).sum(-1).sqrt()
    nearest, index = distance.min(dim=1)
    return index, nearest


def high_quality_counts(samples: Tensor, centres: Tensor, std: float | Tensor, threshold: float = 3.0) -> Tensor:
    """Number of high-quality samples (distance < ``threshold``) assigned to each mode, ``(K,)`` int64."""
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    index, distance = assign_modes(samples, centres, std)
    return torch.bincount(index[distance < threshold], minlength=centres.shape[0])


def kl_to_uniform(counts: Tensor) -> float:
    """``KL(p || U_K) = sum_k p_k log(K p_k)`` of the histogram ``counts`` (K,); ``nan`` when empty.

    0 when every bin holds the same share, ``log K`` when everything sits in one bin.
    """
    counts = counts.detach().to("cpu", torch.float64)
    n = float(counts.sum())
    if n <= 0:
        return math.nan
    p = counts[counts > 0] / n
    return float((p * torch.log(p * counts.numel())).sum())


def _check_min_per_mode(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def statistics_from_counts(
    counts: Tensor, total: int | Tensor, min_per_mode: int = 1, strict_min_per_mode: int = STRICT_MIN_PER_MODE
) -> dict:
    """Mode statistics from per-mode high-quality counts and the total number of samples.

    ``modes_captured`` counts the modes with at least ``min_per_mode`` high-quality samples,
    ``modes_captured_strict`` those with at least ``strict_min_per_mode`` (module docstring);
    ``kl_to_uniform`` is :func:`kl_to_uniform` of the high-quality histogram (``nan`` when there is no
    high-quality sample at all).
    """
    _check_min_per_mode(min_per_mode=min_per_mode, strict_min_per_mode=strict_min_per_mode)
    counts = counts.detach().to("cpu", torch.int64)
    total = int(total)
    if total <= 0:
        raise ValueError("no samples were counted")
    return {
        "modes_captured": int((counts >= min_per_mode).sum()),
        "modes_captured_strict": int((counts >= strict_min_per_mode).sum()),
        "high_quality_fraction": int(counts.sum()) / total,
        "kl_to_uniform": kl_to_uniform(counts),
        "counts": counts,
        "n_samples": total,
    }


def mode_statistics(
    samples: Tensor, centres: Tensor, std: float | Tensor, threshold: float = 3.0, min_per_mode: int = 1,
    strict_min_per_mode: int = STRICT_MIN_PER_MODE,
) -> dict:
    """VEEGAN/PacGAN mode statistics of ``samples`` (N, D) against a mixture with ``centres`` (K, D).

    Returns a dict with ``modes_captured`` (int), ``modes_captured_strict`` (int, modes with at least
    ``strict_min_per_mode`` high-quality samples), ``high_quality_fraction`` (float in [0, 1]),
    ``kl_to_uniform`` (float, see :func:`statistics_from_counts`), ``counts`` ((K,) int64 high-quality
    samples per mode) and ``n_samples``.  Defaults ``threshold=3`` and ``min_per_mode=1`` are VEEGAN's
    and PacGAN's (module docstring).
    """
    counts = high_quality_counts(samples, centres, std, threshold)
    return statistics_from_counts(counts, samples.shape[0], min_per_mode, strict_min_per_mode)


class ModeCoverage(Metric):
    """:func:`mode_statistics` as a torchmetrics ``Metric``, exact across processes.

    The state is the per-mode high-quality counts and the number of samples, both sum-reduced, so a
    DDP run counts every sample of every rank exactly once.  ``compute()`` returns the dict of
    :func:`mode_statistics`.

    Args:
        centres: (K, D) mode centres (``RingOfGaussians.centres``).
        std: mode standard deviation: scalar, (K,) or (K, D).
        threshold: high-quality distance in standard deviations (default 3 [VEEGAN Sec. 5.1]).
        min_per_mode: high-quality samples needed to count a mode as captured (default 1 [PacGAN code]).
        strict_min_per_mode: the same for ``modes_captured_strict`` (default 10, module docstring).
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, centres: Tensor, std: float | Tensor, threshold: float = 3.0, min_per_mode: int = 1,
                 strict_min_per_mode: int = STRICT_MIN_PER_MODE, **kwargs):
        super().__init__(**kwargs)
        centres = torch.as_tensor(centres, dtype=torch.float32)
        _check_centres(centres)
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        _check_min_per_mode(min_per_mode=min_per_mode, strict_min_per_mode=strict_min_per_mode)
        self.register_buffer("centres", centres, persistent=False)
        self.register_buffer("std", _as_std(std, centres).clone(), persistent=False)
        self.threshold = float(threshold)
        self.min_per_mode = int(min_per_mode)
        self.strict_min_per_mode = int(strict_min_per_mode)
        self.add_state("counts", default=torch.zeros(centres.shape[0], dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        samples = samples.detach().reshape(samples.shape[0], -1).float()
        self.counts += high_quality_counts(samples, self.centres, self.std, self.threshold).to(self.counts)
        self.total += samples.shape[0]

    def compute(self) -> dict:
        return statistics_from_counts(self.counts, self.total, self.min_per_mode, self.strict_min_per_mode)
