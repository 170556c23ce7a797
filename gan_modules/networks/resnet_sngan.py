"""SN-GAN's CIFAR-10 ResNet generator and spectrally normalised discriminator.

Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral Normalization for Generative Adversarial Networks"
(arXiv:1802.05957), Table 4 [code: pfnet-research/sngan_projection ``gen_models/resnet_32.py``
``ResNetGenerator(ch=256, dim_z=128, bottom_width=4)``, ``dis_models/snresnet_32.py``
``SNResNetProjectionDiscriminator(ch=128, n_classes=0)``, as in ``configs/sn_cifar10_unconditional.yml``].
The blocks, the same as WGAN-GP's, and their initialisation: :mod:`.resnet_blocks`.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from lightning_gans.gan_modules.networks.mlp import _check_positive
from lightning_gans.gan_modules.networks.resnet_blocks import (
    ResNetGenerator,
    check_resnet_shape,
    discriminator_body,
    glorot_linear,
)
from lightning_gans.gan_modules.networks.spectral_norm import spectrally_normalise_

BATCH_NORM_EPS = 2e-5  # chainer.links.BatchNormalization's default eps


class SNGANResNetGenerator(ResNetGenerator):
    """``z (B, latent_dim) -> images (B, C, H, W)`` in [-1, 1]; 4,276,739 parameters at 3 x 32 x 32.

    ``Linear(latent_dim -> channels * H/8 * W/8)`` reshaped to ``channels x H/8 x W/8``, three
    up-sampling residual blocks (:class:`~.resnet_blocks.GeneratorBlock`: the shortcut is
    ``up -> conv1x1``, learnt because the block up-samples), ``BN -> ReLU -> conv3x3 -> tanh``.
    No spectral norm: the paper normalises the discriminator only.

    Initialisation [code: ``gen_models/resnet_32.py``, ``gen_models/resblocks.py``]: the input
    ``Linear`` and the output convolution ``GlorotUniform()``, the blocks' 3x3 convolutions
    ``GlorotUniform(math.sqrt(2))``, the shortcuts ``GlorotUniform()``; biases 0 (Chainer's
    default); batch norm scales 1, shifts 0, ``eps = 2e-5`` and running averages with momentum
    0.1 (Chainer's ``decay=0.9``).

    Args:
        data_shape: ``(C, H, W)`` with ``H`` and ``W`` multiples of 8 (``(3, 32, 32)`` in the paper).
        latent_dim: size of ``z ~ N(0, I)``; 128 (Table 4; ``dim_z=128``).
        channels: channels of every block; 256 (Table 4; ``ch=256``).
    """

    def __init__(self, data_shape: Sequence[int], latent_dim: int = 128, channels: int = 256) -> None:
        super().__init__(data_shape, latent_dim, channels, BATCH_NORM_EPS)


class SNGANResNetDiscriminator(nn.Module):
    """``images (B, C, H, W) -> scores (B,)``; 1,053,824 parameters at 3 x 32 x 32.

    An optimised first block, one down-sampling block, two blocks with identity shortcuts (see
    :mod:`.resnet_blocks`), ReLU, global **sum** pooling (``F.sum(h, axis=(2, 3))``; the code's
    comment says "average", Table 4 and the code sum), ``Linear(channels -> 1)`` without a bias
    (``nobias=True``).  Spectral norm on every convolution and on the linear layer
    (``SNConvolution2D``, ``SNLinear``), through :func:`~.spectral_norm.spectrally_normalise_`.

    Initialisation [code: ``dis_models/resblocks.py``, ``dis_models/snresnet_32.py``]: the blocks'
    3x3 convolutions ``GlorotUniform(math.sqrt(2))``, the 1x1 shortcuts and the linear layer
    ``GlorotUniform()``; biases 0.  Spectral norm is attached after it, so the trained parameter
    (``parametrizations.weight.original``) starts from these weights.  The reference starts each
    power iteration from a random ``u`` and runs one step a forward pass; PyTorch's spectral norm runs
    15 steps when attached, then one a training-mode forward pass.

    Args:
        data_shape: ``(C, H, W)`` with ``H`` and ``W`` multiples of 8 (``(3, 32, 32)`` in the paper).
        channels: channels of every block; 128 (Table 4; ``ch=128``).
    """

    def __init__(self, data_shape: Sequence[int], channels: int = 128) -> None:
        super().__init__()
        self.data_shape = check_resnet_shape(data_shape)
        _check_positive(channels=channels)
        self.body = discriminator_body(self.data_shape[0], channels)
        self.head = glorot_linear(channels, 1, bias=False)
        spectrally_normalise_(self)

    def features(self, x: Tensor) -> Tensor:
        """The globally sum-pooled last activations, shape (B, channels)."""
        return self.body(x).sum(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """One raw score (logit) per example, shape (B,)."""
        return self.head(self.features(x)).squeeze(-1)
