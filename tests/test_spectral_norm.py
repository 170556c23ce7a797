"""Spectral normalisation as a discriminator option (Miyato et al. 2018) of the MLP and DCGAN networks."""

import pytest
import torch
from torch import nn

from lightning_gans.gan_modules.networks import DCGANDiscriminator, MLPDiscriminator


def top_singular_values(network):
    """sigma_max of every Linear/Conv2d weight as the forward pass uses it (a kernel as an (out, in*k*k) matrix)."""
    return [torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
            for m in network.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


@pytest.mark.parametrize("make, x", [
    (lambda **kw: MLPDiscriminator((2,), hidden=32, n_layers=3, **kw), torch.randn(16, 2)),
    (lambda **kw: DCGANDiscriminator((1, 8, 8), base_channels=8, norm="none", **kw), torch.randn(4, 1, 8, 8)),
])
def test_every_normalised_weight_has_top_singular_value_one_after_power_iterations(make, x):
    torch.manual_seed(0)
    plain, normalised = make(), make(spectral_norm=True)
    assert max(abs(s - 1) for s in top_singular_values(plain)) > 0.1  # the option is what makes them 1
    for _ in range(50):  # one power iteration a training-mode forward pass (Algorithm 1)
        normalised(x)
    values = top_singular_values(normalised)
    assert len(values) == len(top_singular_values(plain))  # every layer, the head included
    assert values == pytest.approx([1.0] * len(values), abs=1e-3)


def test_spectral_norm_trains_the_raw_weight_and_keeps_the_scores_per_example():
    torch.manual_seed(0)
    critic = MLPDiscriminator((2,), hidden=8, n_layers=2, spectral_norm=True)
    raw = critic.head.parametrizations.weight.original
    assert any(p is raw for p in critic.parameters())
    x = torch.randn(6, 2)
    critic.eval()  # no power iteration: the same weights for the batch and for each example alone
    torch.testing.assert_close(critic(x), torch.cat([critic(x[i:i + 1]) for i in range(6)]))
