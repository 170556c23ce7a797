"""GAN methods as LightningModules, and what they are made of."""

from gan_modules.alpha_gan import AlphaGAN
from gan_modules.base import AdversarialModule
from gan_modules.checkpoint import load_generator
from gan_modules.gan import GAN
from gan_modules.mixture import GeneratorMixture
from gan_modules.nsgan_gp import NSGANGP
from gan_modules.optimizer import OptimizerSpec
from gan_modules.wgan import WGAN
from gan_modules.wgan_gp import WGANGP

__all__ = [
    "AdversarialModule", "AlphaGAN", "GAN", "GeneratorMixture", "NSGANGP", "OptimizerSpec", "WGAN", "WGANGP",
    "load_generator",
]
