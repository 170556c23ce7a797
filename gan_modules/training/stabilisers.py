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

from typing import Any, Literal

import torch
from torch import Tensor

from lightning_gans.gan_modules.losses import instance_noise_std
from lightning_gans.gan_modules.training.historical_averaging import ParameterAverage

Player = Literal["generator", "discriminator"]


class Stabilisers:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that holds the
    stabilising techniques; its training steps call :meth:`add_instance_noise` on the discriminator's
    inputs, :meth:`with_historical_penalty` on each loss and :meth:`update_historical_average` after
    each player's step.  A subclass's own ``training_step`` keeps them by calling those steps (or these
    methods); one that does not is stopped after its first batch, with one line naming the options lost."""

    def _init_stabilisers(self, instance_noise: float, anneal_steps: int, historical_averaging: float) -> None:
        """Validate and keep the settings."""
        if instance_noise < 0 or anneal_steps < 0 or historical_averaging < 0:
            raise ValueError(
                "instance_noise, instance_noise_anneal_steps and historical_averaging must be non-negative, got "
                f"{instance_noise}, {anneal_steps} and {historical_averaging}"
            )
        self.instance_noise = instance_noise
        self.instance_noise_anneal_steps = anneal_steps
        self.historical_averaging = historical_averaging
        if historical_averaging:
            self.generator_average = ParameterAverage(self.generator)
            self.discriminator_average = ParameterAverage(self.discriminator)
        self._stabilisers_acted: set[str] = set()  # which acted in this fit's first batch

    def on_train_start(self) -> None:
        self._stabilisers_acted = set()
        super().on_train_start()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """After a fit's first batch: a ``training_step`` that does not build on the module's steps (an override
        that neither calls ``super().training_step`` nor :meth:`discriminator_step`) would silently drop the
        stabilisers, so it is stopped with one line naming them."""
        super().on_train_batch_end(outputs, batch, batch_idx)
        if self._stabilisers_acted is None:
            return
        requested = {name for name, value in (("instance_noise", self.instance_noise),
                                              ("historical_averaging", self.historical_averaging)) if value}
        missing = sorted(requested - self._stabilisers_acted)
        self._stabilisers_acted = None  # checked for this fit
        if missing:
            raise ValueError(
                f"{type(self).__name__}'s training_step does not go through AdversarialModule's discriminator_step / "
                f"generator_step, so {' and '.join(missing)} did not act: call them (or super().training_step), "
                "or leave the option at 0"
            )

    def current_instance_noise_std(self) -> float:
        """The instance-noise standard deviation at the current generator step (0 when off)."""
        return instance_noise_std(self.generator_steps, self.instance_noise, self.instance_noise_anneal_steps)

    def add_instance_noise(self, x: Tensor) -> Tensor:
        """``x + N(0, sigma_t^2 I)`` (``x`` itself when the noise is off or annealed away); keeps ``x``'s graph."""
        if self._stabilisers_acted is not None:
            self._stabilisers_acted.add("instance_noise")
        std = self.current_instance_noise_std()
        return x if std == 0 else x + std * torch.randn_like(x)

    def with_historical_penalty(self, loss: Tensor, player: Player) -> Tensor:
        """``loss + weight * ||theta - average||^2`` for ``player`` (``loss`` itself when historical averaging is off)."""
        if not self.historical_averaging:
            return loss
        if self._stabilisers_acted is not None:
            self._stabilisers_acted.add("historical_averaging")
        penalty = getattr(self, f"{player}_average").penalty(getattr(self, player))
        self.log_step(f"historical_averaging/{player}", penalty.detach())
        return loss + self.historical_averaging * penalty

    def update_historical_average(self, player: Player) -> None:
        if self.historical_averaging:
            getattr(self, f"{player}_average").update(getattr(self, player))
