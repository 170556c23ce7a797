"""Fully connected generator and discriminator, for the 2-D toy mixtures (and small vectors/images).

Default sizes follow the WGAN-GP toy script [code: igul222/improved_wgan_training ``gan_toy.py``]:
a 2-D Gaussian latent and three hidden ReLU layers in both players, with a linear output.  That
script uses ``DIM = 512`` units a layer and PacGAN's toy generator 400 units
[code: fjxmlzn/PacGAN ``2DRing_*/config.py``]; the default here is 128 units, enough for the
8- and 25-mode mixtures and four times cheaper on CPU.  Set ``hidden: 512`` to match gan_toy.py.
Weights keep PyTorch's default initialisation (gan_toy.py uses He initialisation).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from torch import Tensor, nn

from lightning_gans.gan_modules.networks.minibatch import DEFAULT_KERNEL_DIM, MinibatchDiscrimination
from lightning_gans.gan_modules.networks.norm import GENERATOR_NORM_KINDS, check_norm, norm_layer_1d
from lightning_gans.gan_modules.networks.spectral_norm import spectrally_normalise_
from lightning_gans.gan_modules.networks.virtual_batch_norm import DEFAULT_REFERENCE_SIZE, draw_reference_latent, forward_with_reference

NormKind = Literal["batch", "layer", "none"]
GeneratorNormKind = Literal["batch", "layer", "none", "virtual_batch"]


def _check_shape(data_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(d) for d in data_shape)
    if len(shape) == 0 or any(d < 1 for d in shape):
        raise ValueError(f"data_shape must be a non-empty sequence of positive sizes, got {tuple(data_shape)}")
    return shape


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def _hidden_block(n_in: int, n_out: int, norm: str, activation: nn.Module, reference_size: int = 0) -> list[nn.Module]:
    # A bias before (virtual) batch norm is cancelled by its mean subtraction; before LayerNorm it is not.
    bias = norm not in ("batch", "virtual_batch")
    return [nn.Linear(n_in, n_out, bias=bias), norm_layer_1d(norm, n_out, reference_size), activation]


class MLPGenerator(nn.Module):
    """``z -> x``: ``n_layers`` hidden ``Linear -> norm -> ReLU`` layers, a linear output, reshaped to ``data_shape``.

    Args:
        data_shape: shape of one example, e.g. ``(2,)`` for the toy mixtures or ``(1, 8, 8)``.
        latent_dim: size of ``z``; 2 as in gan_toy.py (``noise = tf.random_normal([n, 2])``) and
            PacGAN's toy configs (2-d Gaussian latent).
        hidden: units a hidden layer (128; gan_toy.py uses 512, PacGAN 400, see the module docstring).
        n_layers: number of hidden layers (3, as gan_toy.py).
        norm: ``"batch"``, ``"layer"``, ``"none"`` or ``"virtual_batch"`` after each hidden linear
            layer ("none", as gan_toy.py).  ``"virtual_batch"``: Salimans et al. 2016, Sec. 3.5, see
            :mod:`.virtual_batch_norm`; the reference codes are drawn from N(0, I) at construction.
        output_activation: ``"tanh"``, ``"none"`` (linear) or ``"auto"``: tanh when ``data_shape``
            is an image (more than one dimension; images live in [-1, 1]), linear for vectors,
            whose range (e.g. toy coordinates) is unbounded.
        reference_size: size of the virtual-batch-norm reference batch (only with
            ``norm="virtual_batch"``; default: :data:`~.virtual_batch_norm.DEFAULT_REFERENCE_SIZE`).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        latent_dim: int = 2,
        hidden: int = 128,
        n_layers: int = 3,
        norm: GeneratorNormKind = "none",
        output_activation: Literal["auto", "tanh", "none"] = "auto",
        reference_size: int = DEFAULT_REFERENCE_SIZE,
    ) -> None:
        super().__init__()
        self.data_shape = _check_shape(data_shape)
        _check_positive(latent_dim=latent_dim, hidden=hidden, n_layers=n_layers, reference_size=reference_size)
        check_norm(norm, GENERATOR_NORM_KINDS)
        if output_activation not in ("auto", "tanh", "none"):
            raise ValueError(f"output_activation must be 'auto', 'tanh' or 'none', got {output_activation!r}")
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += _hidden_block(latent_dim if i == 0 else hidden, hidden, norm, nn.ReLU(), reference_size)
        self.hidden_layers = nn.Sequential(*layers)
        self.output_layer = nn.Linear(hidden, math.prod(self.data_shape))
        tanh = output_activation == "tanh" or (output_activation == "auto" and len(self.data_shape) > 1)
        self.output_activation = nn.Tanh() if tanh else nn.Identity()
        reference = draw_reference_latent(reference_size, latent_dim) if norm == "virtual_batch" else None
        self.register_buffer("reference_latent", reference)

    def _generate(self, z: Tensor) -> Tensor:
        x = self.output_activation(self.output_layer(self.hidden_layers(z)))
        return x.view(z.shape[0], *self.data_shape)

    def forward(self, z: Tensor) -> Tensor:
        return forward_with_reference(self._generate, self.reference_latent, z)


