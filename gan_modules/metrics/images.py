"""Conversions of generated images (floats in [-1, 1], the tanh range) for the metrics.

This module is the one place where images leave data space:

* :func:`to_uint8` quantises to ``[0, 255]`` as a saved PNG would be, which is the reference protocol
  of the Inception metrics (torch-fidelity and the TTUR code read uint8 images: ``(x + 1) * 127.5``, round, clamp);
* :func:`to_rgb_uint8` also repeats a grey channel to the 3 channels Inception-v3 expects (pitfall 5);
* :func:`to_unit_interval` gives the [0, 1] pixel scale of the Parzen-window protocol
  (Goodfellow et al. 2014, Table 1: pylearn2 MNIST pixels in [0, 1]).
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Smallest side of the images behind published Inception numbers (CIFAR-10, 32 x 32 px).
PUBLISHED_MIN_SIDE = 32


def _check_images(images: Tensor) -> None:
    if images.ndim != 4:
        raise ValueError(f"expected a batch of images (B, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"expected float images in [-1, 1], got dtype {images.dtype}")


def to_uint8(images: Tensor) -> Tensor:
    """``[-1, 1]`` floats to ``uint8``: ``-1 -> 0``, ``1 -> 255``, out-of-range values clamped."""
    _check_images(images)
    return ((images.float() + 1) * 127.5).clamp(0, 255).round().to(torch.uint8)


def to_rgb_uint8(images: Tensor) -> Tensor:
    """:func:`to_uint8`, with 1-channel images repeated to 3 channels (Inception-v3 takes RGB)."""
    images = to_uint8(images)
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if images.shape[1] != 3:
        raise ValueError(f"Inception metrics need 1- or 3-channel images, got {images.shape[1]} channels")
    return images


def to_unit_interval(images: Tensor) -> Tensor:
    """``[-1, 1]`` floats to ``[0, 1]`` floats (clamped)."""
    return ((images.float() + 1) / 2).clamp(0, 1)


def comparable_with_published(data_shape: tuple[int, ...]) -> bool:
    """Whether Inception scores on images of this shape can be set beside published numbers.

    Published IS/FID/KID are for RGB images of at least 32 x 32 px; scores on grayscale images
    (MNIST, the 8 x 8 digits) or on tiny images are valid for comparing runs with each other only
    (the Inception network was trained on RGB ImageNet photographs, Szegedy et al. 2016).
    """
    return len(data_shape) == 3 and data_shape[0] == 3 and min(data_shape[1:]) >= PUBLISHED_MIN_SIDE
