"""``--ckpt_path`` against the command line: the command line's model is the one the run uses.

LightningCLI replaces the model's config by the hyper-parameters stored in the checkpoint, so a
checkpoint silently overrides the config and the flags (another method, another learning rate).
Here a checkpoint of another module class stops the run before anything is built, and
hyper-parameters that differ are listed in one warning that says the run uses the command line's.
"""

from __future__ import annotations

from typing import Any, Mapping

import lightning.pytorch as pl
from jsonargparse import Namespace
from lightning.pytorch.utilities import rank_zero_warn

from lightning_gans.gan_modules.training.checkpoint import checkpoint_class_path, read_checkpoint
from lightning_gans.gan_modules.training.hyperparameters import imported_class

#: keys of the hyper-parameters that are not the user's choices (the CLI's bookkeeping, the linked data shape)
NOT_CHOSEN = ("_class_path", "_instantiator", "data_shape")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": leaf}``, tuples as lists (the CLI writes lists, Python modules tuples)."""
    if isinstance(value, Namespace):
        value = value.as_dict()
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}{key}."))
        return flat
    if isinstance(value, tuple):
        value = list(value)
    return {prefix[:-1]: value}


def differing_hyperparameters(checkpoint_hparams: Mapping[str, Any], init_args: Mapping[str, Any]
                              ) -> list[tuple[str, Any, Any]]:
    """``(name, checkpoint value, command-line value)`` for every value set on both sides that differs."""
    stored = flatten({k: v for k, v in checkpoint_hparams.items() if k not in NOT_CHOSEN})
    given = flatten({k: v for k, v in init_args.items() if k not in NOT_CHOSEN})
    return [(name, stored[name], given[name]) for name in sorted(stored.keys() & given.keys())
            if stored[name] != given[name]]


def check_checkpoint_matches(ckpt_path: str, model_config: Namespace) -> None:
    """Stop (``SystemExit``, one line) when ``ckpt_path`` holds another module class than ``model_config``
    (the parsed ``--model``); warn about the hyper-parameters that differ."""
    checkpoint = read_checkpoint(ckpt_path)
    stored_path = checkpoint_class_path(checkpoint)
    if stored_path is None:
        return  # a checkpoint of a module that records no class: nothing to compare
    given_class = imported_class(model_config.class_path, pl.LightningModule)  # imported by the parser
    try:
        stored_class = imported_class(stored_path, pl.LightningModule)
    except ValueError:
        stored_class = None
    if stored_class is not given_class:
        stored_name = stored_class.__name__ if stored_class is not None else stored_path
        raise SystemExit(
            f"error: --ckpt_path {ckpt_path} holds a {stored_name} checkpoint, but the command line's model is "
            f"{given_class.__name__}: pass the config the checkpoint was trained with, or another checkpoint"
        )
    differences = differing_hyperparameters(checkpoint["hyper_parameters"], model_config.get("init_args") or {})
    if differences:
        listed = "; ".join(f"{name}: {stored!r} -> {given!r}" for name, stored, given in differences)
        rank_zero_warn(f"--ckpt_path {ckpt_path}: the command line's hyper-parameters differ from the "
                       f"checkpoint's, and this run uses the command line's (checkpoint -> this run): {listed}")
