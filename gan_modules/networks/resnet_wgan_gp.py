"""WGAN-GP's CIFAR-10 ResNet generator and critic.

Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville 2017, "Improved Training of Wasserstein GANs"
(arXiv:1704.00028), CIFAR-10 experiments [code: igul222/improved_wgan_training
``gan_cifar_resnet.py``, unconditional: ``CONDITIONAL = False``; ``DIM_G = DIM_D = 128``,
``NORMALIZATION_G = True``, ``NORMALIZATION_D = False``].  The blocks and their initialisation:
:mod:`.resnet_blocks`.
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

BATCH_NORM_EPS = 1e-5  # tflib's Batchnorm: tf.nn.fused_batch_norm(..., epsilon=1e-5)


class WGANGPResNetGenerator(ResNetGenerator):
    """``z (B, latent_dim) -> images (B, C, H, W)`` in [-1, 1]; 1,204,483 parameters at 3 x 32 x 32.

    ``Linear(latent_dim -> channels * H/8 * W/8)`` reshaped to ``channels x H/8 x W/8``, three
    up-sampling residual blocks (:class:`~.resnet_blocks.GeneratorBlock`), ``BN -> ReLU ->
    conv3x3 -> tanh`` [code: ``Generator``].

    Initialisation [code: tflib ``ops/linear.py``, ``ops/conv2d.py``]: the input ``Linear`` Glorot
    uniform (``initialization=None`` is ``'glorot'``: ``U(+-sqrt(3) * sqrt(2 / (fan_in + fan_out)))``),
    the blocks' 3x3 convolutions Glorot uniform times ``sqrt(2)`` (``he_init=True``), the shortcuts
    and the output convolution Glorot uniform (``he_init=False``); biases 0; batch norm scales 1,
    shifts 0.  The reference code's batch norm always normalises with the batch's statistics (it
    never passes ``is_training``); here, as any ``nn.BatchNorm2d``, ``eval()`` uses running averages.

    Args:
        data_shape: ``(C, H, W)`` with ``H`` and ``W`` multiples of 8 (``(3, 32, 32)`` in the paper).
        latent_dim: size of ``z ~ N(0, I)``; 128 [code: ``tf.random_normal([n_samples, 128])``].
        channels: channels of every block (``DIM_G = 128``).
    """

    def __init__(self, data_shape: Sequence[int], latent_dim: int = 128, channels: int = 128) -> None:
        super().__init__(data_shape, latent_dim, channels, BATCH_NORM_EPS)


class WGANGPResNetDiscriminator(nn.Module):
    """The critic, ``images (B, C, H, W) -> scores (B,)``; 1,053,825 parameters at 3 x 32 x 32.

    An optimised first block, one down-sampling block, two blocks with identity shortcuts (see
    :mod:`.resnet_blocks`), ReLU, global **mean** pooling, ``Linear(channels -> 1)`` with a bias
    [code: ``Discriminator``].  No normalisation (``NORMALIZATION_D = False``): a critic under a
    gradient penalty must score each example on its own (Gulrajani et al. 2017, Sec. 4).

    Initialisation [code: tflib]: the blocks' 3x3 convolutions Glorot uniform times ``sqrt(2)``
    (``he_init=True``), the 1x1 shortcuts and the output ``Linear`` Glorot uniform; biases 0.

    Args:
        data_shape: ``(C, H, W)`` with ``H`` and ``W`` multiples of 8 (``(3, 32, 32)`` in the paper).
        channels: channels of every block (``DIM_D = 128``).
    """

    def __init__(self, data_shape: Sequence[int], channels: int = 128) -> None:
        super().__init__()
        self.data_shape = check_resnet_shape(data_shape)
        _check_positive(channels=channels)
        self.body = discriminator_body(self.data_shape[0], channels)
        self.head = glorot_linear(channels, 1)

    def features(self, x: Tensor) -> Tensor:
        """The globally mean-pooled last activations, shape (B, channels)."""
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """One raw score per example, shape (B,)."""
        return self.head(self.features(x)).squeeze(-1)
