"""Torch's random number generators as checkpointable state, so that a resumed run draws the same noise,
and one random stream per DDP rank.

Lightning restores weights, optimizers and loops from a checkpoint but not the global RNG
(``Trainer.fit(ckpt_path=...)`` restores no ``torch``/``numpy``/``random`` state), so the latent noise (and the interpolates, perturbations, instance
noise) of a resumed run would differ from an uninterrupted run's.  The training step draws from
torch's CPU generator and, on GPU, the CUDA generators only.

Under DDP, ``seed_everything`` seeds every rank alike, so without :func:`decorrelate_rank` every rank
would draw the same latent noise: the ranks' fake batches would be copies of one another and the
all-reduced generator gradient would average N identical batches (the usual GAN practice, e.g.
StyleGAN2's ``seed * num_gpus + rank``, is one stream a rank).  A DDP checkpoint therefore keeps every
rank's state (:func:`gather_rank_rng_states`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch

#: distance between the seeds of consecutive ranks (a prime, so rank streams never coincide by seed)
RANK_SEED_STRIDE = 1_000_003


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


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Inside: torch's CPU generator (and ``device``'s, on CUDA) seeded with ``seed``; afterwards both are
    back where they were, so a callback can draw reproducible samples without changing the training run."""
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def decorrelate_rank(rank: int) -> None:
    """Reseed torch's generators (CPU and CUDA) with a seed drawn from the current stream plus ``rank``
    times :data:`RANK_SEED_STRIDE`: ranks whose streams were equal get different, reproducible streams."""
    base = int(torch.randint(0, 2**62, (1,)).item())
    torch.manual_seed(base + RANK_SEED_STRIDE * rank)


def gather_rank_rng_states(all_gather, device: torch.device) -> list[dict[str, Any]]:
    """Every rank's CPU generator state and the state of its own CUDA device's generator, in rank order.

    A collective: every rank must call it (Lightning builds a checkpoint on every rank).  ``all_gather``
    is the strategy's (tensors on ``device``, the rank's device, as NCCL requires).
    """
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.empty(0, dtype=torch.uint8)
    gathered = all_gather(torch.cat([cpu, cuda]).to(device)).cpu()
    return [{"cpu": row[: len(cpu)].clone(), "cuda": row[len(cpu):].clone()} for row in gathered]


def set_rank_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Restore one entry of :func:`gather_rank_rng_states` on this rank."""
    torch.set_rng_state(state["cpu"].cpu())
    if device.type == "cuda" and state["cuda"].numel():
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


class RandomStateRestore:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that checkpoints
    torch's RNG state (every rank's under DDP) and restores it when a run resumes, and gives every DDP
    rank its own stream (module docstring)."""

    _rng_state_to_restore: Optional[dict[str, Any]] = None  # from on_load_checkpoint, for on_train_start
    _rank_rng_states_to_restore: Optional[list[dict[str, Any]]] = None  # the same, one a DDP rank

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["rng_state"] = rng_state()
        if self._trainer is not None and self.trainer.world_size > 1:
            checkpoint["rng_state_per_rank"] = gather_rank_rng_states(self.trainer.strategy.all_gather, self.device)
        super().on_save_checkpoint(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._rng_state_to_restore = checkpoint.get("rng_state")
        self._rank_rng_states_to_restore = checkpoint.get("rng_state_per_rank")
        super().on_load_checkpoint(checkpoint)

    def on_train_start(self) -> None:
        """Restore the RNG state of a resumed checkpoint, so the run continues with the same noise.

        Not in ``on_load_checkpoint``: between it and here Lightning builds the dataloader iterator
        and the datamodule its sampler, which draw from the global RNG; from here to the first
        training batch nothing does (:class:`~lightning_gans.datamodules.resumable.ResumableDataLoader`
        seeds its workers from its own generator), as in the uninterrupted run after the checkpoint was
        written.  So the module's other ``on_train_start`` work comes first (this part is last among
        its bases).  Under DDP every rank gets its own stream (:func:`decorrelate_rank`); a resumed DDP
        run restores each rank's own state when the checkpoint has one per rank for this world size.
        """
        super().on_train_start()
        state, self._rng_state_to_restore = self._rng_state_to_restore, None
        per_rank, self._rank_rng_states_to_restore = self._rank_rng_states_to_restore, None
        world_size, rank = self.trainer.world_size, self.trainer.global_rank
        resumed = state is not None and self.trainer.ckpt_path is not None  # not a module loaded to fine-tune
        if resumed and per_rank is not None and len(per_rank) == world_size:
            set_rank_rng_state(per_rank[rank], self.device)
            return
        if resumed:
            set_rng_state(state)
        if world_size > 1:
            decorrelate_rank(rank)
