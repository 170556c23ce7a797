"""The adversarial losses, all under one contract: both players' losses from the discriminator's scores.

A loss is a function ``loss(real_scores, fake_scores, **options) -> LossPair(discriminator, generator)``
(compare_gan's contract: every loss returns the discriminator's and the generator's loss from the real and
fake scores together).  *Scores* are the discriminator's raw outputs, one per example (pre-sigmoid for the
losses with a probability reading).  Every loss is a quantity to *minimise*; the log-sigmoid ones are
computed with ``softplus`` (``-log sigmoid(a) = softplus(-a)``, ``-log(1 - sigmoid(a)) = softplus(a)``),
never as ``log(sigmoid(.))``, which underflows for confident discriminators.

The discriminator step calls a loss with both score batches and uses ``.discriminator``; the generator step
uses ``.generator``.  Most generator losses ignore the real scores: marked with
:func:`generator_ignores_real_scores`, they get ``real_scores=None`` in the generator step, which then costs
no forward pass of the real batch (and their ``.discriminator`` is ``None`` there).  The relativistic losses
read them.  A user's own loss needs no mark: unmarked, it is always given both.

:data:`LOSSES` is the registry of names (``loss: hinge`` in a config); a user's function is named by its
dotted path instead (:func:`~lightning_gans.gan_modules.losses.registry.resolve`).
"""

from __future__ import annotations

import functools
from types import MappingProxyType
from typing import Callable, Mapping, NamedTuple, Optional

import torch.nn.functional as F
from torch import Tensor

from lightning_gans.gan_modules.losses.precision import at_least_float32


class LossPair(NamedTuple):
    """Both players' losses from one pair of score batches, and values worth logging (e.g. a distance estimate)."""

    discriminator: Optional[Tensor]
    generator: Tensor
    logged: Mapping[str, Tensor] = MappingProxyType({})


AdversarialLoss = Callable[..., LossPair]


def as_loss_pair(losses: tuple) -> LossPair:
    """A loss's result as a :class:`LossPair` (a user's loss may return a plain ``(discriminator, generator)``)."""
    return losses if isinstance(losses, LossPair) else LossPair(*losses)


def generator_ignores_real_scores(loss: AdversarialLoss) -> AdversarialLoss:
    """Mark ``loss`` as one whose generator loss ignores the real scores: the generator step then passes
    ``real_scores=None`` and scores no real batch (the loss returns ``discriminator=None`` then)."""
    loss.generator_reads_real_scores = False
    return loss


def generator_reads_real_scores(loss: Callable) -> bool:
    """Whether the generator step must score the real batch for ``loss`` (unmarked losses: yes)."""
    while isinstance(loss, functools.partial):
        loss = loss.func
    return getattr(loss, "generator_reads_real_scores", True)


# ---------------------------------------------------------------------------------- Goodfellow et al. 2014
def _log_loss_discriminator(real_scores: Optional[Tensor], fake_scores: Tensor, real_label: float) -> Optional[Tensor]:
    """Goodfellow et al. 2014, eq. 1, negated: ``-E[log D(x)] - E[log(1 - D(G(z)))]``; with ``real_label < 1``
    one-sided label smoothing (Salimans et al. 2016, Sec. 3.4).  ``None`` without real scores."""
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must lie in (0, 1], got {real_label}")
    if real_scores is None:
        return None
    return (F.softplus(-real_scores) + (1.0 - real_label) * real_scores).mean() + F.softplus(fake_scores).mean()


