"""AdaGAN's data weights: pure functions of the mixture classifier's outputs.

Tolstikhin, Gelly, Bousquet, Simon-Gabriel, Schoelkopf 2017, "AdaGAN: Boosting Generative Models"
(arXiv:1701.02386), Sec. 3.1 [code: tolstikhin/adagan ``adagan.py``, ``AdaGan._update_data_weights``
and ``_compute_data_weights_*``].  Given ``h_i``, an estimate of ``dP_model/dP_data`` at the training
point ``X_i`` (:func:`density_ratios`), and the weight ``beta`` the next mixture component will get,

* ``"theory_star"``: ``w_i = (lambda* - (1 - beta) h_i)_+ / (beta N)`` with ``lambda*`` such that
  ``sum_i w_i = 1`` (:func:`theory_star_lambda`, :func:`theory_star_weights`).  With true ratios
  the reweighted data is the paper's optimal next component
  ``Q* = (lambda* P_data - (1 - beta) P_model)_+ / beta``;
* ``"topk"``: uniform over the ``fraction`` of points with the smallest ``h`` (the points the mixture
  covers worst) (:func:`topk_weights`);
* ``"uniform"``: ``1/N`` each, no classifier: bagging [code: ``is_bagging``] (:func:`uniform_weights`).

:func:`classifier_data_weights` applies a rule to the classifier's probabilities.

All weight vectors returned are float64, non-negative and sum to 1.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal, Optional

import torch
from torch import Tensor

#: The denominator guard of ``h = (1 - p) / (p + 1e-8)`` [code: ``_update_data_weights``].
RATIO_EPS = 1e-8
#: Fraction of points kept by the "topk" rule [code: ``topk_constant``, default 0.5 in the scripts].
TOPK_FRACTION = 0.5
#: The data-weight rules (module docstring).
WEIGHT_RULES = ("theory_star", "topk", "uniform")


def _check_ratios(ratios: Tensor) -> Tensor:
    ratios = torch.as_tensor(ratios).detach().to("cpu", torch.float64)
    if ratios.ndim != 1 or ratios.numel() == 0:
        raise ValueError(f"ratios must be a non-empty 1-D tensor, got shape {tuple(ratios.shape)}")
    if not torch.isfinite(ratios).all() or (ratios < 0).any():
        raise ValueError("density ratios must be finite and non-negative")
    return ratios


def _check_beta(beta: float) -> float:
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must lie in (0, 1], got {beta}")
    return float(beta)


def density_ratios(prob_real: Tensor, eps: float = RATIO_EPS) -> Tensor:
    """``h = (1 - p) / (p + eps)``: the classifier's estimate of ``dP_model/dP_data`` (float64).

    ``p = sigmoid(C(x))`` is the mixture classifier's probability that ``x`` is real; for the optimal
    classifier ``(1 - D)/D = p_model/p_data`` [paper, around eq. (16)].  ``p`` is clamped into
    ``[0, 1]`` so that ``h`` is finite and non-negative.
    """
    p = torch.as_tensor(prob_real).detach().to("cpu", torch.float64).clamp(0.0, 1.0)
    return (1.0 - p) / (p + eps)


def theory_star_lambda(ratios: Tensor, beta: float) -> Optional[float]:
    """``lambda*`` of the "theory_star" weights, or ``None`` when the search finds none.

    The exact search of the reference code [``_compute_data_weights_theory_star``; paper eq. (18)]:
    sort ``d_1 <= ... <= d_N``, ``S_k = d_1 + ... + d_k``, ``lambda_k = (beta N + (1 - beta) S_k) / k``
    and accept the first ``k`` with ``(1 - beta) d_k <= lambda_k <= (1 - beta) d_{k+1}`` (for
    ``k = N``: ``lambda_N >= (1 - beta) d_N``).  ``lambda_k`` is the value for which the ``k`` smallest
    ratios get ``sum_i (lambda - (1 - beta) d_i) / (beta N) = 1``.
    """
    ratios, beta = _check_ratios(ratios), _check_beta(beta)
    n = ratios.numel()
    d = torch.sort(ratios).values
    k = torch.arange(1, n + 1, dtype=torch.float64)
    lambdas = (beta * n + (1.0 - beta) * torch.cumsum(d, 0)) / k
    above_current = lambdas >= (1.0 - beta) * d
    below_next = torch.ones(n, dtype=torch.bool)
    below_next[:-1] = lambdas[:-1] <= (1.0 - beta) * d[1:]
    accepted = torch.nonzero(above_current & below_next)
    if accepted.numel() == 0:
        return None
    return float(lambdas[accepted[0, 0]])


def theory_star_weights(ratios: Tensor, beta: float) -> tuple[Tensor, Optional[float]]:
    """The "theory_star" data weights and ``lambda*`` (``None`` when the search failed).

    ``w_i = (lambda* - (1 - beta) h_i)_+ / (beta N)``, then renormalised (``h`` is an estimate, so the
    sum need not be exactly 1 [code comment]).  When no ``lambda*`` is found the weights fall back to
    uniform with a warning, as the reference code does.
    """
    ratios, beta = _check_ratios(ratios), _check_beta(beta)
    n = ratios.numel()
    lam = theory_star_lambda(ratios, beta)
    if lam is None:
        warnings.warn("AdaGAN: the lambda* search found no solution; using uniform data weights", RuntimeWarning)
        return uniform_weights(n), None
    weights = (lam - (1.0 - beta) * ratios).clamp_min(0.0) / (beta * n)
    return weights / weights.sum(), lam


def topk_weights(ratios: Tensor, fraction: float = TOPK_FRACTION) -> Tensor:
    """Uniform weights on the points whose ratio is at most the ``fraction``-quantile of the ratios.

    As the reference code [``_compute_data_weights_topk``]: threshold ``np.percentile(h,
    100 * fraction)`` (linear interpolation, as ``torch.quantile``), keep ``h <= threshold`` (ties
    included), uniform over the kept points.
    """
    ratios = _check_ratios(ratios)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    threshold = torch.quantile(ratios, fraction)
    mask = ratios <= threshold
    return mask.to(torch.float64) / mask.sum()


def uniform_weights(n: int) -> Tensor:
    """``1/n`` each: the data weights of bagging (``is_bagging`` in the reference code)."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    return torch.full((n,), 1.0 / n, dtype=torch.float64)


