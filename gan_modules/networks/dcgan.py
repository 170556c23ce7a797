"""DCGAN-style convolutional generator and discriminator (Radford, Metz, Chintala 2016, arXiv:1511.06434).

Square images of 8, 28, 32 or 64 pixels and any number of channels.  The generator projects
``z`` to a small map (see ``_PLAN``) and doubles its size with stride-2 transposed convolutions
(kernel 4, padding 1) up to the image size, halving the channels each time; the discriminator
mirrors it with stride-2 convolutions.  Architecture guidelines [paper, Sec. 3]: strided
convolutions instead of pooling, batch norm in both players except the generator's output layer
and the discriminator's input layer, ReLU in the generator with a tanh output, LeakyReLU in the
discriminator (slope 0.2, Sec. 4).  Initialisation: conv weights ~ N(0, 0.02) [paper, Sec. 4];
batch-norm scales ~ N(1, 0.02), shifts 0 [code: pytorch/examples ``dcgan/main.py``,
``weights_init``]; biases 0.
"""

from __future__ import annotations

from typing import Literal, Sequence

from torch import Tensor, nn

from lightning_gans.gan_modules.networks.minibatch import DEFAULT_KERNEL_DIM, MinibatchDiscrimination
from lightning_gans.gan_modules.networks.norm import GENERATOR_NORM_KINDS, check_norm, norm_layer
from lightning_gans.gan_modules.networks.spectral_norm import spectrally_normalise_
from lightning_gans.gan_modules.networks.virtual_batch_norm import (
    DEFAULT_REFERENCE_SIZE,
    VirtualBatchNorm,
    draw_reference_latent,
    forward_with_reference,
)

NormKind = Literal["batch", "layer", "none"]
GeneratorNormKind = Literal["batch", "layer", "none", "virtual_batch"]

# image size -> (size of the smallest feature map, number of stride-2 layers between them)
_PLAN = {8: (2, 2), 28: (7, 2), 32: (4, 3), 64: (4, 4)}
SUPPORTED_SIZES = tuple(sorted(_PLAN))

_INIT_STD = 0.02  # Radford et al. 2016, Sec. 4


def _check_image_shape(data_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(d) for d in data_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in _PLAN or shape[0] < 1:
        raise ValueError(
            f"DCGAN networks take square images (C, H, W) with H = W in {SUPPORTED_SIZES}, "
            f"got data_shape {tuple(data_shape)}"
        )
    return shape


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def _init_weights(module: nn.Module) -> None:
    """DCGAN initialisation; GroupNorm (layer norm) keeps scale 1 and shift 0, as tflib's Layernorm.

    Virtual batch norm gets batch norm's N(1, 0.02) scales, as the reference code's VBN ``gamma``
    [code: openai/improved-gan ``imagenet``, ``VBN._normalize``].
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, _INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, VirtualBatchNorm)):
            nn.init.normal_(m.weight, 1.0, _INIT_STD)
            nn.init.zeros_(m.bias)


def _conv_block(
    conv: type[nn.Module], c_in: int, c_out: int, norm: str, activation: nn.Module, reference_size: int = 0, **kw
) -> list[nn.Module]:
    # A bias before (virtual) batch norm is cancelled by its mean subtraction; before GroupNorm(1, C) it is not.
    bias = norm not in ("batch", "virtual_batch")
    return [conv(c_in, c_out, bias=bias, **kw), norm_layer(norm, c_out, reference_size), activation]


class DCGANGenerator(nn.Module):
    """``z (B, latent_dim) -> images (B, C, H, W)`` in [-1, 1].

    Layers for 32x32 with ``base_channels = b``: ``z -> ConvT(k=4) -> 4b x 4x4 -> 2b x 8x8 -> b x 16x16 -> C x 32x32``,
    each hidden layer followed by ``norm`` and ReLU, the output by tanh.  64 px starts from 8b x 4x4,
    28 px from 2b x 7x7, 8 px from 2b x 2x2.

    Args:
        data_shape: ``(C, H, W)`` with ``H = W`` in 8, 28, 32, 64.
        latent_dim: size of ``z``; 100 as in Radford et al. 2016 (Sec. 3, Fig. 1).
        base_channels: channels of the last hidden layer; they double at each layer towards ``z``
            (64 as the pytorch/examples DCGAN ``ngf``; the paper's Fig. 1 starts from 1024 = 16 x 64).
        norm: ``"batch"`` (the paper), ``"layer"``, ``"none"`` or ``"virtual_batch"`` (Salimans et
            al. 2016, Sec. 3.5, see :mod:`.virtual_batch_norm`; the reference codes are drawn from
            N(0, I) at construction).  The generator may keep batch norm under a gradient penalty
            (Gulrajani et al. 2017, Sec. 4); only penalised discriminators may not.
        reference_size: size of the virtual-batch-norm reference batch (only with
            ``norm="virtual_batch"``; default: :data:`~.virtual_batch_norm.DEFAULT_REFERENCE_SIZE`).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        latent_dim: int = 100,
        base_channels: int = 64,
        norm: GeneratorNormKind = "batch",
        reference_size: int = DEFAULT_REFERENCE_SIZE,
    ) -> None:
        super().__init__()
        self.data_shape = _check_image_shape(data_shape)
        _check_positive(latent_dim=latent_dim, base_channels=base_channels, reference_size=reference_size)
        check_norm(norm, GENERATOR_NORM_KINDS)
        self.latent_dim = latent_dim
        channels, size, _ = self.data_shape
        start, n_up = _PLAN[size]
        width = base_channels * 2 ** (n_up - 1)
        layers = _conv_block(nn.ConvTranspose2d, latent_dim, width, norm, nn.ReLU(), reference_size, kernel_size=start)
        for _ in range(n_up - 1):
            layers += _conv_block(
                nn.ConvTranspose2d, width, width // 2, norm, nn.ReLU(), reference_size, kernel_size=4, stride=2, padding=1
            )
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, kernel_size=4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _init_weights(self)
        reference = draw_reference_latent(reference_size, latent_dim) if norm == "virtual_batch" else None
        self.register_buffer("reference_latent", reference)

    def _generate(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))

    def forward(self, z: Tensor) -> Tensor:
        return forward_with_reference(self._generate, self.reference_latent, z)


