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
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from lightning_gans.gan_modules.training.step_logging import step_values_are_kept

PLAYERS = ("discriminator", "generator", "encoder", "code discriminator")
GENERIC_ADVICE = "Lower the learning rates or check the data for NaNs."


class NonFiniteLossCheck:
    """Records losses; raises :class:`FloatingPointError` naming the first non-finite one.

    Args:
        deferred: keep the flag on the device and check it in :meth:`raise_if_any` only; ``None``
            (default) defers on every device but the CPU.
        advice: called when the error is raised, for what to try next (the module passes its
            :meth:`FiniteLossGuard.non_finite_loss_advice`, which
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


class FiniteLossGuard:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that stops training
    on a NaN/inf loss: each step's losses go through :meth:`_check_finite` into the module's
    ``finite_check`` (a :class:`NonFiniteLossCheck`), whose deferred flag is read on the batches whose
    step values Lightning keeps, at the end of each epoch and of training, and before a checkpoint is built."""

    finite_check: NonFiniteLossCheck

    def _check_finite(self, loss: Tensor, player: str) -> None:
        """Stop with a clear error on a NaN/inf loss; checkpoints already written stay untouched.

        Immediate on the CPU; on accelerators the check is deferred to the batches Lightning logs,
        checkpoints and epoch ends, so that the host never waits for the device at every step
        (module docstring).  Under an fp16 grad scaler an overflow is expected now and then (the
        scaler skips that step), so the check is left to the scaler there.
        """
        if self.grad_scaler is None:
            self.finite_check.record(loss, player, self.global_step, self.generator_steps)

    def non_finite_loss_advice(self) -> str:
        """What to try after a NaN/inf loss, for this method (the end of the error's message): a method
        with a gradient penalty is told about its weight, the others about the penalties."""
        advice = "Lower the learning rates (generator_optimizer.lr, discriminator_optimizer.lr), check the data for NaNs"
        if getattr(self, "penalty", None) is not None:  # a composition with a gradient penalty
            return f"{advice}, or lower penalty_weight (now {self.penalty_weight}) or train in 32-bit precision."
        return f"{advice}, or use a method with a gradient penalty (WGANGP, NSGANGP)."

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.finite_check.is_deferred(self.device) and step_values_are_kept(self.trainer):
            self.finite_check.raise_if_any()
        super().on_train_batch_end(outputs, batch, batch_idx)

    def on_train_epoch_end(self) -> None:
        self.finite_check.raise_if_any()
        super().on_train_epoch_end()

    def on_train_end(self) -> None:
        self.finite_check.raise_if_any()
        super().on_train_end()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.finite_check.raise_if_any()  # never write weights updated from a NaN/inf loss
        super().on_save_checkpoint(checkpoint)
