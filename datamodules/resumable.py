"""A training DataLoader whose position inside an epoch is checkpointed, so a run resumed mid-epoch sees the same batches."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import torch
from torch.utils.data import DataLoader, Dataset

from lightning_gans.datamodules.in_memory import collate
from lightning_gans.datamodules.sampler import ReweightableSampler


class ResumableDataLoader(DataLoader):
    """Batches of the indices a :class:`~lightning_gans.datamodules.sampler.ReweightableSampler` draws, with a resumable position.

    ``state_dict`` says which draw (the sampler's epoch) is being read and how many of its batches
    were handed out.  Lightning's fit loop stores that state in checkpoints (every train dataloader
    with ``state_dict``/``load_state_dict``, ``loops.fit_loop.state_dict.combined_loader``) and, on
    resume, loads it before it creates the iterator.  A draw is a pure function of the sampler's
    ``(base_seed, epoch)``, so an interrupted epoch is replayed: the same draw, with the batches
    already trained on skipped (fetched and dropped, at most one epoch's worth once per resume).  A
    finished draw is not replayed: the next epoch draws anew.

    The first draw after a resume is continued until its last batch is handed out, even when
    Lightning starts a new epoch on the way: resuming a step-based run (``max_steps``) from a
    checkpoint written at the end of an epoch (``on_train_epoch_end``: ModelCheckpoint's default, and
    where ``last.ckpt`` is written when ``max_steps`` stops a run mid-epoch), Lightning 2.6 trains one
    batch, ends the epoch again and then iterates the loader anew; continuing the draw keeps the
    batches those of the uninterrupted run.  Once its last batch is out, the next ``iter()`` starts
    the next draw: Lightning ends an epoch after ``len(loader)`` batches without asking for one more,
    so waiting for the resumed iterator's end would hand the next epoch a spent iterator (an
    epoch of no batches).

    torchdata's ``StatefulDataLoader`` (0.11) was measured in this place: it restores the sampler's
    ``state_dict`` as saved *after* the sampler drew the epoch, so a resumed epoch is the next
    epoch's draw (different batches at 7 of 10 resume points, ``tests/test_resume.py``'s set-up).

    Weights set with ``set_sample_weights`` during an epoch are meant for the next one; a replay
    uses those saved with the checkpoint.

    Under DDP Lightning rebuilds the loader around a ``DistributedSamplerWrapper`` of the sampler;
    ``draws`` still holds the sampler, and each rank skips its own batches of its shard.  The
    loader seeds its workers from a private generator, so iterating it does not draw from the
    global RNG, which a resumed run restores just before its first batch
    (:meth:`lightning_gans.gan_modules.training.rng.RandomStateRestore.on_train_start`).

    Args:
        dataset: the training set.
        draws: the sampler (also the loader's ``sampler`` unless one is given, as Lightning does).
        kwargs: :class:`~torch.utils.data.DataLoader` arguments; ``collate_fn`` defaults to
            :func:`~lightning_gans.datamodules.in_memory.collate`, which reads an
            :class:`~lightning_gans.datamodules.in_memory.InMemoryDataset` a batch at a time.
    """

    def __init__(self, dataset: Dataset, draws: ReweightableSampler, **kwargs: Any) -> None:
        kwargs.setdefault("sampler", draws)
        kwargs.setdefault("collate_fn", collate)  # a batch at a time from an InMemoryDataset
        kwargs.setdefault("generator", torch.Generator().manual_seed(draws.base_seed))
        super().__init__(dataset, **kwargs)
        self.draws = draws
        self._position = {"base_seed": draws.base_seed, "epoch": draws.epoch, "batches_done": 0}
        self._resume_from: Optional[dict[str, int]] = None  # set by load_state_dict
        self._resumed: Optional[Iterator[Any]] = None  # the first draw after a resume, until its last batch is out

    def __iter__(self) -> Iterator[Any]:
        if self._resumed is not None and self._position["batches_done"] < len(self):
            return self._resumed  # the resumed draw, not read to its end yet
        self._resumed = None
        resume, self._resume_from = self._resume_from, None
        skip = 0
        if resume is not None:
            self.draws.base_seed, self.draws.epoch, skip = resume["base_seed"], resume["epoch"], resume["batches_done"]
        # the sampler draws epoch `draws.epoch` when the iterator first asks it for indices
        self._position = {"base_seed": self.draws.base_seed, "epoch": self.draws.epoch, "batches_done": skip}
        batches = super().__iter__()
        for _ in range(skip):
            next(batches)
        counted = self._counted(batches)
        if resume is not None:
            self._resumed = counted
        return counted

    def _counted(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            self._position["batches_done"] += 1
            yield batch
        self._resumed = None

    def state_dict(self) -> dict[str, int]:
        return dict(self._position)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resumed = None
        if state["batches_done"] >= len(self):  # the draw was finished: continue with the next epoch's
            self._resume_from = {"base_seed": state["base_seed"], "epoch": state["epoch"] + 1, "batches_done": 0}
        else:
            self._resume_from = dict(state)
