"""Network zoo: MLPs for vectors (toy mixtures), DCGAN-style convnets for images of 8 to 64 px.

Generators: ``Gen(data_shape, latent_dim=..., ...)`` with attribute ``latent_dim`` and
``forward(z) -> (B, *data_shape)``.  Discriminators: ``Disc(data_shape, ...)`` with
``forward(x) -> (B,)`` raw logits and ``features(x) -> (B, F)`` penultimate activations.
"""

from gan_modules.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_modules.networks.mlp import MLPDiscriminator, MLPGenerator
from gan_modules.networks.norm import norm_layer

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "norm_layer"]
