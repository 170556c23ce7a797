"""Deterministic encoders ``x -> z`` for alpha-GAN (Rosca et al. 2017, arXiv:1706.04987, Sec. 4).

alpha-GAN's encoder is an implicit posterior; in practice a deterministic network
[code: victor-shepardson/alpha-GAN, an unofficial implementation; the paper's exact networks are not given].  Each encoder here mirrors a discriminator of this package with
its one-logit head replaced by a linear map to ``latent_dim`` (no output activation: the codes are
matched to the N(0, I) prior, whose support is unbounded):

* :class:`DCGANEncoder` mirrors :class:`~lightning_gans.gan_modules.networks.dcgan.DCGANDiscriminator`
  (square images of 8, 28, 32, 64 px);
* :class:`MLPEncoder` mirrors :class:`~lightning_gans.gan_modules.networks.mlp.MLPDiscriminator` (vectors).

Both take ``(data_shape, latent_dim, ...)``, so alpha-GAN builds them with the generator's
``latent_dim`` and a config gives only the other arguments.  The code discriminator needs no class
of its own: it is an :class:`~lightning_gans.gan_modules.networks.mlp.MLPDiscriminator` on ``data_shape =
(latent_dim,)`` with ``norm="none"`` (the unofficial implementation's README calls keeping batch norm
out of it "important" [code: victor-shepardson/alpha-GAN README]).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from torch import Tensor, nn

from lightning_gans.gan_modules.networks.dcgan import _check_image_shape, _init_weights, downsampling_body
from lightning_gans.gan_modules.networks.mlp import _check_positive, _check_shape, _hidden_block
from lightning_gans.gan_modules.networks.norm import check_norm

NormKind = Literal["batch", "layer", "none"]


class DCGANEncoder(nn.Module):
    """``images (B, C, H, W) -> codes (B, latent_dim)``: the DCGAN discriminator's body and a linear head.

    Layers for 32x32 with ``base_channels = b``: ``C x 32x32 -> b x 16x16 -> 2b x 8x8 -> 4b x 4x4``
    (conv k=4, stride 2, padding 1, then ``norm`` and LeakyReLU(0.2); no norm after the first conv,
    as in the DCGAN discriminator [Radford et al. 2016, Sec. 3]), then ``Linear(4b*16, latent_dim)``.
    Initialisation as :mod:`~lightning_gans.gan_modules.networks.dcgan` (N(0, 0.02) weights [Radford et al. 2016, Sec. 4]).

    Args:
        data_shape: ``(C, H, W)`` with ``H = W`` in 8, 28, 32, 64.
        latent_dim: size of the code; alpha-GAN passes its generator's ``latent_dim``.
        base_channels: channels of the first conv layer, doubling at each layer (64 as the
            pytorch/examples DCGAN ``ndf``, like :class:`DCGANDiscriminator`).
        norm: ``"batch"`` (as the DCGAN discriminator), ``"layer"`` or ``"none"``.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        latent_dim: int,
        base_channels: int = 64,
        norm: NormKind = "batch",
    ) -> None:
        super().__init__()
        self.data_shape = _check_image_shape(data_shape)
        _check_positive(latent_dim=latent_dim, base_channels=base_channels)
        check_norm(norm)
        self.latent_dim = latent_dim
        self.body, n_features = downsampling_body(self.data_shape, base_channels, norm)
        self.head = nn.Linear(n_features, latent_dim)
        _init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        """Codes, shape (B, latent_dim)."""
        return self.head(self.body(x))


class MLPEncoder(nn.Module):
    """``x -> code``: flatten, ``n_layers`` hidden ``Linear -> norm -> LeakyReLU(0.2)`` layers, a linear head.

    The layout of :class:`~lightning_gans.gan_modules.networks.mlp.MLPDiscriminator` (no norm on the first hidden
    layer) with a ``latent_dim``-wide head.

    Args:
        data_shape: shape of one example; the input is flattened.
        latent_dim: size of the code; alpha-GAN passes its generator's ``latent_dim``.
        hidden: units a hidden layer (128, as the package's MLP default; see :mod:`.mlp`).
        n_layers: number of hidden layers (3, as gan_toy.py's networks; see :mod:`.mlp`).
        norm: ``"batch"``, ``"layer"`` or ``"none"`` ("none", as :class:`MLPDiscriminator`).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        latent_dim: int,
        hidden: int = 128,
        n_layers: int = 3,
        norm: NormKind = "none",
    ) -> None:
        super().__init__()
        self.data_shape = _check_shape(data_shape)
        _check_positive(latent_dim=latent_dim, hidden=hidden, n_layers=n_layers)
        check_norm(norm)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(n_layers):
            n_in = math.prod(self.data_shape) if i == 0 else hidden
            layers += _hidden_block(n_in, hidden, "none" if i == 0 else norm, nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(hidden, latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        """Codes, shape (B, latent_dim)."""
        return self.head(self.body(x))