@generator_ignores_real_scores
def minimax_loss(real_scores: Optional[Tensor], fake_scores: Tensor, real_label: float = 1.0) -> LossPair:
    """Goodfellow et al. 2014 (arXiv:1406.2661), eq. 1 and Algorithm 1: the two-player minimax game.

    Discriminator: ``-E[log D(x)] - E[log(1 - D(G(z)))]``; at ``D = 1/2`` everywhere (all scores 0) it is
    ``2 log 2`` (Theorem 1: ``C(G) = -log 4``).  The reference code averages the two terms instead of
    summing them; that only rescales the learning rate, and the sum is the paper's value function.
    Generator: descends ``E[log(1 - D(G(z)))]``, which saturates when the discriminator rejects the fakes
    confidently (its gradient vanishes as ``D(G(z)) -> 0``), the reason for :func:`non_saturating_loss`.

    ``real_label < 1`` is **one-sided** label smoothing (Salimans et al. 2016, Sec. 3.4): the reals' term
    becomes the cross-entropy with target ``alpha = real_label``, ``softplus(-a) + (1 - alpha) a`` for score
    ``a``; the fakes' target stays 0 (smoothing it too is harmful: Sec. 3.4).  The paper's value is 0.9.
    """
    return LossPair(_log_loss_discriminator(real_scores, fake_scores, real_label), -F.softplus(fake_scores).mean())


@generator_ignores_real_scores
def non_saturating_loss(real_scores: Optional[Tensor], fake_scores: Tensor, real_label: float = 1.0) -> LossPair:
    """Goodfellow et al. 2014, Section 3: the discriminator's loss of :func:`minimax_loss`; the generator
    maximises ``log D(G(z))`` instead, i.e. minimises ``-E[log D(G(z))]`` (what the authors' code trains)."""
    return LossPair(_log_loss_discriminator(real_scores, fake_scores, real_label), F.softplus(-fake_scores).mean())


# ---------------------------------------------------------------------------------- Wasserstein and hinge
@generator_ignores_real_scores
def wasserstein_loss(real_scores: Optional[Tensor], fake_scores: Tensor) -> LossPair:
    """Arjovsky, Chintala, Bottou 2017 (arXiv:1701.07875), eq. 3 / Algorithm 1, in float32.

    Discriminator (the paper's *critic* ``f``, unbounded, hence not a probability): ``E[f(G(z))] - E[f(x)]``,
    so ``-loss`` is the (scaled) Wasserstein estimate of the paper's training curves (Sec. 4.2), logged as
    ``wasserstein_estimate``.  The reference code (``main.py``) minimises the opposite sign, i.e. its ``f`` is
    the negative of the paper's; we keep the paper's sign.  Generator: ``-E[f(G(z))]``.  Computed in float32
    under autocast (CPU autocast keeps ``mean`` in fp16/bf16).
    """
    generator = -at_least_float32(fake_scores).mean()
    if real_scores is None:
        return LossPair(None, generator)
    discriminator = at_least_float32(fake_scores).mean() - at_least_float32(real_scores).mean()
    return LossPair(discriminator, generator, {"wasserstein_estimate": -discriminator.detach()})


@generator_ignores_real_scores
def hinge_loss(real_scores: Optional[Tensor], fake_scores: Tensor) -> LossPair:
    """The hinge loss, in float32: discriminator ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``, generator
    ``-E[D(G(z))]``.

    Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894), the SVM margin of the discriminator; Miyato, Kataoka,
    Koyama, Yoshida 2018, "Spectral Normalization for GANs" (arXiv:1802.05957), Sec. 4, the "hinge"
    objective.  Scores beyond the margin (real above 1, fake below -1) give no gradient.
    """
    fake = at_least_float32(fake_scores)
    generator = -fake.mean()
    if real_scores is None:
        return LossPair(None, generator)
    return LossPair(F.relu(1.0 - at_least_float32(real_scores)).mean() + F.relu(1.0 + fake).mean(), generator)


# ---------------------------------------------------------------------------------- least squares
@generator_ignores_real_scores
def least_squares_loss(real_scores: Optional[Tensor], fake_scores: Tensor, a: float = 0.0, b: float = 1.0,
                       c: float = 1.0) -> LossPair:
    """LSGAN: Mao, Li, Xie, Lau, Wang, Smolley 2017, "Least Squares Generative Adversarial Networks"
    (arXiv:1611.04076), eq. 2, in float32.

    Discriminator: ``1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]``; generator: ``1/2 E[(D(G(z)) - c)^2]``.
    ``a``, ``b``: the fake and real labels; ``c``: the value the generator wants the discriminator to believe
    for fakes.  The defaults are the paper's 0-1 coding (eq. 9, ``a = 0, b = c = 1``), used in its
    experiments; ``a = -1, b = 1, c = 0`` (eq. 8) minimises the Pearson chi^2 divergence (Sec. 3.2.2).
    """
    fake = at_least_float32(fake_scores)
    generator = 0.5 * (fake - c).square().mean()
    if real_scores is None:
        return LossPair(None, generator)
    return LossPair(0.5 * (at_least_float32(real_scores) - b).square().mean() + 0.5 * (fake - a).square().mean(),
                    generator)


