"""The running average of a player's parameters, for historical averaging (Salimans et al. 2016, Sec. 3.3)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_gans.gan_modules.losses import historical_averaging_penalty


class ParameterAverage(nn.Module):
    """``(1/t) sum_{i=1}^t theta[i]``: the mean of a network's parameters over its first ``t`` values.

    ``theta[1]`` is the initial value (at construction); :meth:`update` folds in the current value
    after each of the player's optimizer steps, so at the player's ``k``-th step (``k`` = 1, 2, ...)
    the average is over ``theta[1..k]``, the current value included, as the paper's
    ``||theta - (1/t) sum_{i=1}^t theta[i]||^2``.  The averages and ``t`` are persistent buffers:
    they are checkpointed, so a resumed run continues the same average exactly.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        parameters = list(network.parameters())
        if not parameters:
            raise ValueError(f"{type(network).__name__} has no parameters to average")
        for index, parameter in enumerate(parameters):
            self.register_buffer(f"average_{index}", parameter.detach().clone())
        self.register_buffer("count", torch.tensor(1, dtype=torch.int64))

    def averages(self) -> list[Tensor]:
        return [buffer for name, buffer in self.named_buffers() if name.startswith("average_")]

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """``mean <- mean + (theta - mean) / (t + 1)``, ``t <- t + 1``."""
        self.count += 1
        weight = 1.0 / float(self.count)
        for average, parameter in zip(self.averages(), network.parameters(), strict=True):
            average.lerp_(parameter.detach().to(average.dtype), weight)

    def penalty(self, network: nn.Module) -> Tensor:
        """:func:`~lightning_gans.gan_modules.losses.historical_averaging_penalty` of ``network``'s parameters against the average."""
        return historical_averaging_penalty(list(network.parameters()), self.averages())
