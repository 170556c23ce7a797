"""Checkpoints back to modules: ``load_generator`` and what it needs to read a checkpoint's class and networks.

Every checkpoint this library or a plain ``Trainer`` writes loads under torch's default
``weights_only=True`` (the hyper-parameters are plain data: :mod:`~lightning_gans.gan_modules.training.hyperparameters`).
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
import torch

from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture
from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.training.resume import networks_not_stored
from lightning_gans.gan_modules.training.hyperparameters import imported_class


#: torch's ``weights_only`` refusal, e.g. "unsupported GLOBAL posix.system whose module posix is blocked" or
#: "Unsupported global: GLOBAL __main__.Net was not an allowed global by default"
REFUSED_GLOBAL = re.compile(r"unsupported global:?\s+(?:global\s+)?([\w.]*\w)", re.IGNORECASE)


def refused_global(error: pickle.UnpicklingError) -> str:
    """What torch's ``weights_only`` unpickler refused to import, as ``the global <module.name>`` when it says."""
    match = REFUSED_GLOBAL.search(str(error))
    return f"the global {match.group(1)}" if match else "objects other than tensors and plain data"


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A Lightning checkpoint as a dict, read with ``weights_only=True``; one clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path.resolve()}")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise ValueError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?)")
    try:
        checkpoint = torch.load(path, map_location=map_location)
    except pickle.UnpicklingError as error:  # torch refused an object that is not plain data
        raise ValueError(
            f"{path} is unsafe to load: it holds {refused_global(error)}, which would run code when loaded; only "
            f"if you trust its source, read it with torch.load(path, weights_only=False)"
        ) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as error:
        raise ValueError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {error}") from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(f"{path} is not a Lightning checkpoint of a GAN module (no state_dict/hyper_parameters)")
    return checkpoint


def checkpoint_class_path(checkpoint: dict[str, Any]) -> Optional[str]:
    """The dotted path of the module class that wrote ``checkpoint`` (the Lightning CLI's ``_class_path``
    or :attr:`AdversarialModule.CHECKPOINT_CLASS_KEY`), ``None`` when it records none."""
    return checkpoint.get("hyper_parameters", {}).get("_class_path") or checkpoint.get(
        AdversarialModule.CHECKPOINT_CLASS_KEY)


def load_generator(
    checkpoint_path: str | Path, map_location: str | torch.device = "cpu"
) -> pl.LightningModule | GeneratorMixture:
    """Rebuild the trained module of a checkpoint, in eval mode, ready for ``sample(n)``.

    A checkpoint of an AdaGAN run (:class:`lightning_gans.callbacks.adagan.AdaGAN`) with at least one finished
    stage gives the :class:`~lightning_gans.gan_modules.adagan.mixture.GeneratorMixture` of its frozen components
    instead (``sample(n)`` draws from the mixture, ``len(mixture)`` components with ``mixture.weights``); the
    module being trained is then not returned.

    Works for any checkpoint ``train.py`` or a plain ``Trainer`` wrote whose networks were given as
    class paths (the CLI), classes or ``functools.partial``\\ s of classes; networks given as
    ``nn.Module`` instances are not in a checkpoint, and the error says which to pass to
    ``Method.load_from_checkpoint(path, generator=..., ...)``.  The module's class must be imported:
    the library's own methods are imported here; import your own classes before calling this.
    """
    import lightning_gans.gan_modules  # noqa: F401  (registers the library's LightningModule subclasses)

    path = Path(checkpoint_path)
    checkpoint = read_checkpoint(path, map_location)
    class_path = checkpoint_class_path(checkpoint)
    if class_path is None:
        raise ValueError(f"{path} does not record its module's class (not written by a module of this library); "
                         "load it with YourMethod.load_from_checkpoint(path)")
    module_class = imported_class(class_path, AdversarialModule)
    missing = [name for name in module_class.network_arguments if name not in checkpoint["hyper_parameters"]]
    if missing:
        raise ValueError(networks_not_stored(path, module_class, missing))
    module = module_class.load_from_checkpoint(path, map_location=map_location)
    mixture = GeneratorMixture.from_lightning_checkpoint(checkpoint, template=module.generator)
    return mixture if mixture is not None else module.eval()
