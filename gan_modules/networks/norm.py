"""Normalisation layers selected by name: ``"batch"``, ``"layer"``, ``"none"`` (and, in generators, ``"virtual_batch"``).

Discriminators trained with a gradient penalty must not use batch normalisation: the penalty is a
per-example gradient norm, and batch statistics make each score depend on the rest of the batch
(Gulrajani et al. 2017, Sec. 4, "No critic batch normalization").  The paper recommends layer
normalisation instead.  The WGAN-GP reference code's ``Normalize`` is ``Layernorm`` over axes
[1, 2, 3] (C, H, W per example) with one offset and one scale per channel
[code: igul222/improved_wgan_training, ``gan_64x64.py``, ``tflib/ops/layernorm.py``], which is
exactly ``nn.GroupNorm(1, C)``.
"""

from __future__ import annotations

from torch import nn

from lightning_gans.gan_modules.networks.virtual_batch_norm import VirtualBatchNorm

NORM_KINDS = ("batch", "layer", "none")
# Virtual batch norm (Salimans et al. 2016, Sec. 3.5) is for generators only, as in the paper.
GENERATOR_NORM_KINDS = NORM_KINDS + ("virtual_batch",)


def check_norm(kind: str, kinds: tuple[str, ...] = NORM_KINDS) -> str:
    """Return ``kind`` if it is one of ``kinds`` (default: the discriminators' choices), else raise ``ValueError``."""
    if kind not in kinds:
        raise ValueError(f"norm must be one of {kinds}, got {kind!r}")
    return kind


def norm_layer(kind: str, channels: int, reference_size: int = 0) -> nn.Module:
    """Normalisation for conv features of shape (B, C, H, W).

    ``"batch"``: ``BatchNorm2d(C)``; ``"layer"``: per-example layer norm over (C, H, W) with a
    per-channel affine, ``GroupNorm(1, C)`` (WGAN-GP ``Normalize``); ``"none"``: ``Identity``;
    ``"virtual_batch"``: :class:`VirtualBatchNorm` with a reference batch of ``reference_size`` rows.
    """
    check_norm(kind, GENERATOR_NORM_KINDS)
    if kind == "virtual_batch":
        return VirtualBatchNorm(channels, reference_size)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def norm_layer_1d(kind: str, features: int, reference_size: int = 0) -> nn.Module:
    """Normalisation for vector features of shape (B, F): ``BatchNorm1d``, ``LayerNorm(F)``, ``Identity``
    or :class:`VirtualBatchNorm` (``reference_size`` reference rows)."""
    check_norm(kind, GENERATOR_NORM_KINDS)
    if kind == "virtual_batch":
        return VirtualBatchNorm(features, reference_size)
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    return nn.Identity()
