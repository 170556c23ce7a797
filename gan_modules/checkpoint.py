"""``load_generator``: a checkpoint written by ``train.py`` back to a module that can ``sample(n)``."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import lightning.pytorch as pl
import torch

from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture


def load_generator(
    checkpoint_path: str | Path, map_location: str | torch.device = "cpu"
) -> pl.LightningModule | GeneratorMixture:
    """Rebuild the trained module of a checkpoint, in eval mode, ready for ``sample(n)``.

    A checkpoint of an AdaGAN run (:class:`lightning_gans.callbacks.adagan.AdaGAN`) with at least one finished
    stage gives the :class:`~lightning_gans.gan_modules.adagan.mixture.GeneratorMixture` of its frozen components
    instead (``sample(n)`` draws from the mixture, ``len(mixture)`` components with ``mixture.weights``); the
    module being trained is then not returned.

    Works for any checkpoint ``train.py`` wrote (the Lightning CLI stores the class path and the
    network configs in the checkpoint's hyper-parameters).  The module's class must be importable:
    the library's own methods are imported here; import your own classes before calling this.
    """
    import lightning_gans.gan_modules  # noqa: F401  (registers the library's LightningModule subclasses)

    path = Path(checkpoint_path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path.resolve()}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as error:
        raise ValueError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {error}") from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(f"{path} is not a Lightning checkpoint of a GAN module (no state_dict/hyper_parameters)")
    hparams = checkpoint["hyper_parameters"]
    if "generator" not in hparams:
        raise ValueError(
            f"{path} does not record how to build its generator: the module was given nn.Module instances, "
            "which are not saved as hyper-parameters. Build the same module yourself and call "
            "module.load_state_dict(torch.load(path)['state_dict'])."
        )
    module = pl.LightningModule.load_from_checkpoint(path, map_location=map_location)
    mixture = GeneratorMixture.from_lightning_checkpoint(checkpoint, template=module.generator)
    return mixture if mixture is not None else module.eval()
