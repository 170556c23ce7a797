"""Every method of the library as a tiny module on the 2-D ring, for the DDP, precision and resume tests.

``build(name, **options)`` gives a fresh module (networks built from the global RNG, so seed first);
``ring()`` a small datamodule (96 points, batches of 16: 6 batches an epoch).  :data:`METHODS` is the one
list of methods the DDP, precision and resume tests run; a method that fails to import fails them.
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any, Callable

import lightning.pytorch as pl

from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator

HIDDEN = 16  # tiny networks: the tests check equality, not quality


def ring(batch_size: int = 16, n_train: int = 96) -> RingOfGaussians:
    return RingOfGaussians(n_train=n_train, n_val=0, batch_size=batch_size)


def _networks() -> dict[str, Any]:
    return {"generator": partial(MLPGenerator, latent_dim=2, hidden=HIDDEN, n_layers=2),
            "discriminator": partial(MLPDiscriminator, hidden=HIDDEN, n_layers=2)}


def _method(module: str, cls: str, **defaults: Any) -> Callable[..., pl.LightningModule]:
    def build(**options: Any) -> pl.LightningModule:
        method = getattr(importlib.import_module(module), cls)
        return method(**{**_networks(), **defaults, **options})
    return build


def _alpha_gan(**options: Any) -> pl.LightningModule:
    from lightning_gans.gan_modules.alpha_gan import AlphaGAN
    from lightning_gans.gan_modules.networks.encoder import MLPEncoder

    return AlphaGAN(**_networks(), encoder=partial(MLPEncoder, hidden=HIDDEN, n_layers=2),
                    code_discriminator=partial(MLPDiscriminator, hidden=HIDDEN, n_layers=2), **options)


#: name -> builder.  "gan_k2" is GAN with n_critic=2 (the critic cycle spans batches).
METHODS: dict[str, Callable[..., pl.LightningModule]] = {
    "gan_k2": _method("lightning_gans.gan_modules.gan", "GAN", generator_loss="minimax", n_critic=2),
    "nsgan": _method("lightning_gans.gan_modules.gan", "GAN", generator_loss="non_saturating"),
    "alpha_gan": _alpha_gan,
    "wgan": _method("lightning_gans.gan_modules.wgan", "WGAN", n_critic=2),
    "wgan_gp": _method("lightning_gans.gan_modules.wgan_gp", "WGANGP", n_critic=2),
    "gan_gp": _method("lightning_gans.gan_modules.nsgan_gp", "NSGANGP", penalty="interpolate"),
    "dragan_ns": _method("lightning_gans.gan_modules.nsgan_gp", "NSGANGP", penalty="dragan"),
    "hinge_r1": _method("lightning_gans.gan_modules.modular_gan", "ModularGAN", loss="hinge", penalty="r1",
                        penalty_weight=1.0, penalty_interval=2),
}


def build(name: str, **options: Any) -> pl.LightningModule:
    return METHODS[name](**options)


def adagan_callback() -> pl.Callback:
    """AdaGAN around a method: two stages of one epoch each, a short classifier run between them."""
    from lightning_gans.callbacks.adagan import AdaGAN

    return AdaGAN(stages=2, epochs_per_stage=1, classifier_steps=5, eval_samples=200)


def trainer(**options: Any) -> pl.Trainer:
    settings = dict(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                    enable_checkpointing=False, max_epochs=-1)
    settings.update(options)
    return pl.Trainer(**settings)
