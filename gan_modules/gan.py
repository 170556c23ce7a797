"""GAN: Goodfellow et al. 2014, "Generative Adversarial Nets" (arXiv:1406.2661)."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from gan_modules.base import AdversarialModule
from gan_modules.losses import discriminator_loss, minimax_generator_loss, non_saturating_generator_loss

GENERATOR_LOSSES = {"minimax": minimax_generator_loss, "non_saturating": non_saturating_generator_loss}


class GAN(AdversarialModule):
    """The original GAN, all losses from the discriminator's logits.

    The discriminator minimises ``-E[log D(x)] - E[log(1 - D(G(z)))]`` (eq. 1).  The generator
    minimises ``E[log(1 - D(G(z)))]`` (``"minimax"``, Algorithm 1) or ``-E[log D(G(z))]``
    (``"non_saturating"``, Section 3; what the authors' code trains, and our default).
    ``n_critic`` is Algorithm 1's ``k`` (1 in all the paper's experiments).  Other arguments:
    :class:`~gan_modules.base.AdversarialModule`.
    """

    def __init__(self, *args, generator_loss: Literal["minimax", "non_saturating"] = "non_saturating", **kwargs):
        super().__init__(*args, **kwargs)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of {sorted(GENERATOR_LOSSES)}, got {generator_loss!r}")
        self.generator_loss_name = generator_loss
        self._generator_loss_fn = GENERATOR_LOSSES[generator_loss]

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return discriminator_loss(self.discriminator(real), self.discriminator(fake))

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        return self._generator_loss_fn(self.discriminator(fake))