def downsampling_body(data_shape: tuple[int, int, int], base_channels: int, norm: str) -> tuple[nn.Sequential, int]:
    """The DCGAN discriminator's trunk: stride-2 ``Conv -> norm -> LeakyReLU(0.2)`` blocks (no norm on
    the first, Radford et al. 2016 Sec. 3), flattened; returns it and its number of output features.
    Shared by the discriminator and alpha-GAN's image encoder."""
    channels, size, _ = data_shape
    end, n_down = _PLAN[size]
    width = base_channels
    layers = _conv_block(nn.Conv2d, channels, width, "none", nn.LeakyReLU(0.2), kernel_size=4, stride=2, padding=1)
    for _ in range(n_down - 1):
        layers += _conv_block(nn.Conv2d, width, 2 * width, norm, nn.LeakyReLU(0.2), kernel_size=4, stride=2, padding=1)
        width *= 2
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), width * end * end


class DCGANDiscriminator(nn.Module):
    """``images (B, C, H, W) -> scores (B,)``.

    Layers for 32x32 with ``base_channels = b``: ``C x 32x32 -> b x 16x16 -> 2b x 8x8 -> 4b x 4x4``
    (conv k=4, stride 2, padding 1, then ``norm`` and LeakyReLU(0.2); no norm after the first
    conv), then a linear head on the flattened 4b x 4 x 4 features (equal to DCGAN's final
    4x4 convolution).  64 px ends at 8b x 4x4, 28 px at 2b x 7x7, 8 px at 2b x 2x2.

    **Discriminators trained with a gradient penalty (WGAN-GP, GAN-GP, DRAGAN) must use ``norm="layer"``
    or ``norm="none"``**: batch norm makes each example's score depend on the rest of the batch,
    so the per-example gradient the penalty constrains is not that of a function of the example
    alone (Gulrajani et al. 2017, Sec. 4, "No critic batch normalization").  ``"layer"`` is the
    paper's recommendation and the reference code's ``Normalize`` (see :mod:`.norm`).

    Minibatch discrimination couples the examples of a batch in the same way: leave it out of
    discriminators trained with a gradient penalty.

    Args:
        data_shape: ``(C, H, W)`` with ``H = W`` in 8, 28, 32, 64.
        base_channels: channels of the first conv layer, doubling at each layer
            (64 as the pytorch/examples DCGAN ``ndf``; the paper gives no discriminator widths).
        norm: ``"batch"`` (the paper), ``"layer"`` or ``"none"``.
        minibatch_kernels: ``B`` of a :class:`~.minibatch.MinibatchDiscrimination` layer on the
            flattened features, before the head (Salimans et al. 2016, Sec. 3.2); 0 (default) leaves it out.
        minibatch_kernel_dim: its ``C`` (5, the reference code's ``dim_per_kernel``).
        spectral_norm: spectral-normalise every convolution and the head, after the DCGAN
            initialisation (Miyato et al. 2018, whose SN-GAN discriminators use no batch norm:
            combine it with ``norm="none"``; :mod:`.spectral_norm`).  Off by default.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        base_channels: int = 64,
        norm: NormKind = "batch",
        minibatch_kernels: int = 0,
        minibatch_kernel_dim: int = DEFAULT_KERNEL_DIM,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.data_shape = _check_image_shape(data_shape)
        _check_positive(base_channels=base_channels, minibatch_kernel_dim=minibatch_kernel_dim)
        check_norm(norm)
        if minibatch_kernels < 0:
            raise ValueError(f"minibatch_kernels must be non-negative, got {minibatch_kernels}")
        self.body, n_features = downsampling_body(self.data_shape, base_channels, norm)
        self.minibatch = (
            MinibatchDiscrimination(n_features, minibatch_kernels, minibatch_kernel_dim)
            if minibatch_kernels
            else nn.Identity()
        )
        self.head = nn.Linear(n_features + minibatch_kernels, 1)
        _init_weights(self)
        if spectral_norm:
            spectrally_normalise_(self)

    def features(self, x: Tensor) -> Tensor:
        """Flattened last conv activations (4b*16 at 32 px), with the minibatch statistics appended if any."""
        return self.minibatch(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        """One raw score (logit) per example, shape (B,)."""
        return self.head(self.features(x)).squeeze(-1)
