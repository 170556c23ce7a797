"""An exponential moving average of a network's weights (for sampling with a smoothed generator)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ExponentialMovingAverage(nn.Module):
    """``shadow = decay * shadow + (1 - decay) * weights`` after each update, buffers copied as they are.

    Averaging generator weights over training iterates (Yazici et al. 2019, "The Unusual
    Effectiveness of Averaging in GAN Training") gives samples of a smoothed generator; BigGAN and
    StyleGAN use decay 0.999.  Before ``start_step`` updates the shadow simply tracks the weights.
    The shadow is a frozen copy (no gradients) registered as a submodule, so it is checkpointed and
    moved between devices with its LightningModule; it follows the module's train/eval mode (so
    Lightning does not warn about modules left in eval mode), and
    :meth:`~lightning_gans.gan_modules.training.base.AdversarialModule.sample` runs it in eval mode.
    """

    def __init__(self, network: nn.Module, decay: float = 0.999, start_step: int = 0) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must lie in [0, 1), got {decay}")
        if start_step < 0:
            raise ValueError(f"EMA start_step must be non-negative, got {start_step}")
        self.decay, self.start_step = decay, start_step
        self.shadow = copy.deepcopy(network).requires_grad_(False)

    @torch.no_grad()
    def update(self, network: nn.Module, step: int) -> None:
        """Fold the current weights of ``network`` in; ``step`` counts updates of that network."""
        decay = self.decay if step >= self.start_step else 0.0
        for shadow, current in zip(self.shadow.parameters(), network.parameters()):
            shadow.lerp_(current.detach(), 1.0 - decay)
        for shadow, current in zip(self.shadow.buffers(), network.buffers()):
            shadow.copy_(current)

    @torch.no_grad()
    def reset(self, network: nn.Module) -> None:
        """Make the shadow an exact copy of ``network``'s current weights and buffers."""
        for shadow, current in zip(self.shadow.state_dict().values(), network.state_dict().values()):
            shadow.copy_(current)

    def forward(self, *args, **kwargs):
        return self.shadow(*args, **kwargs)
