"""GAN: Goodfellow et al. 2014, "Generative Adversarial Nets" (arXiv:1406.2661)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.losses import feature_matching_loss

FEATURE_MATCHING = "feature_matching"
GENERATOR_LOSSES = ("minimax", "non_saturating", FEATURE_MATCHING)  # the paper's two, and Salimans et al.'s


class GAN(ComposedGAN):
    """The original GAN, all losses from the discriminator's logits.

    The discriminator minimises ``-E[log D(x)] - E[log(1 - D(G(z)))]`` (eq. 1).  The generator
    minimises ``E[log(1 - D(G(z)))]`` (``"minimax"``, Algorithm 1) or ``-E[log D(G(z))]``
    (``"non_saturating"``, Section 3; what the authors' code trains, and our default): the registered
    losses :func:`~lightning_gans.gan_modules.losses.minimax_loss` and
    :func:`~lightning_gans.gan_modules.losses.non_saturating_loss`, composed without a penalty
    (:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`).
    ``n_critic`` is Algorithm 1's ``k`` (1 in all the paper's experiments).

    Two of Salimans et al. 2016's techniques (arXiv:1606.03498) are options here:
    ``generator_loss="feature_matching"`` (Sec. 3.1) makes the generator match the mean of the
    discriminator's ``features`` on real data, ``||E f(x) - E f(G(z))||^2``
    (:func:`~lightning_gans.gan_modules.losses.feature_matching_loss`; the discriminator trains as usual), and
    ``real_label`` is **one-sided** label smoothing (Sec. 3.4): the reals' target in the
    discriminator's loss becomes ``real_label`` (0.9 in the paper), the fakes' stays 0.  Instance
    noise and historical averaging are options of every method
    (:class:`~lightning_gans.gan_modules.training.base.AdversarialModule`); minibatch discrimination and virtual batch
    norm are options of the networks.  Other arguments: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`.
    """

    def __init__(
        self,
        *args,
        generator_loss: Literal["minimax", "non_saturating", "feature_matching"] = "non_saturating",
        real_label: float = 1.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of {sorted(GENERATOR_LOSSES)}, got {generator_loss!r}")
        if generator_loss == FEATURE_MATCHING and not callable(getattr(self.discriminator, "features", None)):
            raise ValueError(
                f"generator_loss='feature_matching' needs a discriminator with a features(x) method; "
                f"{type(self.discriminator).__name__} has none"
            )
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"real_label must lie in (0, 1], got {real_label}")
        self.generator_loss_name = generator_loss
        self.real_label = real_label
        # feature matching trains the discriminator as the non-saturating GAN does
        self.compose("minimax" if generator_loss == "minimax" else "non_saturating",
                     loss_options={"real_label": real_label})

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """The composed loss's, or feature matching, which reads the discriminator's features, not its scores."""
        if self.generator_loss_name != FEATURE_MATCHING:
            return super().generator_loss(fake, real)
        with torch.no_grad():  # the real features do not depend on the generator
            real_features = self.discriminator.features(real)
        return feature_matching_loss(real_features, self.discriminator.features(fake))
