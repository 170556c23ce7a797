"""WGAN: Arjovsky, Chintala, Bottou 2017, "Wasserstein GAN" (arXiv:1701.07875)."""

from __future__ import annotations

from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

# Algorithm 1 defaults [paper]: alpha = 5e-5, RMSProp for both players (Sec. 3: momentum-based
# optimizers such as Adam made training unstable), c = 0.01, n_critic = 5.  PyTorch's RMSprop
# defaults (alpha 0.99, eps 1e-8) are those of the reference code main.py.
WGAN_OPTIMIZER = OptimizerSpec(name="rmsprop", lr=5e-5)

# Critic warm-up of the reference code (main.py, not in Algorithm 1):
# ``Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0 else Diters``.
WARMUP_CRITIC_STEPS = 100
WARMUP_GENERATOR_STEPS = 25
WARMUP_EVERY = 500


class WGAN(ComposedGAN):
    """Critic ``f`` with clipped weights; the critic minimises ``E[f(G(z))] - E[f(x)]`` (paper sign).

    The Wasserstein loss with the ``"clip_weights"`` constraint and no penalty
    (:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`).  The paper calls its discriminator a
    *critic*: its score is not a probability but a 1-Lipschitz function's value; the code calls it the
    discriminator, as for every method.

    ``-loss/discriminator`` is logged as ``"wasserstein_estimate"`` (the curves of Sec. 4.2).  Every
    critic parameter is clamped into ``[-clip_value, clip_value]`` *after* each critic step
    (Algorithm 1, line 8); the reference code clamps *before* each critic step instead, so there
    the generator step sees a critic that was updated but not yet re-clipped.  A batch-norm critic
    is allowed (there is no gradient penalty); its affine parameters are clipped too.

    Args:
        clip_value: ``c`` (0.01, Algorithm 1).
        critic_warmup: the reference code's schedule: 100 critic steps before each of the first 25
            generator steps and before every 500th (generator step 0 included), ``n_critic``
            otherwise.  Off by default (Algorithm 1 has none).
        n_critic: 5 (Algorithm 1).
        generator_optimizer / discriminator_optimizer: RMSprop(lr=5e-5) (Algorithm 1).

    Every critic step consumes one training batch (fresh real data, as Algorithm 1), so a
    warm-up cycle uses 100 batches.  Other arguments: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`;
    the overridden ones are keyword-only here.
    """

    def __init__(
        self,
        *args,
        clip_value: float = 0.01,
        critic_warmup: bool = False,
        n_critic: int = 5,
        generator_optimizer: OptimizerSpec = WGAN_OPTIMIZER,
        discriminator_optimizer: OptimizerSpec = WGAN_OPTIMIZER,
        **kwargs,
    ) -> None:
        super().__init__(
            *args,
            n_critic=n_critic,
            generator_optimizer=generator_optimizer,
            discriminator_optimizer=discriminator_optimizer,
            **kwargs,
        )
        if clip_value <= 0:
            raise ValueError(f"clip_value must be positive, got {clip_value}")
        if critic_warmup and self.update_mode != "alternating":
            raise ValueError("critic_warmup schedules critic steps, so it needs update_mode='alternating'")
        self.clip_value = clip_value
        self.critic_warmup = critic_warmup
        self.compose("wasserstein", constraint="clip_weights", constraint_options={"clip_value": clip_value})

    def discriminator_steps_per_generator_step(self) -> int:
        if self.critic_warmup and (
            self.generator_steps < WARMUP_GENERATOR_STEPS or self.generator_steps % WARMUP_EVERY == 0
        ):
            return WARMUP_CRITIC_STEPS
        return self.n_critic