def classifier_data_weights(prob_real: Tensor, rule: Literal["theory_star", "topk"], beta: float,
                            topk_fraction: float = TOPK_FRACTION) -> tuple[Tensor, dict[str, float]]:
    """The next component's data weights from the mixture classifier's ``p = sigmoid(C(x))`` on the data.

    ``p`` becomes ratios :func:`density_ratios`, then weights by ``rule`` (``beta``: the weight the
    next component will get).  Also returns what to log: ``classifier_real_accuracy`` (fraction of
    the data with ``p > 0.5``) and, for ``"theory_star"``, ``lambda_star`` (NaN when the search failed).
    """
    info = {"classifier_real_accuracy": float((torch.as_tensor(prob_real) > 0.5).double().mean())}
    ratios = density_ratios(prob_real)
    if rule == "topk":
        return topk_weights(ratios, topk_fraction), info
    if rule == "theory_star":
        weights, lam = theory_star_weights(ratios, beta)
        return weights, {**info, "lambda_star": math.nan if lam is None else lam}
    raise ValueError(f"the classifier's weights follow 'theory_star' or 'topk', got {rule!r}")


def _check_weights(weights: Tensor) -> Tensor:
    weights = torch.as_tensor(weights).detach().to("cpu", torch.float64)
    if weights.ndim != 1 or weights.numel() == 0 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-D tensor, non-negative with a positive sum")
    return weights / weights.sum()


def effective_sample_size(weights: Tensor) -> float:
    """Kish's effective sample size ``1 / sum_i w_i^2`` of the normalised weights, in ``[1, N]``.

    Logged because theory_star weights can concentrate on a handful of points (with ``beta`` small,
    ``lambda*`` keeps only the points the mixture covers worst).
    """
    weights = _check_weights(weights)
    return float(1.0 / (weights**2).sum())


def zero_weight_fraction(weights: Tensor) -> float:
    """Fraction of points with weight exactly 0 (the reference code's "deleted points")."""
    weights = _check_weights(weights)
    return float((weights == 0).double().mean())


def weight_summary(weights: Tensor) -> dict[str, float]:
    """``ess``, ``ess_fraction`` (ESS / N) and ``zero_weight_fraction`` of a weight vector."""
    ess = effective_sample_size(weights)
    return {"ess": ess, "ess_fraction": ess / len(weights), "zero_weight_fraction": zero_weight_fraction(weights)}


def next_mixture_weight(components: int, beta: str | float) -> float:
    """``beta_t`` of the component that follows ``components`` trained ones [code: ``_next_mixture_weight``].

    The first component gets 1; then ``"uniform"`` gives ``1 / (components + 1)`` (a uniform final
    mixture), a float gives that constant (the scripts' ``beta_constant`` default is 0.5).
    """
    if components < 0:
        raise ValueError(f"components must be non-negative, got {components}")
    if components == 0:
        return 1.0
    if beta == "uniform":
        return 1.0 / (components + 1)
    if isinstance(beta, (str, bool)) or not (isinstance(beta, (int, float)) and 0.0 < beta < 1.0):
        raise ValueError(f"beta must be 'uniform' or a constant in (0, 1), got {beta!r}")
    return float(beta)
