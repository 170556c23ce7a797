"""A checkout imports itself: ``lightning_gans.gan_modules`` and its siblings from the checkout whose
``lightning_gans/`` was imported.

In a checkout the subpackages are the repository's top-level folders (``gan_modules/`` is
``lightning_gans.gan_modules``, the ``package-dir`` mapping of ``pyproject.toml``).  An editable install
maps them to the checkout it was installed from; run from another clone (``python train.py`` there, or
any script in it), ``lightning_gans`` came from that clone's folder but ``lightning_gans.gan_modules``
from the installed one, so edits to the clone's ``gan_modules/`` were silently ignored.
:class:`CheckoutFinder` maps them to the folders beside the imported ``lightning_gans/``.  An installed
wheel holds real subfolders of ``lightning_gans/`` and needs no finder.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
from pathlib import Path
from typing import Any, Optional

#: ``lightning_gans.<name>`` is the checkout's top-level folder ``<name>/``
SUBPACKAGES = ("gan_modules", "datamodules", "callbacks", "configs")


class CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds ``lightning_gans.<subpackage>`` in the checkout folder ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        package, _, name = fullname.partition(".")
        if package != "lightning_gans" or name not in SUBPACKAGES:
            return None
        folder = self.root / name
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


def checkout_finder(package_file: str) -> Optional[CheckoutFinder]:
    """The finder for the checkout holding ``lightning_gans/__init__.py`` at ``package_file``; ``None`` for an
    installed wheel (whose subpackages are subfolders) or a folder that is not a checkout."""
    package = Path(package_file).resolve().parent
    root = package.parent
    if (package / SUBPACKAGES[0]).is_dir() or not all((root / name / "__init__.py").is_file() for name in SUBPACKAGES):
        return None
    return CheckoutFinder(root)
