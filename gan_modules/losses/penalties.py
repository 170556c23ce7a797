"""Gradient penalties: where the discriminator's input gradient is taken (interpolates, DRAGAN's points, the
reals for R1, the fakes for R2), its norm under mixed precision, and the penalties built from them.

Every penalty has one signature, ``penalty(discriminator, real, fake, scaler=None) -> Tensor``, so that any
method composes it with any loss (compare_gan: ``d_loss += lambda * penalty_lib.get_penalty_loss(...)``);
:data:`PENALTIES` is the registry of names, and a user's function is named by its dotted path.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from lightning_gans.gan_modules.losses.precision import at_least_float32


# ---------------------------------------------------------------------------------- penalty points
def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    """Reshape ``(B,)`` to ``(B, 1, ..., 1)`` so it broadcasts over every non-batch dim of ``like``."""
    return values.view(like.size(0), *([1] * (like.dim() - 1)))


def interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """Gulrajani et al. 2017, Algorithm 1, lines 5-7: ``eps*x + (1-eps)*x~``, one ``eps ~ U[0,1]`` per sample.

    Both inputs are detached: the penalty differentiates with respect to the points only.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    real, fake = real.detach(), fake.detach()
    dtype = torch.promote_types(real.dtype, fake.dtype)
    eps = _per_sample(torch.rand(real.size(0), device=real.device, dtype=dtype), real)
    return eps * real + (1 - eps) * fake


DRAGAN_PERTURBATIONS = ("dragan_code", "gaussian")


def dragan_perturbation(real: Tensor, form: str = "dragan_code", c: float = 0.5) -> Tensor:
    """Points near the data at which DRAGAN (Kodali et al. 2017) penalises the gradient.

    ``std`` is ONE scalar: the standard deviation of the whole minibatch tensor, as in the reference
    code (per rank under DDP; not all-reduced).

    * ``"dragan_code"`` [code: ``DRAGAN.ipynb``]: ``x_p = x + c*std*U[0,1)`` (one-sided noise, per
      element), then ``x_hat = x + alpha*(x_p - x)`` with one ``alpha ~ U[0,1]`` per sample.
    * ``"gaussian"`` [DRAGAN paper's ``x + delta``, form and scale unverified]: ``x + c*std*N(0, I)``,
      no interpolation.
    """
    if form not in DRAGAN_PERTURBATIONS:
        raise ValueError(f"form must be one of {DRAGAN_PERTURBATIONS}, got {form!r}")
    if c < 0:
        raise ValueError(f"the perturbation scale c must be non-negative, got {c}")
    real = real.detach()
    scale = c * real.std()
    if form == "gaussian":
        return real + scale * torch.randn_like(real)
    perturbed = real + scale * torch.rand_like(real)
    alpha = _per_sample(torch.rand(real.size(0), device=real.device, dtype=real.dtype), real)
    return real + alpha * (perturbed - real)


# ---------------------------------------------------------------------------------- gradient penalty
def input_gradients(
    discriminator: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``grad_x f(x)`` at each of ``points``, unscaled, in float32 (or float64), with graph.

    The gradient is taken of ``f(points).sum()`` (not ``.mean()``, which would divide every
    gradient by B) with ``create_graph=True``, so a penalty on it has a gradient with respect to
    the discriminator's weights (Gulrajani et al. 2017, Sec. 4; reference ``gan_toy.py``; StyleGAN2's R1:
    ``autograd.grad(outputs=[real_logits.sum()], ..., create_graph=True)``).

    With an fp16 ``GradScaler`` this follows PyTorch's AMP recipe "gradient penalty": the scaled
    output (``scaler.scale(sum) / B``, see the comment below) goes into ``autograd.grad`` (an
    unscaled fp16 backward can underflow), and the result is unscaled (times ``B / scaler.get_scale()``)
    in float32 outside autocast, so the caller only ever sees unscaled values; an overflow gives an
    inf penalty, and the scaler then skips the step.  Under bf16 autocast the gradient is float32 as well.
    Gradients are enabled inside, so this works under ``torch.no_grad()`` too.  Callers reduce it
    under ``torch.autocast(enabled=False)`` (:func:`gradient_norms`, :func:`zero_centred_penalty`).
    """
    batch = points.size(0)
    with torch.enable_grad():  # also inside no_grad (e.g. validation): the penalty needs a gradient
        points = points.detach().requires_grad_(True)
        output = at_least_float32(discriminator(points)).sum()
        if scaler is not None:
            # Scaled like the batch-mean loss the penalty joins: each sample's score gets the
            # gradient scale / B.  ``scale * sum`` would hand each fp16 score the gradient ``scale``,
            # which overflows fp16 (max 65504) at GradScaler's initial scale 2**16.
            output = scaler.scale(output) / batch
        (grad,) = torch.autograd.grad(output, points, create_graph=True)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        grad = at_least_float32(grad)
        if scaler is not None:
            grad = grad * (batch / scaler.get_scale())
        return grad


def gradient_norms(
    discriminator: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``||grad_x f(x)||_2`` for each sample, over all non-batch dims, in float32 (or float64), with graph.

    Reference ``gan_toy.py``: ``slopes = sqrt(sum(grad**2, axis=1))``.  The gradients and the
    ``scaler`` handling are :func:`input_gradients`'; the norm is taken in float32 outside autocast.
    """
    grad = input_gradients(discriminator, points, scaler)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(
    discriminator: Callable[[Tensor], Tensor],
    points: Tensor,
    scaler: Optional[torch.amp.GradScaler] = None,
    one_sided: bool = False,
    target: float = 1.0,
) -> Tensor:
    """``E[(||grad f(x_hat)||_2 - target)^2]`` over ``points`` (float32 scalar, differentiable in the discriminator).

    Gulrajani et al. 2017, eq. 3 (two-sided, ``target = 1``); ``one_sided=True`` is
    ``E[max(0, ||grad|| - target)^2]`` (their Sec. 4 "Two-sided penalty" and appendix).  What the
    points are makes the method: :func:`interpolates` (WGAN-GP, GAN-GP) or
    :func:`dragan_perturbation` (DRAGAN).  ``discriminator`` is any callable returning one score per
    sample; ``scaler``: see :func:`input_gradients`.  The weight ``lambda`` is applied by the caller.
    """
    gap = gradient_norms(discriminator, points, scaler) - target
    if one_sided:
        gap = gap.clamp(min=0)
    return (gap**2).mean()


