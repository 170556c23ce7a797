"""Residual blocks of the CIFAR-10 ResNets of WGAN-GP and SN-GAN, which share them.

Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville 2017, "Improved Training of Wasserstein GANs"
(arXiv:1704.00028) [code: igul222/improved_wgan_training ``gan_cifar_resnet.py``], and Miyato,
Kataoka, Koyama, Yoshida 2018, "Spectral Normalization for Generative Adversarial Networks"
(arXiv:1802.05957, Table 4) [code: pfnet-research/sngan_projection ``gen_models/resblocks.py``,
``dis_models/resblocks.py``] build the same blocks, in the same order:

* :class:`GeneratorBlock` (``ResidualBlock(resample='up')`` / gen ``Block(upsample=True)``):
  ``BN -> ReLU -> up -> conv3x3 -> BN -> ReLU -> conv3x3``, plus the shortcut ``up -> conv1x1``.
* :class:`DiscriminatorBlock` (``ResidualBlock(resample='down' | None)`` / dis ``Block``):
  ``ReLU -> conv3x3 -> ReLU -> conv3x3 [-> mean-pool]``; the shortcut is ``conv1x1 -> mean-pool``
  (``ConvMeanPool``) when down-sampling, the identity otherwise.
* :class:`OptimizedDiscriminatorBlock` (``OptimizedResBlockDisc1`` / ``OptimizedBlock``), the
  first block, which sees the image: ``conv3x3 -> ReLU -> conv3x3 -> mean-pool`` (no
  pre-activation), plus the shortcut ``mean-pool -> conv1x1`` (``MeanPoolConv``: pool first).

Up-sampling is nearest-neighbour: WGAN-GP's ``UpsampleConv`` is ``depth_to_space`` of four copies of
the input, SN-GAN's ``F.unpooling_2d(x, 2)``; mean-pooling is 2x2 average pooling (the mean of the
four strided slices / ``F.average_pooling_2d(x, 2)``).  Every convolution has a bias (zero at start).

Initialisation, also the same in both codes: Glorot-uniform weights, ``U(-a, a)`` with
``a = gain * sqrt(6 / (fan_in + fan_out))``, ``fan = channels * k * k``, with ``gain = sqrt(2)`` for
the 3x3 convolutions of the blocks and ``gain = 1`` for the 1x1 shortcuts.  WGAN-GP's tflib
``Conv2D`` draws ``U(+-sqrt(3) * stdev)`` with ``stdev = sqrt(4 / (fan_in + fan_out))`` (``he_init=True``,
the blocks' convolutions) or ``sqrt(2 / (fan_in + fan_out))`` (``he_init=False``, the shortcuts):
exactly these two.  SN-GAN: ``GlorotUniform(math.sqrt(2))`` and ``GlorotUniform()``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from lightning_gans.gan_modules.networks.mlp import _check_positive

BLOCK_GAIN = math.sqrt(2)  # the blocks' 3x3 convolutions; shortcuts and the networks' other layers: 1
MULTIPLE = 8  # three 2x up-samplings in the generators


def check_resnet_shape(data_shape: Sequence[int]) -> tuple[int, int, int]:
    """``data_shape`` as a tuple if it is ``(C, H, W)`` with ``H`` and ``W`` multiples of 8, else ``ValueError``."""
    shape = tuple(int(d) for d in data_shape)
    if len(shape) != 3 or shape[0] < 1 or any(side < MULTIPLE or side % MULTIPLE for side in shape[1:]):
        raise ValueError(
            f"the CIFAR-10 ResNets take images (C, H, W) with H and W multiples of {MULTIPLE} (32 x 32 in the "
            f"papers), got data_shape {tuple(data_shape)}"
        )
    return shape


def glorot_conv(in_channels: int, out_channels: int, kernel_size: int, gain: float = 1.0) -> nn.Conv2d:
    """A same-padded convolution with Glorot-uniform weights times ``gain`` and a zero bias."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    nn.init.xavier_uniform_(conv.weight, gain=gain)
    nn.init.zeros_(conv.bias)
    return conv


def glorot_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    """A linear layer with Glorot-uniform weights (gain 1) and a zero bias, if any."""
    linear = nn.Linear(in_features, out_features, bias=bias)
    nn.init.xavier_uniform_(linear.weight)
    if bias:
        nn.init.zeros_(linear.bias)
    return linear


def upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def mean_pool(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)


class GeneratorBlock(nn.Module):
    """``BN -> ReLU -> up -> conv3x3 -> BN -> ReLU -> conv3x3``, plus ``up -> conv1x1``; doubles H and W.

    ``eps``: the batch norms' epsilon (tflib's fused batch norm: 1e-5; Chainer's: 2e-5).
    """

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(channels, eps=eps)
        self.conv1 = glorot_conv(channels, channels, 3, BLOCK_GAIN)
        self.norm2 = nn.BatchNorm2d(channels, eps=eps)
        self.conv2 = glorot_conv(channels, channels, 3, BLOCK_GAIN)
        self.shortcut = glorot_conv(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(upsample(F.relu(self.norm1(x))))
        h = self.conv2(F.relu(self.norm2(h)))
        return self.shortcut(upsample(x)) + h


class DiscriminatorBlock(nn.Module):
    """``ReLU -> conv3x3 -> ReLU -> conv3x3``, then with ``downsample`` mean-pool, halving H and W.

    Shortcut: ``conv1x1 -> mean-pool`` with ``downsample``, the identity without.
    """

    def __init__(self, channels: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = glorot_conv(channels, channels, 3, BLOCK_GAIN)
        self.conv2 = glorot_conv(channels, channels, 3, BLOCK_GAIN)
        self.shortcut = glorot_conv(channels, channels, 1) if downsample else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        shortcut = self.shortcut(x)
        if self.downsample:
            h, shortcut = mean_pool(h), mean_pool(shortcut)
        return shortcut + h


class OptimizedDiscriminatorBlock(nn.Module):
    """The first block: ``conv3x3 -> ReLU -> conv3x3 -> mean-pool``, plus ``mean-pool -> conv1x1``; halves H and W."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv1 = glorot_conv(in_channels, channels, 3, BLOCK_GAIN)
        self.conv2 = glorot_conv(channels, channels, 3, BLOCK_GAIN)
        self.shortcut = glorot_conv(in_channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = mean_pool(self.conv2(F.relu(self.conv1(x))))
        return self.shortcut(mean_pool(x)) + h


def generator_body(channels: int, out_channels: int, eps: float) -> nn.Sequential:
    """Both generators after their input layer: three :class:`GeneratorBlock`, ``BN -> ReLU -> conv3x3 -> tanh``.

    The output convolution has gain 1 (WGAN-GP: ``he_init=False``; SN-GAN: ``GlorotUniform()``).
    """
    return nn.Sequential(
        *(GeneratorBlock(channels, eps) for _ in range(3)),
        nn.BatchNorm2d(channels, eps=eps),
        nn.ReLU(),
        glorot_conv(channels, out_channels, 3),
        nn.Tanh(),
    )


class ResNetGenerator(nn.Module):
    """Both papers' generator: ``Linear(latent_dim -> channels * H/8 * W/8)`` reshaped to ``channels x H/8 x W/8``,
    then :func:`generator_body`; the two papers differ only in their channels and batch norm's ``eps``
    (:class:`~.resnet_wgan_gp.WGANGPResNetGenerator`, :class:`~.resnet_sngan.SNGANResNetGenerator`)."""

    def __init__(self, data_shape: Sequence[int], latent_dim: int, channels: int, batch_norm_eps: float) -> None:
        super().__init__()
        self.data_shape = check_resnet_shape(data_shape)
        _check_positive(latent_dim=latent_dim, channels=channels)
        self.latent_dim = latent_dim
        self.channels = channels
        out_channels, height, width = self.data_shape
        self.start_size = (height // MULTIPLE, width // MULTIPLE)
        self.input = glorot_linear(latent_dim, channels * self.start_size[0] * self.start_size[1])
        self.body = generator_body(channels, out_channels, batch_norm_eps)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.input(z).view(z.shape[0], self.channels, *self.start_size))


def discriminator_body(in_channels: int, channels: int) -> nn.Sequential:
    """Both discriminators before their pooling: an optimised block, a down-sampling block, two plain blocks, ReLU."""
    return nn.Sequential(
        OptimizedDiscriminatorBlock(in_channels, channels),
        DiscriminatorBlock(channels, downsample=True),
        DiscriminatorBlock(channels, downsample=False),
        DiscriminatorBlock(channels, downsample=False),
        nn.ReLU(),
    )
