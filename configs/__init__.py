"""The bundled configs, installed as package data: ``lightning-gans fit --config <name>`` runs one by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def available() -> list[str]:
    """Names of the bundled configs (file names without ``.yaml``)."""
    return sorted(entry.name[: -len(".yaml")] for entry in resources.files(__name__).iterdir()
                  if entry.name.endswith(".yaml"))


def path(name: str) -> Path:
    """The file of the bundled config ``name`` (``ring8_gan``, ``ring8_gan.yaml`` or ``configs/ring8_gan.yaml``)."""
    stem = Path(name).name
    stem = stem[: -len(".yaml")] if stem.endswith(".yaml") else stem
    candidate = resources.files(__name__) / f"{stem}.yaml"
    if not candidate.is_file():
        raise FileNotFoundError(f"no config file {name!r} and no bundled config {stem!r}; "
                                f"bundled configs: {', '.join(available())}")
    return Path(str(candidate))
