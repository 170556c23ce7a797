"""Spectral normalisation of a discriminator's layers (Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral
Normalization for Generative Adversarial Networks", arXiv:1802.05957).

Each weight ``W`` is used as ``W / sigma(W)``, ``sigma`` its largest singular value, so every layer
(and with 1-Lipschitz activations such as LeakyReLU the whole network) has Lipschitz constant at
most 1 (Sec. 2.1).  ``sigma`` is estimated by power iteration, one step a forward pass in training
mode with the vectors kept between steps (Algorithm 1); a convolution's kernel is normalised as the
``(out_channels, in_channels * k * k)`` matrix (Sec. 2.1, as the reference code).  PyTorch's
:func:`torch.nn.utils.parametrizations.spectral_norm` implements exactly this (and runs 15 power
iterations when it is attached, so the estimate is good from the first step).
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMALISED_LAYERS = (nn.Linear, nn.Conv2d)


def spectrally_normalise_(network: nn.Module) -> nn.Module:
    """Spectral-normalise the weight of every ``Linear`` and ``Conv2d`` layer of ``network`` in place; returns it.

    Call it after the weights are initialised: the parametrisation keeps the initial weight as the
    trained parameter (``parametrizations.weight.original``).  Other parameters (biases, norm layers'
    affine, minibatch discrimination's tensor) are left as they are, as in the paper, which
    normalises the weight matrices only.
    """
    for layer in list(network.modules()):
        if isinstance(layer, NORMALISED_LAYERS):
            spectral_norm(layer)
    return network
