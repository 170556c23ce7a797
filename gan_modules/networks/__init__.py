"""Network zoo: MLPs for vectors (toy mixtures; PacGAN's maxout discriminator), DCGAN-style convnets for images of 8 to 64 px.
The residual networks of WGAN-GP's and SN-GAN's CIFAR-10 experiments (Gulrajani et al. 2017; Miyato et al. 2018) are ``WGANGPResNet*`` and ``SNGANResNet*``.

Generators: ``Gen(data_shape, latent_dim=..., ...)`` with attribute ``latent_dim`` and
``forward(z) -> (B, *data_shape)``.  Discriminators: ``Disc(data_shape, ...)`` with
``forward(x) -> (B,)`` raw scores and ``features(x) -> (B, F)`` penultimate activations.  Encoders (alpha-GAN): ``Enc(data_shape, latent_dim, ...)``.
"""

from lightning_gans.gan_modules.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from lightning_gans.gan_modules.networks.encoder import DCGANEncoder, MLPEncoder
from lightning_gans.gan_modules.networks.maxout import Maxout, MaxoutDiscriminator
from lightning_gans.gan_modules.networks.minibatch import MinibatchDiscrimination
from lightning_gans.gan_modules.networks.mlp import MLPDiscriminator, MLPGenerator
from lightning_gans.gan_modules.networks.norm import norm_layer
from lightning_gans.gan_modules.networks.resnet_sngan import SNGANResNetDiscriminator, SNGANResNetGenerator
from lightning_gans.gan_modules.networks.resnet_wgan_gp import WGANGPResNetDiscriminator, WGANGPResNetGenerator
from lightning_gans.gan_modules.networks.virtual_batch_norm import VirtualBatchNorm

__all__ = [
    "DCGANDiscriminator", "DCGANEncoder", "DCGANGenerator", "MLPDiscriminator", "MLPEncoder", "MLPGenerator",
    "Maxout", "MaxoutDiscriminator",
    "MinibatchDiscrimination", "VirtualBatchNorm", "norm_layer",
    "SNGANResNetDiscriminator", "SNGANResNetGenerator", "WGANGPResNetDiscriminator", "WGANGPResNetGenerator",
]
