"""alpha-GAN's four losses: Rosca, Lakshminarayanan, Warde-Farley, Mohamed 2017, "Variational Approaches for
Auto-Encoding Generative Adversarial Networks" (arXiv:1706.04987), Algorithm 1.

The encoder and generator use the density-ratio form ``-log(D / (1 - D))`` of their adversarial terms, which is
exactly the negative score (no log of a sigmoid anywhere).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from lightning_gans.gan_modules.losses.adversarial import non_saturating_loss


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
    real: Tensor, reconstruction: Tensor, encoded_code_scores: Tensor, lambda_rec: float
) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``L_E = E[lambda ||x - G(E(x))||_1 - l_C(E(x))]``.

    ``encoded_code_scores`` are the code discriminator's scores on the encoder's codes ``E(x)``; the
    encoder pushes them up, i.e. towards "prior" (label 1).  ``-l_C = -log(C / (1 - C))`` is the
    density-ratio form.  The L1 reduction is :func:`reconstruction_l1`'s.
    """
    return lambda_rec * reconstruction_l1(real, reconstruction) - encoded_code_scores.mean()


def alpha_gan_generator_loss(
    real: Tensor, reconstruction: Tensor, reconstruction_scores: Tensor, sample_scores: Tensor, lambda_rec: float
) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``L_G = E[lambda ||x - G(E(x))||_1 - l_D(G(E(x))) - l_D(G(z))]``.

    ``reconstruction_scores``/``sample_scores`` are the data discriminator's scores on
    reconstructions and on samples from the prior; the density-ratio form ``-l_D`` is the sum of
    the non-saturating and minimax generator losses.  The L1 reduction is :func:`reconstruction_l1`'s.
    """
    adversarial = -reconstruction_scores.mean() - sample_scores.mean()
    return lambda_rec * reconstruction_l1(real, reconstruction) + adversarial


def alpha_gan_discriminator_loss(real_scores: Tensor, reconstruction_scores: Tensor, sample_scores: Tensor) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``-E[log D(x)] - E[log(1 - D(G(E(x))))] - E[log(1 - D(G(z)))]``.

    One data discriminator for reconstructions and samples, both labelled fake; the three terms are
    summed (Algorithm 1), so at ``D = 1/2`` everywhere the loss is ``3 log 2``.
    """
    return F.softplus(-real_scores).mean() + F.softplus(reconstruction_scores).mean() + F.softplus(sample_scores).mean()


def code_discriminator_loss(prior_scores: Tensor, encoded_scores: Tensor) -> Tensor:
    """Rosca et al. 2017, Algorithm 1: ``-E[log C(z)] - E[log(1 - C(E(x)))]``, ``z ~ p(z)``.

    Prior samples are labelled **real** (1) and encoded codes fake (0).  arXiv v1 had the two terms
    swapped; the authors confirmed the erratum [code: victor-shepardson/alpha-GAN README].  This is
    :func:`~lightning_gans.gan_modules.losses.adversarial.non_saturating_loss`'s discriminator loss with the
    prior in the data's place.
    """
    return non_saturating_loss(prior_scores, encoded_scores).discriminator
