"""Adversarial losses as pure functions of tensors (no Lightning inside).

Every loss is a quantity to *minimise* and is computed from logits with ``softplus``
(``-log sigmoid(a) = softplus(-a)``, ``-log(1 - sigmoid(a)) = softplus(a)``), never as
``log(sigmoid(.))``, which underflows for confident discriminators.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, eq. 1, negated: ``-E[log D(x)] - E[log(1 - D(G(z)))]``.

    At ``D = 1/2`` everywhere (all logits 0) the value is ``2 log 2`` (Theorem 1: ``C(G) = -log 4``).
    The reference code averages the two terms instead of summing them; that only rescales the
    learning rate, and the sum is the paper's value function.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Algorithm 1: the generator descends ``E[log(1 - D(G(z)))]``.

    Saturates when the discriminator rejects the fakes confidently (its gradient vanishes as
    ``D(G(z)) -> 0``), which is why Section 3 proposes the non-saturating loss.
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Section 3: maximise ``log D(G(z))``, i.e. minimise ``-E[log D(G(z))]``."""
    return F.softplus(-fake_logits).mean()
