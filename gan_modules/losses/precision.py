"""The dtype in which the losses and penalties reduce."""

from __future__ import annotations

import torch
from torch import Tensor


def at_least_float32(x: Tensor) -> Tensor:
    """fp16/bf16 -> float32, float32/float64 unchanged: reductions under autocast stay accurate."""
    return x.to(torch.promote_types(x.dtype, torch.float32))