class MLPDiscriminator(nn.Module):
    """``x -> logit``: flatten, ``n_layers`` hidden ``Linear -> norm -> LeakyReLU(0.2)`` layers, a linear head.

    The first hidden layer has no normalisation, as the DCGAN discriminator's input layer
    (Radford et al. 2016, Sec. 3); so ``norm="batch"`` needs ``n_layers >= 2`` to have any effect.
    The LeakyReLU slope 0.2 is DCGAN's (Radford et al. 2016, Sec. 4).  Discriminators trained with a
    gradient penalty (WGAN-GP, GAN-GP, DRAGAN) must use ``norm="layer"`` or ``"none"`` and no
    minibatch discrimination: both make each example's score depend on the rest of the batch
    (Gulrajani et al. 2017, Sec. 4).

    Args:
        data_shape: shape of one example; the input is flattened.
        hidden: units a hidden layer (128; gan_toy.py uses 512, see the module docstring).
        n_layers: number of hidden layers (3, as gan_toy.py).
        norm: ``"batch"``, ``"layer"`` or ``"none"`` ("none", as gan_toy.py).
        minibatch_kernels: ``B`` of a :class:`~.minibatch.MinibatchDiscrimination` layer between the
            hidden layers and the head (Salimans et al. 2016, Sec. 3.2); 0 (default) leaves it out.
        minibatch_kernel_dim: its ``C`` (5, the reference code's ``dim_per_kernel``).
        spectral_norm: spectral-normalise every linear layer, the head included (Miyato et al. 2018;
            :mod:`.spectral_norm`).  Off by default.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 128,
        n_layers: int = 3,
        norm: NormKind = "none",
        minibatch_kernels: int = 0,
        minibatch_kernel_dim: int = DEFAULT_KERNEL_DIM,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.data_shape = _check_shape(data_shape)
        _check_positive(hidden=hidden, n_layers=n_layers, minibatch_kernel_dim=minibatch_kernel_dim)
        check_norm(norm)
        if minibatch_kernels < 0:
            raise ValueError(f"minibatch_kernels must be non-negative, got {minibatch_kernels}")
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(n_layers):
            n_in = math.prod(self.data_shape) if i == 0 else hidden
            layers += _hidden_block(n_in, hidden, "none" if i == 0 else norm, nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.minibatch = (
            MinibatchDiscrimination(hidden, minibatch_kernels, minibatch_kernel_dim) if minibatch_kernels else nn.Identity()
        )
        self.head = nn.Linear(hidden + minibatch_kernels, 1)
        if spectral_norm:
            spectrally_normalise_(self)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate activations (with the minibatch statistics, if any), shape (B, hidden + minibatch_kernels)."""
        return self.minibatch(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        """One raw score (logit) per example, shape (B,)."""
        return self.head(self.features(x)).squeeze(-1)
