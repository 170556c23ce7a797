"""Per-player optimizer settings that the Lightning CLI can set and a checkpoint can pickle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import torch


@dataclass(frozen=True)
class OptimizerSpec:
    """Which optimizer a player uses and its settings.

    ``betas`` is used by Adam, ``alpha`` by RMSprop (PyTorch's default 0.99, as in the WGAN
    reference code), ``momentum`` by SGD and RMSprop.  From the command line:
    ``--model.discriminator_optimizer.lr=1e-4``.
    """

    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    alpha: float = 0.99
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"OptimizerSpec.lr must be positive, got {self.lr}")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"OptimizerSpec.betas must lie in [0, 1), got {self.betas}")

    def build(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        if self.name == "adam":
            return torch.optim.Adam(params, lr=self.lr, betas=tuple(self.betas), weight_decay=self.weight_decay)
        if self.name == "rmsprop":
            return torch.optim.RMSprop(
                params, lr=self.lr, alpha=self.alpha, momentum=self.momentum, weight_decay=self.weight_decay
            )
        if self.name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        raise ValueError(f"unknown optimizer {self.name!r}; choose 'adam', 'rmsprop' or 'sgd'")
