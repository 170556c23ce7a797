"""Adversarial losses as pure functions of tensors (no Lightning inside).

Every loss is a quantity to *minimise* and is computed from logits with ``softplus``
(``-log sigmoid(a) = softplus(-a)``, ``-log(1 - sigmoid(a)) = softplus(a)``), never as
``log(sigmoid(.))``, which underflows for confident discriminators.  Wasserstein losses take a
critic's raw scores instead (so does the hinge loss).  Gradient penalties take the critic itself (a
callable) and the step's real and fake batches, all with one signature (:data:`PENALTIES`), so a
method is a choice of loss (:data:`LOSSES`) and penalty.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _at_least_float32(x: Tensor) -> Tensor:
    """fp16/bf16 -> float32, float32/float64 unchanged: reductions under autocast stay accurate."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """Goodfellow et al. 2014, eq. 1, negated: ``-E[log D(x)] - E[log(1 - D(G(z)))]``.

    At ``D = 1/2`` everywhere (all logits 0) the value is ``2 log 2`` (Theorem 1: ``C(G) = -log 4``).
    The reference code averages the two terms instead of summing them; that only rescales the
    learning rate, and the sum is the paper's value function.

    ``real_label < 1`` is **one-sided** label smoothing (Salimans et al. 2016, Sec. 3.4): the reals'
    term becomes the cross-entropy with target ``alpha = real_label``,
    ``-alpha log D(x) - (1 - alpha) log(1 - D(x)) = softplus(-a) + (1 - alpha) a`` for logit ``a``;
    the fakes' target stays 0 (smoothing it too, as "0.9 and 0.1" in Weng's summary, is harmful:
    Sec. 3.4).  The paper's value is ``alpha = 0.9``.
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must lie in (0, 1], got {real_label}")
    return (F.softplus(-real_logits) + (1.0 - real_label) * real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Algorithm 1: the generator descends ``E[log(1 - D(G(z)))]``.

    Saturates when the discriminator rejects the fakes confidently (its gradient vanishes as
    ``D(G(z)) -> 0``), which is why Section 3 proposes the non-saturating loss.
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Section 3: maximise ``log D(G(z))``, i.e. minimise ``-E[log D(G(z))]``."""
    return F.softplus(-fake_logits).mean()


# ---------------------------------------------------------------------------------- Wasserstein losses
def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Arjovsky et al. 2017, eq. 3 / Algorithm 1, negated: ``E[f(G(z))] - E[f(x)]``.

    The critic maximises ``E[f(x)] - E[f(G(z))]``, so ``-loss`` is the (scaled) Wasserstein
    estimate of the paper's training curves (Sec. 4.2).  The reference code (``main.py``) minimises
    the opposite sign, i.e. its ``f`` is the negative of the paper's; we keep the paper's sign.
    Computed in float32 under autocast (CPU autocast keeps ``mean`` in fp16/bf16).
    """
    return _at_least_float32(fake_scores).mean() - _at_least_float32(real_scores).mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """Arjovsky et al. 2017, Algorithm 1: the generator minimises ``-E[f(G(z))]``."""
    return -_at_least_float32(fake_scores).mean()


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The hinge loss: ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`` on raw scores, in float32.

    Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894), the SVM margin of the discriminator;
    Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral Normalization for GANs" (arXiv:1802.05957),
    Sec. 4, the "hinge" objective.  Scores beyond the margin (real above 1, fake below -1) give no
    gradient.  The generator minimises ``-E[D(G(z))]`` (both papers), i.e.
    :func:`wasserstein_generator_loss`.
    """
    real, fake = _at_least_float32(real_logits), _at_least_float32(fake_logits)
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def clip_weights_(module: torch.nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` (BN affine ones included) into ``[-c, c]`` in place.

    Arjovsky et al. 2017, Algorithm 1, line 8 (``c = 0.01``); the reference code clamps
    ``for p in netD.parameters()``.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-clip_value, clip_value)


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
    critic: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``grad_x f(x)`` at each of ``points``, unscaled, in float32 (or float64), with graph.

    The gradient is taken of ``f(points).sum()`` (not ``.mean()``, which would divide every
    gradient by B) with ``create_graph=True``, so a penalty on it has a gradient with respect to
    the critic's weights (Gulrajani et al. 2017, Sec. 4; reference ``gan_toy.py``; StyleGAN2's R1:
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
        output = _at_least_float32(critic(points)).sum()
        if scaler is not None:
            # Scaled like the batch-mean loss the penalty joins: each sample's score gets the
            # gradient scale / B.  ``scale * sum`` would hand each fp16 score the gradient ``scale``,
            # which overflows fp16 (max 65504) at GradScaler's initial scale 2**16.
            output = scaler.scale(output) / batch
        (grad,) = torch.autograd.grad(output, points, create_graph=True)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        grad = _at_least_float32(grad)
        if scaler is not None:
            grad = grad * (batch / scaler.get_scale())
        return grad


def gradient_norms(
    critic: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``||grad_x f(x)||_2`` for each sample, over all non-batch dims, in float32 (or float64), with graph.

    Reference ``gan_toy.py``: ``slopes = sqrt(sum(grad**2, axis=1))``.  The gradients and the
    ``scaler`` handling are :func:`input_gradients`'; the norm is taken in float32 outside autocast.
    """
    grad = input_gradients(critic, points, scaler)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    points: Tensor,
    scaler: Optional[torch.amp.GradScaler] = None,
    one_sided: bool = False,
    target: float = 1.0,
) -> Tensor:
    """``E[(||grad f(x_hat)||_2 - target)^2]`` over ``points`` (float32 scalar, differentiable in the critic).

    Gulrajani et al. 2017, eq. 3 (two-sided, ``target = 1``); ``one_sided=True`` is
    ``E[max(0, ||grad|| - target)^2]`` (their Sec. 4 "Two-sided penalty" and appendix).  What the
    points are makes the method: :func:`interpolates` (WGAN-GP, GAN-GP) or
    :func:`dragan_perturbation` (DRAGAN).  ``critic`` is any callable returning one score per
    sample; ``scaler``: see :func:`input_gradients`.  The weight ``lambda`` is applied by the caller.
    """
    gap = gradient_norms(critic, points, scaler) - target
    if one_sided:
        gap = gap.clamp(min=0)
    return (gap**2).mean()


