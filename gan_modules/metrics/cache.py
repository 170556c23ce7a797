"""The library's cache directory for files it derives once (trained classifiers, converted weights)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$LIGHTNING_GANS_CACHE`` or ``~/.cache/lightning_gans``."""
    return Path(os.environ.get("LIGHTNING_GANS_CACHE", Path.home() / ".cache" / "lightning_gans")).expanduser()
