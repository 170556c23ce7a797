"""Per-player optimizer settings that the Lightning CLI can set; checkpoints store them as plain dicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import torch
from torch.optim.lr_scheduler import LambdaLR


@dataclass(frozen=True)
class OptimizerSpec:
    """Which optimizer a player uses and its settings.

    ``betas`` is used by Adam, ``alpha`` by RMSprop (PyTorch's default 0.99, as in the WGAN
    reference code), ``momentum`` by SGD and RMSprop.  From the command line:
    ``--model.discriminator_optimizer.lr=1e-4``.  A module's hyper-parameters (hence its
    checkpoints) hold :meth:`as_dict`, which the modules take back through :meth:`coerce`.
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

    @classmethod
    def coerce(cls, value: "OptimizerSpec | Mapping[str, Any]") -> "OptimizerSpec":
        """``value`` itself, or the spec that a dict of its fields (:meth:`as_dict`) describes."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an OptimizerSpec or a dict of its fields, got {type(value).__name__}")
        unknown = sorted(set(value) - {field.name for field in fields(cls)})
        if unknown:
            raise ValueError(f"unknown OptimizerSpec fields {unknown}; the fields are {[f.name for f in fields(cls)]}")
        settings = dict(value)
        if "betas" in settings:
            settings["betas"] = tuple(settings["betas"])
        return cls(**settings)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (betas as a list, as the Lightning CLI writes them)."""
        return {**asdict(self), "betas": list(self.betas)}

    def param_group_settings(self) -> dict[str, Any]:
        """The settings as the optimizer's ``param_groups`` hold them."""
        if self.name == "adam":
            return {"lr": self.lr, "betas": tuple(self.betas), "weight_decay": self.weight_decay}
        if self.name == "rmsprop":
            return {"lr": self.lr, "alpha": self.alpha, "momentum": self.momentum, "weight_decay": self.weight_decay}
        if self.name == "sgd":
            return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}
        raise ValueError(f"unknown optimizer {self.name!r}; choose 'adam', 'rmsprop' or 'sgd'")

    def build(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        optimizer = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
        settings = self.param_group_settings()
        return optimizer[self.name](params, **settings)

    def apply_to(self, optimizer: torch.optim.Optimizer) -> None:
        """Set these settings on ``optimizer``, e.g. after a checkpoint's optimizer state restored its own."""
        for group in optimizer.param_groups:
            group.update(self.param_group_settings())


def linear_decay(total_steps: int) -> Callable[[int], float]:
    """The factor ``max(0, 1 - t / total_steps)`` of the learning rate after ``t`` scheduler steps."""
    return lambda step: max(0.0, 1.0 - step / total_steps)


def linear_decay_schedulers(optimizers: Sequence[torch.optim.Optimizer], total_steps: int) -> list[LambdaLR]:
    """One ``LambdaLR`` per optimizer, decaying its learning rates linearly to 0 over ``total_steps`` steps."""
    return [LambdaLR(optimizer, linear_decay(total_steps)) for optimizer in optimizers]
