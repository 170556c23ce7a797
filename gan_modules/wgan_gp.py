"""WGAN-GP: Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028)."""

from __future__ import annotations

from torch import Tensor, nn

from lightning_gans.gan_modules.base import AdversarialModule
from lightning_gans.gan_modules.losses import gradient_penalty, interpolates, wasserstein_critic_loss, wasserstein_generator_loss
from lightning_gans.gan_modules.optimizer import OptimizerSpec

# Algorithm 1 defaults [paper]: Adam(alpha = 1e-4, beta1 = 0, beta2 = 0.9) for both players,
# lambda = 10, n_critic = 5.  The authors' own scripts differ: gan_cifar.py and gan_toy.py use
# beta1 = 0.5 (gan_toy.py also lambda = 0.1); gan_cifar_resnet.py Adam(2e-4, 0, 0.9) with linear decay.
WGAN_GP_OPTIMIZER = OptimizerSpec(name="adam", lr=1e-4, betas=(0.0, 0.9))


def reject_batch_norm(critic: nn.Module, method: str) -> None:
    """Raise ``ValueError`` if ``critic`` holds a batch-norm layer.

    A gradient penalty is a per-example gradient norm; batch norm makes each score depend on the
    whole batch (Gulrajani et al. 2017, Sec. 4, "No critic batch normalization").  Layer norm is
    the paper's replacement.
    """
    layers = [name for name, m in critic.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if layers:
        raise ValueError(
            f"{method} penalises per-example gradients, so its critic must not use batch norm "
            f"(Gulrajani et al. 2017, Sec. 4); found {type(critic).__name__} layers {layers}. "
            "Build the critic with norm='layer' or norm='none'."
        )


class WGANGP(AdversarialModule):
    """WGAN with a two-sided gradient penalty at random interpolates instead of weight clipping.

    Critic loss (eq. 3): ``E[f(x~)] - E[f(x)] + lambda * E[(||grad f(x_hat)||_2 - 1)^2]`` with
    ``x_hat = eps*x + (1-eps)*x~``, one ``eps ~ U[0,1]`` per sample; the norm is per sample over
    all non-batch dims (:func:`~lightning_gans.gan_modules.losses.gradient_penalty`).  Generator: ``-E[f(G(z))]``.
    Logs ``"wasserstein_estimate"`` (``E[f(x)] - E[f(x~)]``, without the penalty) and
    ``"penalty"`` (the unweighted penalty).  Under ``precision="16-mixed"`` the penalty follows the
    GradScaler recipe; under bf16 its norm is float32.

    Args:
        penalty_weight: ``lambda`` (10, Algorithm 1).
        n_critic: 5 (Algorithm 1).
        generator_optimizer / discriminator_optimizer: Adam(1e-4, betas=(0.0, 0.9)) (Algorithm 1;
            the authors' gan_cifar.py and gan_toy.py used betas=(0.5, 0.9)).

    The critic must not contain batch norm (``ValueError``).  Other arguments:
    :class:`~lightning_gans.gan_modules.base.AdversarialModule`; the overridden ones are keyword-only here.
    """

    def __init__(
        self,
        *args,
        penalty_weight: float = 10.0,
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
        if penalty_weight < 0:
            raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
        reject_batch_norm(self.discriminator, "WGAN-GP")
        self.penalty_weight = penalty_weight

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        critic_loss = wasserstein_critic_loss(self.discriminator(real), self.discriminator(fake))
        penalty = gradient_penalty(self.discriminator, interpolates(real, fake), scaler=self.grad_scaler)
        self.log("wasserstein_estimate", -critic_loss.detach(), prog_bar=True)
        self.log("penalty", penalty.detach())
        return critic_loss + self.penalty_weight * penalty

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        return wasserstein_generator_loss(self.discriminator(fake))
