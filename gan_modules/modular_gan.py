"""A method as a choice of loss and gradient penalty, as compare_gan's ``ModularGAN`` composes them
(Kurach, Lucic, Zhai, Michalski, Gelly 2019, "A Large-Scale Study on Regularization and Normalization
in GANs", arXiv:1807.04720: ``d_loss += lambda * penalty_lib.get_penalty_loss(...)``).

The loss comes from :data:`~lightning_gans.gan_modules.losses.LOSSES`, the penalty from
:data:`~lightning_gans.gan_modules.losses.PENALTIES` (one signature, ``penalty(critic, real, fake,
scaler)``), so a new loss or penalty is a function there plus a config.  WGAN-GP and GAN-GP /
DRAGAN-NS are fixed compositions (:mod:`.wgan_gp`, :mod:`.nsgan_gp`); :class:`ModularGAN` exposes
the choice, e.g. the hinge loss with R1 (``configs/ring8_hinge_r1.yaml``).
"""

from __future__ import annotations

import functools
from typing import Literal, Optional

from torch import Tensor

from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.losses import LOSSES, PENALTIES, lazy_penalty_weight
from lightning_gans.gan_modules.networks.batch_coupling import reject_batch_coupled_critic


class LossAndPenaltyModule(AdversarialModule):
    """The shared part of every method that is a loss plus an optional penalty.

    A subclass calls :meth:`compose` in its ``__init__`` (after ``super().__init__``); this class
    has no constructor arguments of its own, so each subclass's hyper-parameters are exactly its
    own arguments (``load_from_checkpoint`` and AdaGAN's re-initialisation rebuild it from them).

    Discriminator loss: ``L_D(D(x), D(G(z))) + w_t * penalty(D, x, G(z))``; generator loss:
    ``L_G(D(G(z)))``.  ``w_t`` is the penalty weight, or under lazy regularisation (``interval > 1``)
    ``weight * interval`` every ``interval``-th discriminator step and 0 in between
    (:func:`~lightning_gans.gan_modules.losses.lazy_penalty_weight`; added to that step's loss, not
    taken as a separate optimizer step as StyleGAN2's code does, whose ``Dreg`` phase also rescales
    Adam's learning rate and betas).  Logs ``"penalty"`` (unweighted) on the steps that compute it,
    and for the Wasserstein loss ``"wasserstein_estimate"`` (``E[f(x)] - E[f(G(z))]``, without the
    penalty).  A penalised critic must score each example alone
    (:func:`~lightning_gans.gan_modules.networks.batch_coupling.reject_batch_coupled_critic`).
    """

    def compose(
        self,
        loss: str,
        penalty: Optional[str],
        penalty_weight: float,
        penalty_interval: int = 1,
        method: Optional[str] = None,
        **penalty_options,
    ) -> None:
        """Choose the loss and penalty by name; ``method`` names the method in error messages;
        ``penalty_options`` are the penalty function's keyword options (DRAGAN's perturbation)."""
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
        if penalty is not None and penalty not in PENALTIES:
            raise ValueError(f"penalty must be None or one of {sorted(PENALTIES)}, got {penalty!r}")
        if penalty_weight < 0:
            raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
        if penalty_interval < 1:
            raise ValueError(f"penalty_interval must be at least 1, got {penalty_interval}")
        if penalty is not None:
            reject_batch_coupled_critic(self.discriminator, method or f"penalty={penalty!r}")
        self.loss_name = loss
        self.penalty_name = penalty
        self.penalty_weight = penalty_weight
        self.penalty_interval = penalty_interval
        self._discriminator_loss_fn, self._generator_loss_fn = LOSSES[loss]
        self._penalty_fn = None if penalty is None else functools.partial(PENALTIES[penalty], **penalty_options)

    @property
    def discriminator_steps_taken(self) -> int:
        """Discriminator steps before the current one: Lightning's ``global_step`` counts both players'
        optimizer steps, ``generator_steps`` the generator's (both restored on resume)."""
        return self.global_step - self.generator_steps

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        loss = self._discriminator_loss_fn(self.discriminator(real), self.discriminator(fake))
        if self.loss_name == "wasserstein":  # the curves of Arjovsky et al. 2017, Sec. 4.2
            self.log_step("wasserstein_estimate", -loss.detach(), prog_bar=True)
        return self.with_penalty(loss, real, fake)

    def with_penalty(self, loss: Tensor, real: Tensor, fake: Tensor) -> Tensor:
        """``loss`` plus the weighted penalty at this discriminator step (``loss`` itself on lazy steps without it)."""
        if self._penalty_fn is None:
            return loss
        weight = lazy_penalty_weight(self.penalty_weight, self.penalty_interval, self.discriminator_steps_taken)
        if weight == 0:
            return loss
        penalty = self._penalty_fn(self.discriminator, real, fake, scaler=self.grad_scaler)
        self.log_step("penalty", penalty.detach())
        return loss + weight * penalty

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        return self._generator_loss_fn(self.discriminator(fake))


class ModularGAN(LossAndPenaltyModule):
    """Any loss of :data:`~lightning_gans.gan_modules.losses.LOSSES` with any penalty of
    :data:`~lightning_gans.gan_modules.losses.PENALTIES` (or none).

    Args:
        loss: ``"non_saturating"`` (Goodfellow et al. 2014, Sec. 3), ``"wasserstein"`` (Arjovsky et
            al. 2017) or ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018; the default).
        penalty: ``None`` (default), ``"interpolate"`` (Gulrajani et al. 2017), ``"dragan"``
            (Kodali et al. 2017; the reference code's perturbation), ``"r1"`` or ``"r2"``
            (Mescheder et al. 2018, eqs. 9-10).
        penalty_weight: ``lambda``, or ``gamma`` for R1/R2 (10: Gulrajani et al.'s lambda and
            Mescheder et al.'s and StyleGAN2's ``r1_gamma`` default).
        penalty_interval: lazy regularisation (Karras et al. 2020, Sec. 3.1): the penalty every this
            many discriminator steps, weighted by ``penalty_weight * penalty_interval``; 1 (default):
            every step (StyleGAN2 uses 16 for R1).

    Optimizers, ``n_critic`` and the rest: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`'s
    (Adam(2e-4, betas=(0.5, 0.999)), one discriminator step a generator step).  See
    :class:`LossAndPenaltyModule` for the losses, logging and the batch-coupling check.
    """

    def __init__(
        self,
        *args,
        loss: Literal["non_saturating", "wasserstein", "hinge"] = "hinge",
        penalty: Optional[Literal["interpolate", "dragan", "r1", "r2"]] = None,
        penalty_weight: float = 10.0,
        penalty_interval: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.compose(loss, penalty, penalty_weight, penalty_interval)
