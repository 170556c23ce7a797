"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 3.2).

Features ``f(x_i) in R^A`` are multiplied by a tensor ``T in R^{A x B x C}`` into ``M_i in R^{B x C}``;
for each of the ``B`` kernels, ``c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and
``o(x_i)_b = sum_{j=1}^n c_b(x_i, x_j)``, and ``o(x_i) in R^B`` is concatenated to ``f(x_i)``.

The sum runs over the **whole** minibatch, ``j = i`` included, as the paper writes it, so ``n``
identical samples give ``o = n`` in every kernel.  The reference code excludes the self-pair (it adds
``1e6`` to the diagonal distances) and adds a learned bias initialised at -1 [code: openai/improved-gan
``mnist_svhn_cifar10/nn.py``, ``MinibatchLayer``]; both are constant shifts that the next linear
layer's bias absorbs.

The features of each example depend on the whole batch it is passed with, so real and fake batches
must be passed separately (the methods do), and a discriminator with this layer is **not** a function of a
single example: like batch norm it is incompatible with gradient penalties (WGAN-GP, GAN-GP, DRAGAN),
whose per-example input gradients would then include the other examples' contributions
(Gulrajani et al. 2017, Sec. 4).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

# The reference code's defaults [code: openai/improved-gan ``nn.py``, ``MinibatchLayer``:
# dim_per_kernel=5, theta ~ Normal(0.05)]; its CIFAR-10 discriminator uses num_kernels=100.
DEFAULT_KERNEL_DIM = 5
_INIT_STD = 0.05


class MinibatchDiscrimination(nn.Module):
    """``(N, A) -> (N, A + B)``: the input with the ``B = num_kernels`` closeness statistics appended.

    Args:
        in_features: ``A``, size of the incoming features.
        num_kernels: ``B``, number of statistics appended (100 in the reference CIFAR-10 model).
        kernel_dim: ``C``, size of each kernel's projection (5, the reference code's ``dim_per_kernel``).
    """

    def __init__(self, in_features: int, num_kernels: int, kernel_dim: int = DEFAULT_KERNEL_DIM) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("num_kernels", num_kernels), ("kernel_dim", kernel_dim)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        self.T = nn.Parameter(torch.empty(in_features, num_kernels, kernel_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.T, 0.0, _INIT_STD)

    def closeness(self, features: Tensor) -> Tensor:
        """``o(x_i)_b = sum_j exp(-||M_{i,b} - M_{j,b}||_1)``, shape (N, B)."""
        if features.dim() != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"expected features of shape (N, {self.in_features}), got {tuple(features.shape)}")
        n = features.shape[0]
        m = (features @ self.T.view(self.in_features, -1)).view(n, self.num_kernels, self.kernel_dim)
        m = m.transpose(0, 1)  # (B, N, C): one L1 distance matrix per kernel
        distances = torch.cdist(m, m, p=1.0)  # (B, N, N)
        return torch.exp(-distances).sum(dim=2).transpose(0, 1)

    def forward(self, features: Tensor) -> Tensor:
        return torch.cat([features, self.closeness(features)], dim=1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_kernels={self.num_kernels}, kernel_dim={self.kernel_dim}"
