"""lightning-gans: classic GAN methods as PyTorch Lightning modules.

The installed package gathers the repository's top-level folders under one import name:

* :mod:`lightning_gans.gan_modules` -- the methods (LightningModules), losses, networks, metrics;
* :mod:`lightning_gans.datamodules` -- the data sets;
* :mod:`lightning_gans.callbacks` -- sample pictures, evaluation, AdaGAN;
* :mod:`lightning_gans.configs` -- the bundled YAML configs (``lightning-gans fit --config ring8_gan``);
* :mod:`lightning_gans.cli` -- the command line (``lightning-gans`` and ``python train.py``).
"""

__version__ = "0.2.0"
