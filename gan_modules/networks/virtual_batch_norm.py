"""Virtual batch normalization (Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 3.5).

Each example is normalised with the statistics of a **reference batch** chosen once at the start
of training, plus the example itself: the paper's variant, as the VBN class of the reference code
[code: openai/improved-gan ``imagenet``, ``VBN.__call__``: ``new_coeff = 1 / (R + 1)``] computes it.
For an example ``x`` and a reference batch of ``R`` examples, per channel,

    mean    = (R * mean_ref + mean_x) / (R + 1),    mean_sq = (R * mean_sq_ref + mean_sq_x) / (R + 1),
    var     = mean_sq - mean^2,                     y = gamma * (x - mean) / sqrt(var + eps) + beta,

where ``mean_ref``/``mean_sq_ref`` average over the reference examples (and spatial positions) and
``mean_x``/``mean_sq_x`` over the example's own spatial positions (for vectors: the value itself).
These are exactly the statistics of the set "reference batch plus the example".  So an example's
output does not depend on the rest of its batch, and training and eval mode compute the same thing
(there are no running statistics).

The reference batch is a fixed set of **latent codes**; its activations are recomputed with the
current weights at every forward (the extra forward pass the paper mentions), and gradients flow
through its statistics, as in the reference code.  A generator passes ``cat([reference, batch])``
through its layers (:func:`forward_with_reference`): every :class:`VirtualBatchNorm` takes the first
``reference_size`` rows as the reference (normalised with the reference statistics alone) and
normalises the other rows one by one against them.  Salimans et al. use VBN in the generator only.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

# A reference batch as large as a training batch, as the reference code builds it; 64 is the batch
# size of the pytorch/examples DCGAN (``--batchSize 64``).
DEFAULT_REFERENCE_SIZE = 64


class VirtualBatchNorm(nn.Module):
    """Normalise ``(R + B, C, *)`` inputs whose first ``R = reference_size`` rows are the reference batch.

    Args:
        num_features: channels ``C`` (dim 1).
        reference_size: ``R``, the number of leading rows that form the reference batch.
        eps: added to the variance, as ``nn.BatchNorm`` (1e-5, also the reference code's epsilon).
    """

    def __init__(self, num_features: int, reference_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        if num_features < 1 or reference_size < 1:
            raise ValueError(f"num_features and reference_size must be positive, got {num_features} and {reference_size}")
        self.num_features, self.reference_size, self.eps = num_features, reference_size, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)

    def _normalise(self, x: Tensor, mean: Tensor, mean_sq: Tensor) -> Tensor:
        variance = (mean_sq - mean**2).clamp(min=0)
        shape = (1, self.num_features) + (1,) * (x.dim() - 2)
        return (x - mean) / torch.sqrt(variance + self.eps) * self.weight.view(shape) + self.bias.view(shape)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features or x.shape[0] <= self.reference_size:
            raise ValueError(
                f"expected (reference_size + B, {self.num_features}, ...) with reference_size = {self.reference_size} "
                f"and B >= 1, got {tuple(x.shape)}; pass the reference batch first (forward_with_reference)"
            )
        spatial = tuple(range(2, x.dim()))
        reference, examples = x[: self.reference_size], x[self.reference_size :]
        reference_mean = reference.mean(dim=(0, *spatial), keepdim=True)
        reference_mean_sq = (reference**2).mean(dim=(0, *spatial), keepdim=True)
        own_mean = examples.mean(dim=spatial, keepdim=True) if spatial else examples
        own_mean_sq = (examples**2).mean(dim=spatial, keepdim=True) if spatial else examples**2
        new = 1.0 / (self.reference_size + 1)
        mean = new * own_mean + (1 - new) * reference_mean
        mean_sq = new * own_mean_sq + (1 - new) * reference_mean_sq
        return torch.cat(
            [self._normalise(reference, reference_mean, reference_mean_sq), self._normalise(examples, mean, mean_sq)]
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, reference_size={self.reference_size}, eps={self.eps}"


def draw_reference_latent(reference_size: int, latent_dim: int) -> Tensor:
    """The fixed reference codes, ``N(0, I)`` (the default prior), from the global RNG (``seed_everything``)."""
    if reference_size < 1:
        raise ValueError(f"reference_size must be positive, got {reference_size}")
    return torch.randn(reference_size, latent_dim)


def forward_with_reference(network: Callable[[Tensor], Tensor], reference: Tensor | None, z: Tensor) -> Tensor:
    """``network(z)``, with the reference codes prepended and their outputs dropped when ``reference`` is given."""
    if reference is None:
        return network(z)
    return network(torch.cat([reference.to(z.dtype), z]))[reference.shape[0] :]
