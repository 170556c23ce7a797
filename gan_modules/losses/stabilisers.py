"""The stabilising techniques' math: Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen 2016, "Improved
Techniques for Training GANs" (arXiv:1606.03498), Sec. 3; instance noise: Sønderby et al. 2016
(arXiv:1610.04490), Arjovsky & Bottou 2017.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor

from lightning_gans.gan_modules.losses.precision import at_least_float32


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. 2016, Sec. 3.1: ``||E_x f(x) - E_z f(G(z))||_2^2``, ``f`` an intermediate discriminator layer.

    The squared L2 norm is **summed** over the feature dims (the paper's norm), in float32.  The
    reference code uses the mean absolute difference instead [code: openai/improved-gan
    ``train_cifar_feature_matching.py``, ``loss_gen = T.mean(abs(m1-m2))``].
    """
    if real_features.dim() != 2 or real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(
            "feature batches must be (B, F) with the same F, got "
            f"{tuple(real_features.shape)} and {tuple(fake_features.shape)}"
        )
    gap = at_least_float32(real_features).mean(0) - at_least_float32(fake_features).mean(0)
    return (gap**2).sum()


def instance_noise_std(step: int, initial: float, anneal_steps: int) -> float:
    """Standard deviation of instance noise after ``step`` steps: ``initial * max(0, 1 - step / anneal_steps)``.

    Linear annealing to 0: Sønderby et al. 2016 anneal their instance noise to 0 during training;
    Arjovsky & Bottou 2017 (Sec. 4) motivate the noise (it makes the supports of the real and fake
    distributions overlap).  ``anneal_steps = 0`` keeps the noise constant at ``initial``.
    """
    if initial < 0 or anneal_steps < 0 or step < 0:
        raise ValueError(
            f"initial, anneal_steps and step must be non-negative, got {initial}, {anneal_steps} and {step}"
        )
    if anneal_steps == 0:
        return float(initial)
    return float(initial) * max(0.0, 1.0 - step / anneal_steps)


def historical_averaging_penalty(params: Sequence[Tensor], averages: Sequence[Tensor]) -> Tensor:
    """Salimans et al. 2016, Sec. 3.3: ``||theta - (1/t) sum_{i=1}^t theta[i]||^2`` over all of a player's parameters.

    ``averages`` are the running means, treated as constants (detached); the weight is applied by
    the caller.  Float32 (or float64) scalar, differentiable in ``params``.
    """
    params, averages = list(params), list(averages)
    if len(params) != len(averages) or any(p.shape != a.shape for p, a in zip(params, averages)):
        raise ValueError("params and averages must be sequences of tensors with matching shapes")
    if not params:
        raise ValueError("historical averaging needs at least one parameter")
    return sum(((at_least_float32(p) - a.detach()) ** 2).sum() for p, a in zip(params, averages))
