"""A method as a composition: a loss x a gradient penalty x a constraint on the discriminator, as compare_gan's
``ModularGAN`` composes them (Kurach, Lucic, Zhai, Michalski, Gelly 2019, "A Large-Scale Study on
Regularization and Normalization in GANs", arXiv:1807.04720: ``d_loss += lambda * penalty_lib.get_penalty_loss(...)``).

The pieces are pure functions (:mod:`lightning_gans.gan_modules.losses`), each chosen by a registered name or
the dotted path of a user's own function; the discriminator schedule is the base module's
:meth:`~lightning_gans.gan_modules.training.base.AdversarialModule.discriminator_steps_per_generator_step`
(``n_critic``; WGAN's warm-up overrides it).  GAN, WGAN, WGAN-GP, NS-GAN-GP / DRAGAN-NS and ModularGAN are
each a few lines of :meth:`ComposedGAN.compose`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Mapping, Optional

from torch import Tensor

from lightning_gans.gan_modules.losses import (
    CONSTRAINTS,
    LOSSES,
    PENALTIES,
    LossPair,
    as_loss_pair,
    generator_reads_real_scores,
    lazy_penalty_weight,
    resolve,
)
from lightning_gans.gan_modules.networks.batch_coupling import reject_batch_coupled_discriminator
from lightning_gans.gan_modules.training.base import AdversarialModule


def name_of(piece: str | Callable) -> str:
    """A piece as a config names it: its registered name or dotted path, or a function's own name."""
    return piece if isinstance(piece, str) else getattr(piece, "__name__", repr(piece))


def bind_options(function: Callable, options: Optional[Mapping[str, Any]], kind: str, name: str,
                 leading: int) -> Callable:
    """``function`` (the ``kind`` named ``name`` in the config) with keyword ``options`` bound; an option it does
    not take is refused in one line.

    ``leading``: how many positional arguments every call passes (2 scores for a loss, 3 for a penalty's
    discriminator, real and fake, 1 for a constraint's discriminator)."""
    if not options:
        return function
    try:
        inspect.signature(function).bind(*([None] * leading), **options)
    except TypeError as error:
        raise ValueError(f"the {kind} {name!r} does not take the options "
                         f"{dict(options)}: {error}") from error
    return functools.partial(function, **options)


class ComposedGAN(AdversarialModule):
    """The shared part of every method that is a loss, an optional penalty and an optional constraint.

    A subclass calls :meth:`compose` in its ``__init__`` (after ``super().__init__``); this class has no
    constructor arguments of its own, so each subclass's hyper-parameters are exactly its own arguments
    (``load_from_checkpoint`` and AdaGAN's re-initialisation rebuild it from them).

    Discriminator loss: ``loss(D(x), D(G(z))).discriminator + w_t * penalty(D, x, G(z))``; generator loss:
    ``loss(D(x) or None, D(G(z))).generator`` (the real batch is scored only for a loss that reads it, e.g.
    the relativistic ones).  ``w_t`` is the penalty weight, or under lazy regularisation (``interval > 1``)
    ``weight * interval`` every ``interval``-th discriminator step and 0 in between
    (:func:`~lightning_gans.gan_modules.losses.lazy_penalty_weight`; added to that step's loss, not taken as a
    separate optimizer step as StyleGAN2's code does, whose ``Dreg`` phase also rescales Adam's learning rate
    and betas).  The constraint acts on the discriminator after each of its steps (WGAN's weight clipping).
    Logs ``"penalty"`` (unweighted) on the steps that compute it and what the loss returns to be logged
    (the Wasserstein loss: ``"wasserstein_estimate"``).  A penalised discriminator must score each example
    alone (:func:`~lightning_gans.gan_modules.networks.batch_coupling.reject_batch_coupled_discriminator`).
    """

    def compose(
        self,
        loss: str | Callable,
        *,
        loss_options: Optional[Mapping[str, Any]] = None,
        penalty: Optional[str | Callable] = None,
        penalty_weight: float = 0.0,
        penalty_interval: int = 1,
        penalty_options: Optional[Mapping[str, Any]] = None,
        constraint: Optional[str | Callable] = None,
        constraint_options: Optional[Mapping[str, Any]] = None,
        method: Optional[str] = None,
    ) -> None:
        """Choose each piece by registered name, dotted path or the function itself, with its keyword options;
        ``method`` names the method in error messages."""
        if penalty_weight < 0:
            raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
        if penalty_interval < 1:
            raise ValueError(f"penalty_interval must be at least 1, got {penalty_interval}")
        self.adversarial_loss = bind_options(resolve(loss, LOSSES, "loss"), loss_options, "loss", name_of(loss),
                                             leading=2)
        self.penalty = None if penalty is None else bind_options(
            resolve(penalty, PENALTIES, "penalty"), penalty_options, "penalty", name_of(penalty), leading=3)
        self.constraint = None if constraint is None else bind_options(
            resolve(constraint, CONSTRAINTS, "constraint"), constraint_options, "constraint", name_of(constraint),
            leading=1)
        if self.penalty is not None:
            reject_batch_coupled_discriminator(self.discriminator, method or f"penalty={penalty!r}")
        self.loss_name, self.penalty_name, self.constraint_name = (
            None if piece is None else name_of(piece) for piece in (loss, penalty, constraint))
        self.penalty_weight = penalty_weight
        self.penalty_interval = penalty_interval
        self._generator_reads_real_scores = generator_reads_real_scores(self.adversarial_loss)

    @property
    def discriminator_steps_taken(self) -> int:
        """Discriminator steps before the current one: Lightning's ``global_step`` counts both players'
        optimizer steps, ``generator_steps`` the generator's (both restored on resume); 0 outside a fit (a loss
        computed by hand on a loaded module)."""
        return 0 if self._trainer is None else self.global_step - self.generator_steps

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        losses = self.losses(self.discriminator(real), self.discriminator(fake))
        for name, value in losses.logged.items():
            self.log_step(name, value, prog_bar=True)
        return self.with_penalty(losses.discriminator, real, fake)

    def with_penalty(self, loss: Tensor, real: Tensor, fake: Tensor) -> Tensor:
        """``loss`` plus the weighted penalty at this discriminator step (``loss`` itself on lazy steps without it)."""
        if self.penalty is None:
            return loss
        weight = lazy_penalty_weight(self.penalty_weight, self.penalty_interval, self.discriminator_steps_taken)
        if weight == 0:
            return loss
        penalty = self.penalty(self.discriminator, real, fake, scaler=self.grad_scaler)
        self.log_step("penalty", penalty.detach())
        return loss + weight * penalty

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        real_scores = self.discriminator(real) if self._generator_reads_real_scores else None
        return self.losses(real_scores, self.discriminator(fake)).generator

    def losses(self, real_scores: Optional[Tensor], fake_scores: Tensor) -> LossPair:
        """The composed loss of a pair of score batches (``real_scores`` is ``None`` in the generator step of a
        loss that ignores them)."""
        return as_loss_pair(self.adversarial_loss(real_scores, fake_scores))

    def after_discriminator_step(self) -> None:
        if self.constraint is not None:
            self.constraint(self.discriminator)
