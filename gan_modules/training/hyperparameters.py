"""Hyper-parameters as plain data, so that checkpoints load under torch's default ``weights_only=True``.

Lightning writes a module's hyper-parameters into every checkpoint, and ``torch.load`` (hence
``load_from_checkpoint`` and ``Trainer.fit(ckpt_path=...)``) refuses any object but tensors,
numbers, strings and containers unless told to trust the file.  So a module keeps:

* optimizer settings (:class:`~lightning_gans.gan_modules.training.optimizer.OptimizerSpec`) as their dict;
* a network factory that is a class, or a ``functools.partial`` of a class with plain-data keyword
  arguments, as ``{"class_path": "package.module.Class", "init_args": {...}}`` -- the form the
  Lightning CLI writes, which the modules build networks from as well (:func:`factory_from_config`);
* other factories (lambdas, closures) not at all: like ``nn.Module`` instances they cannot be
  stored, so loading such a checkpoint needs them passed again (``Method.load_from_checkpoint(path,
  generator=...)``).
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any, Callable, Mapping, Optional

from torch import nn

from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

_PRIMITIVES = (bool, int, float, str, type(None))


def is_plain_data(value: Any) -> bool:
    """Whether ``value`` is made of numbers, strings, ``None``, lists, tuples and string-keyed dicts only."""
    if isinstance(value, _PRIMITIVES):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain_data(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and is_plain_data(item) for key, item in value.items())
    return False


def network_config(factory: Any) -> Optional[dict[str, Any]]:
    """``{"class_path", "init_args"}`` of a class or a ``functools.partial`` of one with plain-data
    keywords; ``None`` for any other factory."""
    init_args: dict[str, Any] = {}
    while isinstance(factory, functools.partial):
        if factory.args or not is_plain_data(factory.keywords):
            return None
        init_args = {**factory.keywords, **init_args}
        factory = factory.func
    if not isinstance(factory, type) or "<locals>" in factory.__qualname__:
        return None
    return {"class_path": f"{factory.__module__}.{factory.__qualname__}", "init_args": init_args}


def plain_hyperparameters(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` with optimizer settings as dicts and network factories as class-path configs;
    the factories that have no such form are left out."""
    plain = {}
    for name, value in hparams.items():
        if isinstance(value, OptimizerSpec):
            plain[name] = value.as_dict()
        elif callable(value):
            config = network_config(value)
            if config is not None:
                plain[name] = config
        else:
            plain[name] = value
    return plain


def is_network_config(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("class_path"), str)


def imported_class(class_path: str, base: type) -> type:
    """The subclass of ``base`` at ``class_path``; its module must be imported already or belong to this library.

    Checkpoints name classes; importing an arbitrary module named by a file could run any code, so
    (as Lightning's own ``load_from_checkpoint``) only modules already imported are looked in.
    """
    module_name, _, qualname = class_path.rpartition(".")
    module = sys.modules.get(module_name)
    if module is None and module_name.startswith("lightning_gans."):
        module = importlib.import_module(module_name)
    found = functools.reduce(getattr, qualname.split("."), module) if module is not None else None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ValueError(
            f"the checkpoint names {class_path!r}, which is not an imported subclass of {base.__name__}: "
            f"import the module that defines it before loading"
        )
    return found


def factory_from_config(config: Mapping[str, Any]) -> Callable[..., nn.Module]:
    """The network class of a ``{"class_path", "init_args"}`` config with its ``init_args`` bound."""
    return functools.partial(imported_class(config["class_path"], nn.Module), **dict(config.get("init_args") or {}))
