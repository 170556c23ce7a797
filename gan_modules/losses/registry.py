"""A loss, penalty or constraint by name: a registered name, or the dotted path of a user's own function.

compare_gan chooses its loss and penalty by reference in the config (gin); here a config holds a string, so
that it stays plain data in checkpoints: ``loss: hinge`` (a name in the library's registry) or
``loss: my_project.losses.my_loss`` (any importable function, no registration needed).
"""

from __future__ import annotations

import importlib
from typing import Callable, Mapping


def resolve(name: str | Callable, registry: Mapping[str, Callable], kind: str) -> Callable:
    """``registry[name]``, else the function at the dotted path ``name`` (``package.module.function``); a function
    given itself (a subclass composing in Python) is used as it is.

    Raises one ``ValueError`` line naming the registered names where ``name`` is neither.
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"the {kind} must be a registered name, a dotted path or a function, got {type(name).__name__}")
    if name in registry:
        return registry[name]
    module_name, _, attribute = name.rpartition(".")
    function = None
    if module_name:
        try:
            function = getattr(importlib.import_module(module_name), attribute, None)
        except ImportError as error:
            raise ValueError(f"the {kind} {name!r} is not a registered name, and its module could not be imported: "
                             f"{error}") from error
    if not callable(function):
        raise ValueError(f"the {kind} {name!r} is neither a registered name ({', '.join(registry)}) nor the "
                         f"dotted path of a function (e.g. my_project.losses.my_{kind.replace(' ', '_')})")
    return function


def registered_names(registry: Mapping[str, Callable]) -> str:
    """The registered names, quoted and comma-separated (for help texts)."""
    return ", ".join(f"``{name}``" for name in registry)