def zero_centred_penalty(
    critic: Callable[[Tensor], Tensor], points: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """``(1/2) E[||grad f(x)||_2^2]`` over ``points`` (float32 scalar, differentiable in the critic).

    Mescheder, Geiger, Nowozin 2018, "Which Training Methods for GANs do actually Converge?"
    (arXiv:1801.04406), eqs. 9-10 without ``gamma``: the squared norm is summed over all non-batch
    dims (StyleGAN2 reference code: ``r1_grads.square().sum([1,2,3])``), never through a square
    root, whose gradient is undefined where the gradient vanishes.  The factor 1/2 is the paper's:
    with it the caller's weight is ``gamma`` (StyleGAN2 code: ``r1_penalty * (r1_gamma / 2)``).  The
    authors' code weighs ``E||grad||^2`` by ``reg_param`` instead, so its ``reg_param`` is ``gamma/2``
    [code: LMescheder/GAN_stability ``gan_training/train.py``, ``reg_param * compute_grad2(...).mean()``].
    """
    grad = input_gradients(critic, points, scaler)
    with torch.autocast(device_type=grad.device.type, enabled=False):
        return 0.5 * grad.flatten(1).square().sum(1).mean()


# ---------------------------------------------------------------------------------- penalties
# Every penalty has ONE signature, ``penalty(critic, real, fake, scaler=None) -> Tensor`` (unweighted,
# float32 scalar, differentiable in the critic), so that any method composes it with any loss
# (compare_gan: ``d_loss += lambda * penalty_lib.get_penalty_loss(...)``).  ``real`` and ``fake`` are
# the discriminator's inputs of the step; the method applies the weight.  Each is a per-sample
# gradient norm, so the critic must score every sample on its own
# (:func:`~lightning_gans.gan_modules.networks.batch_coupling.reject_batch_coupled_critic`).
def interpolate_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017, eq. 3): :func:`gradient_penalty` at :func:`interpolates`."""
    return gradient_penalty(critic, interpolates(real, fake), scaler=scaler)


def dragan_penalty(
    critic: Callable[[Tensor], Tensor],
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
    return gradient_penalty(critic, dragan_perturbation(real, perturbation, scale), scaler=scaler)


def r1_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """R1 (Mescheder et al. 2018, eq. 9): ``(1/2) E_{x ~ p_data}[||grad D(x)||^2]``, at the reals; ``fake`` is unused.

    Times the weight ``gamma`` it is the paper's ``gamma/2 E||grad D(x)||^2`` (:func:`zero_centred_penalty`).
    """
    return zero_centred_penalty(critic, real, scaler)


def r2_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scaler: Optional[torch.amp.GradScaler] = None
) -> Tensor:
    """R2 (Mescheder et al. 2018, eq. 10): ``(1/2) E_{x ~ p_G}[||grad D(x)||^2]``, on the fakes; ``real`` is unused."""
    return zero_centred_penalty(critic, fake, scaler)


PENALTIES: dict[str, Callable[..., Tensor]] = {
    "interpolate": interpolate_penalty,
    "dragan": dragan_penalty,
    "r1": r1_penalty,
    "r2": r2_penalty,
}


# A method's loss by name: (discriminator loss of real and fake scores, generator loss of fake scores).
LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "non_saturating": (discriminator_loss, non_saturating_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, wasserstein_generator_loss),
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


# ---------------------------------------------------------------------------------- alpha-GAN
# Rosca, Lakshminarayanan, Warde-Farley, Mohamed 2017, "Variational Approaches for Auto-Encoding
# Generative Adversarial Networks" (arXiv:1706.04987), Algorithm 1.  The encoder and generator use
# the density-ratio form -log(D / (1 - D)) of their adversarial terms, which is exactly the negative
# logit (no log of a sigmoid anywhere).
def reconstruction_l1(real: Tensor, reconstruction: Tensor) -> Tensor:
    """``E_x ||x - G(E(x))||_1``: the per-example L1 norm **summed** over all non-batch dims, averaged over the batch.

    The sum is the paper's norm and the negative log-likelihood of a Laplace observation model
    (Rosca et al. 2017, Sec. 4, Algorithm 1), which factorises over pixels.  ``lambda_rec`` therefore
    weighs a quantity that grows with the number of pixels: the mean per-pixel error is this value
    divided by ``x[0].numel()`` (64 for 8x8 digits, 2 for the toy sets).  The unofficial
    implementation averages over pixels instead [code: victor-shepardson/alpha-GAN ``alphagan.py``,
    ``rec_loss``], so its ``lambd`` equals ``lambda_rec * x[0].numel()`` here.
    """
    if real.shape != reconstruction.shape:
        raise ValueError(
            f"real and reconstruction must have the same shape, got {tuple(real.shape)} and {tuple(reconstruction.shape)}"
        )
    return (real - reconstruction).abs().flatten(1).sum(1).mean()


def alpha_gan_encoder_loss(
    real: Tensor, reconstruction: Tensor, encoded_code_logits: Tensor, lambda_rec: float
) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``L_E = E[lambda ||x - G(E(x))||_1 - l_C(E(x))]``.

    ``encoded_code_logits`` are the code discriminator's logits on the encoder's codes ``E(x)``; the
    encoder pushes them up, i.e. towards "prior" (label 1).  ``-l_C = -log(C / (1 - C))`` is the
    density-ratio form.  The L1 reduction is :func:`reconstruction_l1`'s.
    """
    return lambda_rec * reconstruction_l1(real, reconstruction) - encoded_code_logits.mean()


