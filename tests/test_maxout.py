"""PacGAN's maxout discriminator (lightning_gans.gan_modules.networks.maxout): the units by hand, PacGAN's sizes and
initialisation, one score a (packed) example, and a packed GAN built on it."""

import pytest
import torch

from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.networks import MLPGenerator, Maxout, MaxoutDiscriminator


def test_maxout_unit_is_the_largest_of_its_pieces_by_hand():
    layer = Maxout(2, 2, pieces=3)
    with torch.no_grad():
        # unit 0: pieces x1, -x1, x2; unit 1: pieces x1 + x2, 1, -1 (rows 3-5)
        layer.linear.weight.copy_(torch.tensor([[1.0, 0], [-1, 0], [0, 1], [1, 1], [0, 0], [0, 0]]))
        layer.linear.bias.copy_(torch.tensor([0.0, 0, 0, 0, 1, -1]))
    x = torch.tensor([[2.0, -3.0], [-0.5, 0.25]])
    expected = torch.tensor([[max(2, -2, -3), max(-1, 1, -1)], [max(-0.5, 0.5, 0.25), max(-0.25, 1, -1)]])
    assert torch.equal(layer(x), expected)


def test_pacgan_sizes_and_initialisation():
    torch.manual_seed(0)
    disc = MaxoutDiscriminator((8,))  # packs of 4 toy points, PacGAN's PacGAN4
    linears = [m for m in disc.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(1000, 8), (1000, 200), (1000, 200), (1, 200)]
    weights = torch.cat([m.weight.flatten() for m in linears])
    assert abs(weights.std().item() - 0.02) < 0.001 and abs(weights.mean().item()) < 0.001
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    default = MaxoutDiscriminator((8,), init_std=None)
    assert default.body[1].linear.weight.abs().max() > 0.3  # PyTorch's init: U(-1/sqrt(8), 1/sqrt(8))
    with pytest.raises(ValueError, match="init_std"):
        MaxoutDiscriminator((8,), init_std=0.0)


def test_one_score_an_example_that_depends_on_that_example_only():
    torch.manual_seed(0)
    disc = MaxoutDiscriminator((2,), hidden=16, init_std=None)
    x = torch.randn(5, 2)
    scores = disc(x)
    assert scores.shape == (5,) and disc.features(x).shape == (5, 16)
    x2 = x.clone()
    x2[3] += 1.0
    changed = disc(x2) != scores
    assert changed.tolist() == [False, False, False, True, False]


def test_a_packed_gan_builds_the_maxout_discriminator_for_the_pack():
    torch.manual_seed(0)
    module = GAN(generator=MLPGenerator((2,), hidden=8), discriminator=MaxoutDiscriminator, packing=4,
                 data_shape=(2,))
    assert module.discriminator.body[1].linear.in_features == 8
    packs = module.pack(torch.randn(12, 2))
    assert module.discriminator(packs).shape == (3,)
