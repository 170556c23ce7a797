"""A sampler whose per-example weights can change between epochs (AdaGAN reweights the data)."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import torch
from torch import Tensor
from torch.utils.data import Sampler


class ReweightableSampler(Sampler[int]):
    """``N`` indices an epoch: a random permutation without weights, ``N`` weighted draws with replacement with them.

    Weighted draws are *with* replacement (``torch.multinomial``): that is proportional sampling,
    what AdaGAN's "importance-sampled minibatches" mean (Tolstikhin et al. 2017, Algorithm 1).  The
    reference code's ``np.random.choice(..., replace=False, p=w)`` is not proportional and fails when
    fewer than ``batch_size`` weights are non-zero (numpy raises "Fewer non-zero entries in p than size").

    Every epoch's draw comes from a private generator seeded with ``(base_seed, epoch)``, so every
    DDP rank builds the same list and Lightning's ``DistributedSamplerWrapper`` hands the ranks
    disjoint shards of it.  ``base_seed`` is drawn from the global RNG when not given, so
    ``seed_everything`` makes runs reproducible.  ``state_dict`` holds what a resumed run needs.

    Weighted draws are limited to ``2**24`` examples (the most categories ``torch.multinomial`` takes).
    """

    #: the largest number of categories torch.multinomial accepts
    MAX_WEIGHTED_EXAMPLES = 2**24

    def __init__(self, num_examples: int, weights: Optional[Tensor] = None, base_seed: Optional[int] = None) -> None:
        if num_examples < 1:
            raise ValueError(f"num_examples must be positive, got {num_examples}")
        self.num_examples = num_examples
        self.base_seed = int(torch.randint(0, 2**62, (1,)).item()) if base_seed is None else int(base_seed)
        self.epoch = 0
        self.weights: Optional[Tensor] = None
        self.set_weights(weights)

    def set_weights(self, weights: Optional[Tensor]) -> None:
        """Per-example weights (normalised here), or ``None`` for uniform; used from the next epoch on."""
        if weights is None:
            self.weights = None
            return
        if self.num_examples > self.MAX_WEIGHTED_EXAMPLES:
            raise ValueError(f"weighted sampling supports at most {self.MAX_WEIGHTED_EXAMPLES} examples "
                             f"(torch.multinomial), this sampler has {self.num_examples}")
        weights = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
        if weights.shape != (self.num_examples,):
            raise ValueError(f"expected {self.num_examples} weights (one per example), got shape {tuple(weights.shape)}")
        if not torch.isfinite(weights).all():
            raise ValueError("sample weights must be finite")
        if (weights < 0).any():
            raise ValueError("sample weights must be non-negative")
        if weights.sum() <= 0:
            raise ValueError("sample weights must have a positive sum")
        self.weights = weights / weights.sum()

    def __len__(self) -> int:
        return self.num_examples

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.base_seed + 1_000_003 * self.epoch) % 2**63)
        self.epoch += 1
        if self.weights is None:
            indices = torch.randperm(self.num_examples, generator=generator)
        else:
            indices = torch.multinomial(self.weights, self.num_examples, replacement=True, generator=generator)
        return iter(indices.tolist())

    def state_dict(self) -> dict[str, Any]:
        weights = None if self.weights is None else self.weights.clone()
        return {"base_seed": self.base_seed, "epoch": self.epoch, "weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_seed, self.epoch = state["base_seed"], state["epoch"]
        self.set_weights(state["weights"])
