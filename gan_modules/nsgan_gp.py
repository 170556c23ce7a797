"""NS-GAN with a gradient penalty: GAN-GP and DRAGAN-NS of Fedus, Rosca, Lakshminarayanan, Dai, Mohamed,
Goodfellow 2018, "Many Paths to Equilibrium: GANs Do Not Need to Decrease a Divergence at Every Step"
(arXiv:1710.08446).

Unverified parts (the paper text could not be read when this was written; Fedus et al. 2018, arXiv:1710.08446):

* the penalty is on the discriminator's *logit* (pre-sigmoid output); the paper says "D";
* lambda = 10 for both penalties (the paper's main experiments; it also sweeps lambda);
* which DRAGAN perturbation Fedus et al. used.  ``perturbation="dragan_code"`` (default) is the DRAGAN
  reference code [code: ``DRAGAN.ipynb``]: one-sided uniform noise of scale ``0.5*std(batch)``,
  interpolated with one ``alpha`` per sample; ``"gaussian"`` is the DRAGAN paper's ``x + delta``
  with ``delta ~ N(0, (c*std)^2 I)`` (Kodali et al. 2017; scale unverified);
* the optimizer: Adam(1e-4, betas=(0.5, 0.9)) and one D step per G step are the DRAGAN reference
  code's settings; the same Adam settings are the WGAN-GP authors' gan_cifar.py / gan_toy.py ones,
  used here for GAN-GP too.
"""

from __future__ import annotations

from typing import Literal

from lightning_gans.gan_modules.losses import DRAGAN_PERTURBATIONS
from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

# DRAGAN reference code: Adam(lr=1e-4, beta1=0.5, beta2=0.9) for both players [code: DRAGAN.ipynb].
NSGAN_GP_OPTIMIZER = OptimizerSpec(name="adam", lr=1e-4, betas=(0.5, 0.9))
NSGAN_GP_PENALTIES = ("interpolate", "dragan")


class NSGANGP(ComposedGAN):
    """The non-saturating GAN plus a gradient penalty on the discriminator's logit ``l``.

    ``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] + lambda * E[(||grad l(x_hat)||_2 - 1)^2]``;
    ``L_G = -E[log D(G(z))]`` (non-saturating).  The losses are NS-GAN's, not Wasserstein ones;
    only the penalty is borrowed: the ``"non_saturating"`` loss with the ``"interpolate"`` or
    ``"dragan"`` penalty (:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`).

    * ``penalty="interpolate"`` (GAN-GP): ``x_hat`` between real and fake, one ``eps`` per sample,
      exactly as WGAN-GP (:func:`~lightning_gans.gan_modules.losses.interpolates`).
    * ``penalty="dragan"`` (DRAGAN-NS): ``x_hat`` near the real data only
      (:func:`~lightning_gans.gan_modules.losses.dragan_perturbation`); fakes play no part.

    Other penalties (R1, R2) with this loss: :class:`~lightning_gans.gan_modules.modular_gan.ModularGAN`.

    Logs ``"penalty"`` (the unweighted penalty).  Unverified choices: see the module docstring.

    Args:
        penalty: ``"interpolate"`` (GAN-GP) or ``"dragan"`` (DRAGAN-NS).
        perturbation: DRAGAN's point form, ``"dragan_code"`` (default) or ``"gaussian"``; used
            only with ``penalty="dragan"``.
        penalty_weight: ``lambda`` (10 [unverified], Fedus et al.; DRAGAN code).
        perturbation_scale: ``c`` in ``c*std(batch)`` (0.5, DRAGAN code).
        penalty_interval: lazy regularisation (Karras et al. 2020, Sec. 3.1): the penalty every this
            many discriminator steps, times the interval; 1 (default, Fedus et al.): every step.
        n_critic: 1 (DRAGAN code, NS-GAN).
        generator_optimizer / discriminator_optimizer: Adam(1e-4, betas=(0.5, 0.9)) (DRAGAN code).

    The discriminator must not contain batch norm or minibatch discrimination (``ValueError``), as
    for WGAN-GP: the penalty is per example.  Other arguments:
    :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`; the overridden ones are keyword-only here.
    """

    def __init__(
        self,
        *args,
        penalty: Literal["interpolate", "dragan"] = "interpolate",
        perturbation: Literal["dragan_code", "gaussian"] = "dragan_code",
        penalty_weight: float = 10.0,
        perturbation_scale: float = 0.5,
        penalty_interval: int = 1,
        n_critic: int = 1,
        generator_optimizer: OptimizerSpec = NSGAN_GP_OPTIMIZER,
        discriminator_optimizer: OptimizerSpec = NSGAN_GP_OPTIMIZER,
        **kwargs,
    ) -> None:
        super().__init__(
            *args,
            n_critic=n_critic,
            generator_optimizer=generator_optimizer,
            discriminator_optimizer=discriminator_optimizer,
            **kwargs,
        )
        if penalty not in NSGAN_GP_PENALTIES:
            raise ValueError(f"penalty must be one of {NSGAN_GP_PENALTIES}, got {penalty!r}")
        if perturbation not in DRAGAN_PERTURBATIONS:
            raise ValueError(f"perturbation must be one of {DRAGAN_PERTURBATIONS}, got {perturbation!r}")
        if perturbation_scale < 0:
            raise ValueError(f"perturbation_scale must be non-negative, got {perturbation_scale}")
        self.compose(
            "non_saturating", penalty=penalty, penalty_weight=penalty_weight, penalty_interval=penalty_interval,
            penalty_options={"perturbation": perturbation, "scale": perturbation_scale} if penalty == "dragan" else None,
            method="GAN-GP" if penalty == "interpolate" else "DRAGAN-NS",
        )
        self.perturbation = perturbation
        self.perturbation_scale = perturbation_scale
