"""Features of the real data, extracted once and cached on disk, as torch-fidelity caches its reference features.

torch-fidelity saves the features of a *named* input as ``$TORCH_HOME/fidelity_cache/<input name>-<extractor
name>-features-<layer>.pt`` and loads them whenever that name comes back (``torch_fidelity/utils.py``:
``get_cacheable_input_name``, ``cache_lookup_group_recompute_all_on_any_miss``; the file is written by
``torch_atomic_save``, a temporary file renamed over the target).  Here the name is built from everything
that determines the features, so that no hand-given name can go stale (:class:`FeatureKey`):

* the data: the data set's name, the split, ``N``, this process's rows of the seeded subset, and the
  sha256 of the very examples fed (another seed, ``N``, split or changed files give another key);
* the extractor: its name (network, input conversion, layer) and the sha256 of its state dict
  (:func:`weights_digest`, computed once per extractor object).

The files live in ``<cache_dir>/real_features/`` (default ``$LIGHTNING_GANS_CACHE``, the root that also
holds the converted Inception weights and the digits classifier), written atomically (temporary file +
``os.replace``), so an interrupted run leaves no partial file; a file that cannot be read, or whose
stored key or row count does not match, is recomputed with a one-line warning.

:func:`feed_real_examples` is the one place where metric suites receive real examples: raw examples
go to the suites that compare raw vectors, and each :class:`RealFeatureSource` (the Inception and the
digits-classifier suites) gets its features from the cache, extracting and caching them on a miss.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Protocol, Sequence, runtime_checkable

import torch
from torch import Tensor, nn

from lightning_gans.gan_modules.metrics.cache import default_cache_dir

#: Sub-folder of the cache directory that holds the feature files.
FEATURES_FOLDER = "real_features"
#: Hex digits of each sha256 in a file name (the whole digests are stored in the file and compared).
NAME_DIGITS = 12


@runtime_checkable
class RealFeatureSource(Protocol):
    """A metric suite whose real examples reach its metrics only as features of a frozen extractor.

    ``feature_name`` names the extractor, the conversion of the examples before it and the layer
    used; ``extractor`` is the module whose weights key the cache; ``real_features(examples)`` maps
    a batch of real examples to ``(B, D)`` features and ``update_real_features(features)`` feeds them
    to the suite's metrics, so that ``update(examples, real=True)`` is the composition of the two.
    """

    feature_name: str
    extractor: nn.Module

    def real_features(self, examples: Tensor) -> Tensor: ...

    def update_real_features(self, features: Tensor) -> None: ...


_WEIGHTS_DIGESTS: "weakref.WeakKeyDictionary[nn.Module, str]" = weakref.WeakKeyDictionary()


def weights_digest(module: nn.Module) -> str:
    """sha256 of ``module``'s state dict: each entry's name, dtype, shape and bytes, in order.

    Computed once per module object (the extractors are frozen) and remembered while it lives; the
    91 MB of Inception-v3 take about 0.1 s.
    """
    if module not in _WEIGHTS_DIGESTS:
        digest = hashlib.sha256()
        for name, tensor in module.state_dict().items():
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
        _WEIGHTS_DIGESTS[module] = digest.hexdigest()
    return _WEIGHTS_DIGESTS[module]


@dataclass(frozen=True)
class FeatureKey:
    """What determines a set of cached real features (module docstring).

    ``rows`` is ``[start, stop)`` of the seeded ``N``-example subset that this process feeds
    (``(0, N)`` on one process; each DDP process caches its own share).  ``examples`` and
    ``weights`` are sha256 hex digests of the examples and of the extractor's state dict.
    """

    dataset: str
    split: str
    n: int
    rows: tuple[int, int]
    examples: str
    extractor: str
    weights: str

    def filename(self) -> str:
        start, stop = self.rows
        rows = "" if (start, stop) == (0, self.n) else f"-rows{start}-{stop}"
        return (f"{_safe(self.dataset)}-{_safe(self.split)}-n{self.n}{rows}-{_safe(self.extractor)}"
                f"-w{self.weights[:NAME_DIGITS]}-x{self.examples[:NAME_DIGITS]}.pt")


def _safe(text: str) -> str:
    """``text`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_`` (a file-name part; the
    whole key is stored in the file and compared on loading, so names need not be unambiguous)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class RealFeatureCache:
    """Feature files under ``<cache_dir>/real_features/`` (default :func:`default_cache_dir`).

    ``load(key)`` returns the cached ``(rows, D)`` features or ``None`` (missing, or unreadable: then a
    one-line warning); ``save(key, features)`` writes them atomically (a write error is a warning too:
    the evaluation goes on uncached).
    """

    def __init__(self, cache_dir: Optional[str | Path] = None) -> None:
        root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.directory = root / FEATURES_FOLDER

    def path(self, key: FeatureKey) -> Path:
        return self.directory / key.filename()

    def load(self, key: FeatureKey) -> Optional[Tensor]:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            features = saved["features"]
            if saved["key"] != asdict(key):
                raise ValueError("its stored key differs")
            if features.ndim != 2 or len(features) != key.rows[1] - key.rows[0]:
                raise ValueError(f"its features have shape {tuple(features.shape)}")
        except Exception as error:  # any unreadable file (truncated zip, bad pickle, wrong content): recompute
            reason = (str(error).strip().splitlines() or [""])[0]
            warnings.warn(f"cached real features {path} unreadable, recomputing them ({type(error).__name__}: "
                          f"{reason})", stacklevel=2)
            return None
        return features

    def save(self, key: FeatureKey, features: Tensor) -> None:
        path = self.path(key)
        partial = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=self.directory, prefix=f".{path.name}.", suffix=".partial")
            os.close(handle)
            torch.save({"key": asdict(key), "features": features.detach().cpu().contiguous()}, partial)
            os.replace(partial, path)  # atomic: readers see the old file or the whole new one
        except OSError as error:
            warnings.warn(f"real features not cached, cannot write {path} ({error})", stacklevel=2)
        finally:
            if partial is not None and os.path.exists(partial):
                os.remove(partial)


def feed_real_examples(
    suites: Sequence[nn.Module],
    batches: Callable[[], Iterable[Tensor]],
    cache: RealFeatureCache,
    dataset: str,
    split: str,
    n: int,
    rows: tuple[int, int],
    device: torch.device,
) -> None:
    """Feed ``suites`` the real examples that ``batches()`` yields, with the features of each
    :class:`RealFeatureSource` taken from ``cache`` when there, else extracted and cached.

    Args:
        suites: metric suites with ``update(x, real=True)``; the :class:`RealFeatureSource` ones are
            fed through ``update_real_features``.
        batches: a fresh iterator over the examples (CPU tensors) at each call; it is called once
            when every feature set is cached, twice when some must be extracted (the first pass
            hashes the examples).
        cache, dataset, split, n, rows: the cache and the data part of each :class:`FeatureKey`.
        device: where the suites live.

    Cached features are fed in the batches they were extracted in, so every metric sums the same
    terms in the same order whether they come from the cache or from the extractor.
    """
    sources = [suite for suite in suites if isinstance(suite, RealFeatureSource)]
    raw = [suite for suite in suites if not isinstance(suite, RealFeatureSource)]
    examples_digest, sizes = hashlib.sha256(), []
    for batch in batches():
        sizes.append(len(batch))
        if sources:
            batch = batch.cpu().contiguous()
            examples_digest.update(f"{batch.dtype}:{tuple(batch.shape)};".encode())
            examples_digest.update(batch.reshape(-1).view(torch.uint8).numpy())
        if raw:
            on_device = batch.to(device)
            for suite in raw:
                suite.update(on_device, real=True)
    if not sizes or not sources:
        return
    missing: dict[RealFeatureSource, tuple[FeatureKey, list[Tensor]]] = {}
    for source in sources:
        key = FeatureKey(dataset, split, n, rows, examples_digest.hexdigest(), source.feature_name,
                         weights_digest(source.extractor))
        features = cache.load(key)
        if features is None:
            missing[source] = (key, [])
        else:
            for chunk in features.split(sizes):
                source.update_real_features(chunk.to(device))
    if not missing:
        return
    for batch in batches():
        batch = batch.to(device)
        for source, (_, parts) in missing.items():
            features = source.real_features(batch)
            source.update_real_features(features)
            parts.append(features.cpu())
    for key, parts in missing.values():
        cache.save(key, torch.cat(parts))