def zero_centred_penalty(
    discriminator: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``(1/2) E[||grad f(x)||_2^2]`` over ``points`` (float32 scalar, differentiable in the discriminator).

    Mescheder, Geiger, Nowozin 2018, "Which Training Methods for GANs do actually Converge?"
    (arXiv:1801.04406), eqs. 9-10 without ``gamma``: the squared norm is summed over all non-batch
    dims (StyleGAN2 reference code: ``r1_grads.square().sum([1,2,3])``), never through a square
    root, whose gradient is undefined where the gradient vanishes.  The factor 1/2 is the paper's:
    with it the caller's weight is ``gamma`` (StyleGAN2 code: ``r1_penalty * (r1_gamma / 2)``).  The
    authors' code weighs ``E||grad||^2`` by ``reg_param`` instead, so its ``reg_param`` is ``gamma/2``
    [code: LMescheder/GAN_stability ``gan_training/train.py``, ``reg_param * compute_grad2(...).mean()``].
    """
    grad = input_gradients(discriminator, points, scaler)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        return 0.5 * grad.flatten(1).square().sum(1).mean()


# ---------------------------------------------------------------------------------- penalties
# Every penalty has ONE signature, ``penalty(discriminator, real, fake, scaler=None) -> Tensor`` (unweighted,
# float32 scalar, differentiable in the discriminator), so that any method composes it with any loss
# (compare_gan: ``d_loss += lambda * penalty_lib.get_penalty_loss(...)``).  ``real`` and ``fake`` are
# the discriminator's inputs of the step; the method applies the weight.  Each is a per-sample
# gradient norm, so the discriminator must score every sample on its own
# (:func:`~lightning_gans.gan_modules.networks.batch_coupling.reject_batch_coupled_discriminator`).
def interpolate_penalty(
    discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017, eq. 3): :func:`gradient_penalty` at :func:`interpolates`."""
    return gradient_penalty(discriminator, interpolates(real, fake), scaler=scaler)


def dragan_penalty(
    discriminator: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    scaler: Optional[torch.amp.GradScaler] = None,
    *,
    perturbation: str = "dragan_code",
    scale: float = 0.5,
) -> Tensor:
    """DRAGAN's penalty (Kodali et al. 2017): :func:`gradient_penalty` near the real data only; ``fake`` is unused.

    ``perturbation`` and ``scale`` are :func:`dragan_perturbation`'s ``form`` and ``c`` (the
    reference code's form and 0.5 by default); methods bind them by keyword.
    """
    return gradient_penalty(discriminator, dragan_perturbation(real, perturbation, scale), scaler=scaler)


def r1_penalty(
    discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """R1 (Mescheder et al. 2018, eq. 9): ``(1/2) E_{x ~ p_data}[||grad D(x)||^2]``, at the reals; ``fake`` is unused.

    Times the weight ``gamma`` it is the paper's ``gamma/2 E||grad D(x)||^2`` (:func:`zero_centred_penalty`).
    """
    return zero_centred_penalty(discriminator, real, scaler)


def r2_penalty(
    discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """R2 (Mescheder et al. 2018, eq. 10): ``(1/2) E_{x ~ p_G}[||grad D(x)||^2]``, on the fakes; ``real`` is unused."""
    return zero_centred_penalty(discriminator, fake, scaler)


#: The registered penalties, by the name a config gives (the only list of them).
PENALTIES: dict[str, Callable[..., Tensor]] = {
    "interpolate": interpolate_penalty,
    "dragan": dragan_penalty,
    "r1": r1_penalty,
    "r2": r2_penalty,
}


def lazy_penalty_weight(weight: float, interval: int, discriminator_step: int) -> float:
    """The penalty's weight at a discriminator step under lazy regularisation: ``weight * interval`` every
    ``interval``-th step (steps 0, interval, 2*interval, ...), 0 otherwise.

    Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" (arXiv:1912.04958),
    Sec. 3.1: the regulariser is evaluated once every ``interval`` minibatches (16 for R1) and
    scaled by the interval so its expected contribution is unchanged (reference code:
    ``batch_idx % phase.interval == 0``, ``gain = phase.interval``).  ``interval = 1`` is the
    eager penalty, ``weight`` at every step.
    """
    if interval < 1 or discriminator_step < 0:
        raise ValueError(
            f"interval must be at least 1 and discriminator_step non-negative, got {interval} and {discriminator_step}"
        )
    return weight * interval if discriminator_step % interval == 0 else 0.0
