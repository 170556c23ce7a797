"""Instance noise and historical averaging, options of every method that trains with
:class:`~lightning_gans.gan_modules.training.base.AdversarialModule`'s steps.

* Instance noise (Sønderby et al. 2016, "Amortised MAP Inference for Image Super-resolution",
  arXiv:1610.04490; Arjovsky & Bottou 2017, Sec. 4): ``N(0, sigma_t^2 I)`` added to the
  discriminator's real and fake inputs, annealed over generator steps
  (:func:`~lightning_gans.gan_modules.losses.instance_noise_std`).
* Historical averaging (Salimans et al. 2016, "Improved Techniques for Training GANs",
  arXiv:1606.03498, Sec. 3.3): ``weight * ||theta - mean_{i<=t} theta[i]||^2`` added to each player's
  loss, the running mean kept by a
  :class:`~lightning_gans.gan_modules.training.historical_averaging.ParameterAverage`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from lightning_gans.gan_modules.losses import instance_noise_std
from lightning_gans.gan_modules.training.historical_averaging import ParameterAverage

Player = Literal["generator", "discriminator"]


class Stabilisers:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that holds the
    stabilising techniques; its training steps call :meth:`add_instance_noise` on the discriminator's
    inputs, :meth:`_with_historical_penalty` on each loss and :meth:`_update_historical_average` after
    each player's step."""

    def _init_stabilisers(self, instance_noise: float, anneal_steps: int, historical_averaging: float,
                          applied: bool) -> None:
        """Validate and keep the settings; ``applied``: whether the module's training step applies them."""
        if instance_noise < 0 or anneal_steps < 0 or historical_averaging < 0:
            raise ValueError(
                "instance_noise, instance_noise_anneal_steps and historical_averaging must be non-negative, got "
                f"{instance_noise}, {anneal_steps} and {historical_averaging}"
            )
        if (instance_noise or historical_averaging) and not applied:
            raise ValueError(
                f"{type(self).__name__} has its own training_step, so instance_noise and historical_averaging "
                "(which act in AdversarialModule's steps) would be ignored; leave them at 0"
            )
        self.instance_noise = instance_noise
        self.instance_noise_anneal_steps = anneal_steps
        self.historical_averaging = historical_averaging
        if historical_averaging:
            self.generator_average = ParameterAverage(self.generator)
            self.discriminator_average = ParameterAverage(self.discriminator)

    def current_instance_noise_std(self) -> float:
        """The instance-noise standard deviation at the current generator step (0 when off)."""
        return instance_noise_std(self.generator_steps, self.instance_noise, self.instance_noise_anneal_steps)

    def add_instance_noise(self, x: Tensor) -> Tensor:
        """``x + N(0, sigma_t^2 I)`` (``x`` itself when the noise is off or annealed away); keeps ``x``'s graph."""
        std = self.current_instance_noise_std()
        return x if std == 0 else x + std * torch.randn_like(x)

    def _with_historical_penalty(self, loss: Tensor, player: Player) -> Tensor:
        """``loss + weight * ||theta - average||^2`` for ``player`` (``loss`` itself when historical averaging is off)."""
        if not self.historical_averaging:
            return loss
        penalty = getattr(self, f"{player}_average").penalty(getattr(self, player))
        self.log_step(f"historical_averaging/{player}", penalty.detach())
        return loss + self.historical_averaging * penalty

    def _update_historical_average(self, player: Player) -> None:
        if self.historical_averaging:
            getattr(self, f"{player}_average").update(getattr(self, player))