# ---------------------------------------------------------------------------------- relativistic average
# Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element missing from standard GAN"
# (arXiv:1807.00734), Sec. 4.2 (RaGANs) and Appendix: the discriminator judges how much more realistic a
# real example is than the average fake, and the generator's loss reads the real scores too.  The paper's
# sums are kept; the author's code (AlexiaJM/RelativisticGAN, GAN_losses_iter.py) halves every loss, which
# only rescales the learning rate of SGD (Adam is invariant to it).
def _relative_scores(real_scores: Tensor, fake_scores: Tensor) -> tuple[Tensor, Tensor]:
    """``(C(x_r) - E C(x_f), C(x_f) - E C(x_r))`` in float32: each score relative to the other side's mean."""
    real, fake = at_least_float32(real_scores), at_least_float32(fake_scores)
    return real - fake.mean(), fake - real.mean()


def relativistic_average_loss(real_scores: Tensor, fake_scores: Tensor) -> LossPair:
    """RaSGAN (Jolicoeur-Martineau 2018, Sec. 4.2): with ``D~(x_r) = sigmoid(C(x_r) - E C(x_f))`` and
    ``D~(x_f) = sigmoid(C(x_f) - E C(x_r))``, the discriminator minimises ``-E log D~(x_r) - E log(1 - D~(x_f))``
    and the generator the same with real and fake swapped: ``-E log D~(x_f) - E log(1 - D~(x_r))``."""
    real, fake = _relative_scores(real_scores, fake_scores)
    return LossPair(F.softplus(-real).mean() + F.softplus(fake).mean(),
                    F.softplus(-fake).mean() + F.softplus(real).mean())


def relativistic_average_least_squares_loss(real_scores: Tensor, fake_scores: Tensor) -> LossPair:
    """RaLSGAN (Jolicoeur-Martineau 2018, Sec. 4.2 and Appendix): discriminator
    ``E[(C(x_r) - E C(x_f) - 1)^2] + E[(C(x_f) - E C(x_r) + 1)^2]``, generator the same with real and fake
    swapped: ``E[(C(x_f) - E C(x_r) - 1)^2] + E[(C(x_r) - E C(x_f) + 1)^2]``."""
    real, fake = _relative_scores(real_scores, fake_scores)
    return LossPair((real - 1).square().mean() + (fake + 1).square().mean(),
                    (fake - 1).square().mean() + (real + 1).square().mean())


def relativistic_average_hinge_loss(real_scores: Tensor, fake_scores: Tensor) -> LossPair:
    """RaHingeGAN (Jolicoeur-Martineau 2018, Sec. 4.2 and Appendix): discriminator
    ``E[max(0, 1 - (C(x_r) - E C(x_f)))] + E[max(0, 1 + (C(x_f) - E C(x_r)))]``, generator the same with real
    and fake swapped."""
    real, fake = _relative_scores(real_scores, fake_scores)
    return LossPair(F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
                    F.relu(1 - fake).mean() + F.relu(1 + real).mean())


#: The registered losses, by the name a config gives (the only list of them).
LOSSES: dict[str, AdversarialLoss] = {
    "minimax": minimax_loss,
    "non_saturating": non_saturating_loss,
    "wasserstein": wasserstein_loss,
    "hinge": hinge_loss,
    "least_squares": least_squares_loss,
    "relativistic_average": relativistic_average_loss,
    "relativistic_average_least_squares": relativistic_average_least_squares_loss,
    "relativistic_average_hinge": relativistic_average_hinge_loss,
}
