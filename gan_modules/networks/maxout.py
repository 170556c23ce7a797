"""Maxout discriminator: PacGAN's toy discriminator (Lin et al. 2018; maxout units: Goodfellow et al. 2013,
"Maxout Networks", eq. 1).

A maxout unit outputs ``h_i(x) = max_j (x W_{.ij} + b_ij)``, the largest of ``pieces`` affine functions of its
input.  PacGAN's 2-D grid and ring experiments [code: fjxmlzn/PacGAN,
``synthetic_data_experiments/2DGrid_GAN&PacGAN/pacgan_task.py`` and ``config.py``] score (packed) points with three
``LinearMaxout`` layers of 200 units and 5 pieces and a linear head, all weights drawn from N(0, 0.02^2) and
biases 0; its first layer takes ``num_xdim * num_packing`` inputs.  These are the defaults here.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

from torch import Tensor, nn

from lightning_gans.gan_modules.networks.mlp import _check_positive, _check_shape

PACGAN_INIT_STD = 0.02  # fjxmlzn/PacGAN config.py: weights_init_std (IsotropicGaussian), biases_init Constant(0)


class Maxout(nn.Module):
    """``(B, n_in) -> (B, n_out)``: unit ``i`` is the maximum of its ``pieces`` affine pieces (Goodfellow et al. 2013,
    eq. 1).  One ``Linear(n_in, n_out * pieces)`` holds the pieces, those of unit ``i`` at rows
    ``i * pieces ... i * pieces + pieces - 1``."""

    def __init__(self, n_in: int, n_out: int, pieces: int) -> None:
        super().__init__()
        _check_positive(n_in=n_in, n_out=n_out, pieces=pieces)
        self.pieces = pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(dim=-1)


class MaxoutDiscriminator(nn.Module):
    """``x -> logit``: flatten, ``n_layers`` :class:`Maxout` layers, a linear head (PacGAN's toy discriminator).

    Args:
        data_shape: shape of one example (``(2 m,)`` for packs of ``m`` toy points; the module's ``packing``
            option passes it); the input is flattened.
        hidden: maxout units a layer (200, PacGAN's ``disc_hidden_size``).
        n_layers: number of maxout layers (3, as PacGAN).
        pieces: affine pieces a unit (5, PacGAN's ``disc_maxout_pieces``).
        init_std: weights drawn from N(0, init_std^2), biases zero (0.02, PacGAN's ``weights_init_std``);
            ``None`` keeps PyTorch's default initialisation.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 200,
        n_layers: int = 3,
        pieces: int = 5,
        init_std: Optional[float] = PACGAN_INIT_STD,
    ) -> None:
        super().__init__()
        self.data_shape = _check_shape(data_shape)
        _check_positive(hidden=hidden, n_layers=n_layers, pieces=pieces)
        if init_std is not None and not init_std > 0:
            raise ValueError(f"init_std must be positive or None, got {init_std!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(n_layers):
            layers.append(Maxout(math.prod(self.data_shape) if i == 0 else hidden, hidden, pieces))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(hidden, 1)
        if init_std is not None:
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=init_std)
                    nn.init.zeros_(module.bias)

    def features(self, x: Tensor) -> Tensor:
        """The last maxout layer's activations, shape (B, hidden)."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """One raw score (logit) per example, shape (B,)."""
        return self.head(self.features(x)).squeeze(-1)
