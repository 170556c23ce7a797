"""Plain ``ddp``: the module averages each player's gradients across processes itself.

A training step of an adversarial module makes several backward passes, each for one player (the
discriminator's loss, then the generator's), and each reaches only that player's parameters.  Under
manual optimization Lightning prepares DDP's reducer in every ``manual_backward``, and the reducer
expects a gradient for *every* parameter, so ``strategy="ddp"`` stops with its unused-parameters
error; ``ddp_find_unused_parameters_true`` works by searching the autograd graph at every backward.

Instead, as StyleGAN3's training loop does (one all-reduce of a flat copy of a network's gradients
before its optimizer step), the module runs each backward pass inside Lightning's switch for DDP's
gradient sync, ``trainer.strategy.block_backward_sync()``, and then averages the gradients that pass
produced (:meth:`PlayerGradientSync.average_gradients`): those of the parameters that require grad,
i.e. of the optimizer toggled for the step (``LightningModule.toggled_optimizer``, which every step
of the library uses).  The average is taken before the optimizer step, on the gradients as they are
(scaled under fp16), so an inf on one process reaches all of them and the grad scaler skips the
step everywhere, as with DDP's own sync.

Where DDP is asked to find unused parameters (``ddp_find_unused_parameters_true``), DDP's own sync
is left on: the two ways give the same weights (``tests/test_ddp.py``), and
``benchmarks/ddp_cost.py`` measures their cost per step.
"""

from __future__ import annotations

from typing import Iterable

import lightning.pytorch as pl
import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel


class PlayerGradientSync:
    """Averages the gradients of a backward pass over the DDP processes; inert outside plain DDP."""

    def __init__(self) -> None:
        self.active = False
        self.world_size = 1

    def start(self, trainer: pl.Trainer) -> None:
        """At the start of training: take over from DDP when it runs without searching for unused parameters."""
        strategy = trainer.strategy
        wrapped = strategy.model if isinstance(strategy, DDPStrategy) else None
        self.active = isinstance(wrapped, DistributedDataParallel) and not wrapped.find_unused_parameters
        self.world_size = trainer.world_size

    def stop(self) -> None:
        self.active = False

    def average_gradients(self, parameters: Iterable[nn.Parameter]) -> None:
        """Replace the gradients of ``parameters`` (those that have one) by their mean over the processes,
        in one all-reduce of a flat copy (DDP's order: divide by the number of processes, then sum)."""
        gradients = [p.grad for p in parameters if p.grad is not None]
        if not gradients:
            return
        flat = torch.cat([g.reshape(-1) for g in gradients]).div_(self.world_size)
        torch.distributed.all_reduce(flat)
        for gradient, averaged in zip(gradients, flat.split([g.numel() for g in gradients])):
            gradient.copy_(averaged.view_as(gradient))
