"""WGAN-GP: Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028)."""

from __future__ import annotations

from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

# Algorithm 1 defaults [paper]: Adam(alpha = 1e-4, beta1 = 0, beta2 = 0.9) for both players,
# lambda = 10, n_critic = 5.  The authors' own scripts differ: gan_cifar.py and gan_toy.py use
# beta1 = 0.5 (gan_toy.py also lambda = 0.1); gan_cifar_resnet.py Adam(2e-4, 0, 0.9) with linear decay.
WGAN_GP_OPTIMIZER = OptimizerSpec(name="adam", lr=1e-4, betas=(0.0, 0.9))


class WGANGP(ComposedGAN):
    """WGAN with a two-sided gradient penalty at random interpolates instead of weight clipping.

    The Wasserstein loss with the ``"interpolate"`` penalty
    (:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`).  Critic loss (eq. 3):
    ``E[f(x~)] - E[f(x)] + lambda * E[(||grad f(x_hat)||_2 - 1)^2]`` with
    ``x_hat = eps*x + (1-eps)*x~``, one ``eps ~ U[0,1]`` per sample; the norm is per sample over
    all non-batch dims (:func:`~lightning_gans.gan_modules.losses.gradient_penalty`).  Generator: ``-E[f(G(z))]``.
    Logs ``"wasserstein_estimate"`` (``E[f(x)] - E[f(x~)]``, without the penalty) and
    ``"penalty"`` (the unweighted penalty).  Under ``precision="16-mixed"`` the penalty follows the
    GradScaler recipe; under bf16 its norm is float32.

    Args:
        penalty_weight: ``lambda`` (10, Algorithm 1).
        penalty_interval: lazy regularisation (Karras et al. 2020, Sec. 3.1): the penalty every this
            many critic steps, times the interval; 1 (default, the paper): every step.
        n_critic: 5 (Algorithm 1).
        generator_optimizer / discriminator_optimizer: Adam(1e-4, betas=(0.0, 0.9)) (Algorithm 1;
            the authors' gan_cifar.py and gan_toy.py used betas=(0.5, 0.9)).

    The critic must not contain batch norm or minibatch discrimination (``ValueError``).  Other arguments:
    :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`; the overridden ones are keyword-only here.
    """

    def __init__(
        self,
        *args,
        penalty_weight: float = 10.0,
        penalty_interval: int = 1,
        n_critic: int = 5,
        generator_optimizer: OptimizerSpec = WGAN_GP_OPTIMIZER,
        discriminator_optimizer: OptimizerSpec = WGAN_GP_OPTIMIZER,
        **kwargs,
    ) -> None:
        super().__init__(
            *args,
            n_critic=n_critic,
            generator_optimizer=generator_optimizer,
            discriminator_optimizer=discriminator_optimizer,
            **kwargs,
        )
        self.compose("wasserstein", penalty="interpolate", penalty_weight=penalty_weight,
                     penalty_interval=penalty_interval, method="WGAN-GP")