def alpha_gan_generator_loss(
    real: Tensor, reconstruction: Tensor, reconstruction_logits: Tensor, sample_logits: Tensor, lambda_rec: float
) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``L_G = E[lambda ||x - G(E(x))||_1 - l_D(G(E(x))) - l_D(G(z))]``.

    ``reconstruction_logits``/``sample_logits`` are the data discriminator's logits on
    reconstructions and on samples from the prior; the density-ratio form ``-l_D`` is the sum of
    the non-saturating and minimax generator losses.  The L1 reduction is :func:`reconstruction_l1`'s.
    """
    adversarial = -reconstruction_logits.mean() - sample_logits.mean()
    return lambda_rec * reconstruction_l1(real, reconstruction) + adversarial


def alpha_gan_discriminator_loss(real_logits: Tensor, reconstruction_logits: Tensor, sample_logits: Tensor) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``-E[log D(x)] - E[log(1 - D(G(E(x))))] - E[log(1 - D(G(z)))]``.

    One data discriminator for reconstructions and samples, both labelled fake; the three terms are
    summed (Algorithm 1), so at ``D = 1/2`` everywhere the loss is ``3 log 2``.
    """
    return F.softplus(-real_logits).mean() + F.softplus(reconstruction_logits).mean() + F.softplus(sample_logits).mean()


def code_discriminator_loss(prior_logits: Tensor, encoded_logits: Tensor) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``-E[log C(z)] - E[log(1 - C(E(x)))]``, ``z ~ p(z)``.

    Prior samples are labelled **real** (1) and encoded codes fake (0).  arXiv v1 had the two terms
    swapped; the authors confirmed the erratum [code: victor-shepardson/alpha-GAN README].  This is
    :func:`discriminator_loss` with the prior in the data's place.
    """
    return discriminator_loss(prior_logits, encoded_logits)


# ---------------------------------------------------------------------------------- stabilising techniques
# Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen 2016, "Improved Techniques for Training GANs"
# (arXiv:1606.03498), Sec. 3; instance noise: Sønderby et al. 2016 (arXiv:1610.04490), Arjovsky & Bottou 2017.
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
    gap = _at_least_float32(real_features).mean(0) - _at_least_float32(fake_features).mean(0)
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
    return sum(((_at_least_float32(p) - a.detach()) ** 2).sum() for p, a in zip(params, averages))
