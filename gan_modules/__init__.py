"""GAN methods as LightningModules, and what they are made of."""

from lightning_gans.gan_modules.adagan import GeneratorMixture
from lightning_gans.gan_modules.alpha_gan import AlphaGAN
from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.training.checkpoint import load_generator
from lightning_gans.gan_modules.gan import GAN
from lightning_gans.gan_modules.modular_gan import ModularGAN
from lightning_gans.gan_modules.nsgan_gp import NSGANGP
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec
from lightning_gans.gan_modules.wgan import WGAN
from lightning_gans.gan_modules.wgan_gp import WGANGP

__all__ = [
    "AdversarialModule", "AlphaGAN", "ComposedGAN", "GAN", "GeneratorMixture", "ModularGAN", "NSGANGP", "OptimizerSpec", "WGAN",
    "WGANGP", "load_generator",
]
