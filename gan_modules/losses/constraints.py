"""Constraints on the discriminator, applied after each of its optimizer steps.

A constraint is ``constraint(discriminator, **options) -> None`` acting in place; :data:`CONSTRAINTS` is the
registry of names, and a user's function is named by its dotted path.
"""

from __future__ import annotations

from typing import Callable

import torch


def clip_weights_(module: torch.nn.Module, clip_value: float = 0.01) -> None:
    """Clamp every parameter of ``module`` (BN affine ones included) into ``[-c, c]`` in place.

    Arjovsky et al. 2017, Algorithm 1, line 8 (``c = 0.01``); the reference code clamps
    ``for p in netD.parameters()``.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-clip_value, clip_value)


#: The registered constraints, by the name a config gives (the only list of them).
CONSTRAINTS: dict[str, Callable[..., None]] = {"clip_weights": clip_weights_}
