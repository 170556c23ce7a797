"""GAN methods as LightningModules, and what they are made of."""

from gan_modules.alpha_gan import AlphaGAN
from gan_modules.base import AdversarialModule
from gan_modules.checkpoint import load_generator
from gan_modules.gan import GAN
from gan_modules.optimizer import OptimizerSpec

__all__ = ["AdversarialModule", "AlphaGAN", "GAN", "OptimizerSpec", "load_generator"]
