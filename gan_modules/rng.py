"""Torch's random number generators as checkpointable state, so that a resumed run draws the same noise.

Lightning restores weights, optimizers and loops from a checkpoint but not the global RNG
(lightning.md section 8), so the latent noise (and the interpolates, perturbations, instance
noise) of a resumed run would differ from an uninterrupted run's.  The training step draws from
torch's CPU generator and, on GPU, the CUDA generators only.
"""

from __future__ import annotations

from typing import Any

import torch


def rng_state() -> dict[str, Any]:
    """The CPU generator's state and, when CUDA is in use, every CUDA device's generator state."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (the CUDA states of the devices this machine has)."""
    torch.set_rng_state(state["cpu"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        for device, device_state in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state.cpu(), device)
