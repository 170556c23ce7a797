"""Stop training on a NaN/inf loss without making the host wait for the accelerator at every step.

``bool(torch.isfinite(loss))`` copies a value from the device: on a GPU the host waits there for all
queued work, every optimizer step, which throws away the overlap of host and device.  On the CPU that
costs nothing, so the check is immediate there.  On accelerators it is *deferred*: each loss is folded
into a flag that stays on the device (with the step at which the first bad loss appeared), and the
flag is read where the training loop synchronises anyway -- the batches Lightning logs, before a
checkpoint is built (so a checkpoint never holds weights updated from a bad loss), and at the end of
each epoch and of training.  The error names the first bad step either way.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

PLAYERS = ("discriminator", "generator", "encoder", "code discriminator")
GENERIC_ADVICE = "Lower the learning rates or check the data for NaNs."


class NonFiniteLossCheck:
    """Records losses; raises :class:`FloatingPointError` naming the first non-finite one.

    Args:
        deferred: keep the flag on the device and check it in :meth:`raise_if_any` only; ``None``
            (default) defers on every device but the CPU.
        advice: called when the error is raised, for what to try next (the module passes its
            :meth:`~lightning_gans.gan_modules.training.base.AdversarialModule.non_finite_loss_advice`, which
            fits the method); ``None``: :data:`GENERIC_ADVICE`.
    """

    def __init__(self, deferred: Optional[bool] = None, advice: Optional[Callable[[], str]] = None) -> None:
        self.deferred = deferred
        self.advice = advice
        self._bad: Optional[Tensor] = None  # device flags: any bad loss so far, and where the first one was
        self._first_step: Optional[Tensor] = None
        self._first_generator_step: Optional[Tensor] = None
        self._first_player: Optional[Tensor] = None

    def is_deferred(self, device: torch.device) -> bool:
        return self.deferred if self.deferred is not None else device.type != "cpu"

    def record(self, loss: Tensor, player: str, global_step: int, generator_step: int) -> None:
        """Check ``loss`` now (immediate mode) or fold it into the device flag (deferred mode)."""
        if not self.is_deferred(loss.device):
            value = loss.item()  # a CPU scalar: reading it is cheaper than a torch.isfinite kernel
            if not math.isfinite(value):
                raise self._error(player, global_step, generator_step, value)
            return
        bad = ~torch.isfinite(loss.detach())
        if self._bad is None:
            zero = torch.zeros((), dtype=torch.int64, device=loss.device)
            self._bad = torch.zeros((), dtype=torch.bool, device=loss.device)
            self._first_step, self._first_generator_step, self._first_player = zero, zero.clone(), zero.clone()
        first = bad & ~self._bad  # python scalars below go to the kernels as arguments: no copy, no wait
        self._first_step = torch.where(first, global_step, self._first_step)
        self._first_generator_step = torch.where(first, generator_step, self._first_generator_step)
        self._first_player = torch.where(first, PLAYERS.index(player), self._first_player)
        self._bad = self._bad | bad

    def raise_if_any(self) -> None:
        """Read the deferred flag (one device-to-host copy) and raise if a bad loss was recorded."""
        if self._bad is not None and bool(self._bad):
            raise self._error(PLAYERS[int(self._first_player)], int(self._first_step),
                              int(self._first_generator_step), None)

    def _error(self, player: str, global_step: int, generator_step: int, value: Optional[float]) -> FloatingPointError:
        what = f"is {value}" if value is not None else "became non-finite (NaN or inf)"
        advice = self.advice() if self.advice is not None else GENERIC_ADVICE
        return FloatingPointError(
            f"the {player} loss {what} at global step {global_step} (generator step {generator_step}); training "
            f"stopped, checkpoints already written are intact. {advice}"
        )
