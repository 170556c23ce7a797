"""lightning-gans: classic GAN methods as PyTorch Lightning modules.

The installed package gathers the repository's top-level folders under one import name:

* :mod:`lightning_gans.gan_modules` -- the methods (LightningModules), losses, networks, metrics;
* :mod:`lightning_gans.datamodules` -- the data sets;
* :mod:`lightning_gans.callbacks` -- sample pictures, evaluation, AdaGAN;
* :mod:`lightning_gans.configs` -- the bundled YAML configs (``lightning-gans fit --config ring8_gan``);
* :mod:`lightning_gans.cli` -- the command line (``lightning-gans`` and ``python train.py``).
"""

__version__ = "0.2.0"

import sys as _sys

from lightning_gans.checkout import checkout_finder as _checkout_finder

_finder = _checkout_finder(__file__)  # a checkout imports its own gan_modules/, datamodules/, ... (checkout.py)
if _finder is not None:
    _sys.meta_path.insert(0, _finder)
