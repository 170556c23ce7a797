"""The math of every method, as pure functions of tensors (no Lightning inside), one concept a file.

* :mod:`.adversarial`: the loss contract, ``loss(real_scores, fake_scores) -> LossPair(discriminator,
  generator)``, and the registered losses (:data:`LOSSES`);
* :mod:`.penalties`: the gradient penalties, ``penalty(discriminator, real, fake, scaler)`` (:data:`PENALTIES`),
  and lazy regularisation;
* :mod:`.constraints`: what is applied to the discriminator after its step, e.g. weight clipping
  (:data:`CONSTRAINTS`);
* :mod:`.registry`: a registered name, or the dotted path of a user's own function;
* :mod:`.alpha_gan`, :mod:`.stabilisers`: alpha-GAN's losses; feature matching, instance noise, historical
  averaging.

A method is a loss x a penalty x a constraint (:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`),
as compare_gan composes its ``ModularGAN``.
"""

from lightning_gans.gan_modules.losses.adversarial import (
    LOSSES,
    LossPair,
    as_loss_pair,
    generator_ignores_real_scores,
    generator_reads_real_scores,
    hinge_loss,
    least_squares_loss,
    minimax_loss,
    non_saturating_loss,
    relativistic_average_hinge_loss,
    relativistic_average_least_squares_loss,
    relativistic_average_loss,
    wasserstein_loss,
)
from lightning_gans.gan_modules.losses.alpha_gan import (
    alpha_gan_discriminator_loss,
    alpha_gan_encoder_loss,
    alpha_gan_generator_loss,
    code_discriminator_loss,
    reconstruction_l1,
)
from lightning_gans.gan_modules.losses.constraints import CONSTRAINTS, clip_weights_
from lightning_gans.gan_modules.losses.penalties import (
    DRAGAN_PERTURBATIONS,
    PENALTIES,
    dragan_penalty,
    dragan_perturbation,
    gradient_norms,
    gradient_penalty,
    input_gradients,
    interpolate_penalty,
    interpolates,
    lazy_penalty_weight,
    r1_penalty,
    r2_penalty,
    zero_centred_penalty,
)
from lightning_gans.gan_modules.losses.registry import resolve
from lightning_gans.gan_modules.losses.stabilisers import (
    feature_matching_loss,
    historical_averaging_penalty,
    instance_noise_std,
)

__all__ = [
    "CONSTRAINTS", "DRAGAN_PERTURBATIONS", "LOSSES", "LossPair", "PENALTIES", "as_loss_pair", "alpha_gan_discriminator_loss",
    "alpha_gan_encoder_loss", "alpha_gan_generator_loss", "clip_weights_", "code_discriminator_loss",
    "dragan_penalty", "dragan_perturbation", "feature_matching_loss", "generator_ignores_real_scores",
    "generator_reads_real_scores", "gradient_norms", "gradient_penalty", "hinge_loss", "historical_averaging_penalty",
    "input_gradients", "instance_noise_std", "interpolate_penalty", "interpolates", "lazy_penalty_weight",
    "least_squares_loss", "minimax_loss", "non_saturating_loss", "r1_penalty", "r2_penalty",
    "reconstruction_l1", "relativistic_average_hinge_loss", "relativistic_average_least_squares_loss",
    "relativistic_average_loss", "resolve", "wasserstein_loss", "zero_centred_penalty",
]
