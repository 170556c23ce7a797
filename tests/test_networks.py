"""Tests for lightning_gans.gan_modules.networks: shapes, ranges, per-example independence, errors, init, sizes."""

import pytest
import torch
from torch import nn

from lightning_gans.gan_modules.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    norm_layer,
)
from lightning_gans.gan_modules.networks.norm import norm_layer_1d

SIZES = (8, 28, 32, 64)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- norm layers


@pytest.mark.parametrize(
    "kind, expected, expected_1d",
    [("batch", nn.BatchNorm2d, nn.BatchNorm1d), ("layer", nn.GroupNorm, nn.LayerNorm), ("none", nn.Identity, nn.Identity)],
)
def test_norm_layer_kinds(kind, expected, expected_1d):
    assert isinstance(norm_layer(kind, 6), expected)
    assert isinstance(norm_layer_1d(kind, 6), expected_1d)


def test_layer_norm_normalises_each_example_over_chw():
    layer = norm_layer("layer", 3)
    assert layer.num_groups == 1
    x = torch.randn(4, 3, 5, 5) * 7 + 3
    y = layer(x).flatten(1)
    torch.testing.assert_close(y.mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(1, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


@pytest.mark.parametrize("factory", [norm_layer, norm_layer_1d])
def test_unknown_norm_kind_raises(factory):
    with pytest.raises(ValueError, match="instance"):
        factory("instance", 4)


@pytest.mark.parametrize("cls", [MLPGenerator, MLPDiscriminator, DCGANGenerator, DCGANDiscriminator])
def test_networks_reject_unknown_norm(cls):
    shape = (1, 8, 8)
    with pytest.raises(ValueError, match="norm"):
        cls(shape, norm="spectral")


# ---------------------------------------------------------------- MLPs


def test_mlp_generator_shapes_and_latent_dim():
    gen = MLPGenerator((2,))
    assert gen.latent_dim == 2
    assert gen(torch.randn(5, 2)).shape == (5, 2)
    img = MLPGenerator((1, 8, 8), latent_dim=7)
    assert img(torch.randn(5, 7)).shape == (5, 1, 8, 8)


def test_mlp_generator_output_range_auto():
    """'auto' is linear for vectors (unbounded) and tanh for images (in [-1, 1])."""
    vec, img = MLPGenerator((2,)), MLPGenerator((1, 4, 4))
    with torch.no_grad():
        for gen in (vec, img):
            gen.output_layer.bias.fill_(5.0)
        assert (vec(torch.randn(16, 2)) > 1.0).all()
        out = img(torch.randn(16, 2))
    assert out.abs().max() <= 1.0
    assert (out > 0.99).all()


def test_mlp_generator_explicit_output_activation():
    gen = MLPGenerator((2,), output_activation="tanh")
    with torch.no_grad():
        gen.output_layer.bias.fill_(5.0)
        assert gen(torch.randn(8, 2)).abs().max() <= 1.0
    linear_img = MLPGenerator((1, 4, 4), output_activation="none")
    with torch.no_grad():
        linear_img.output_layer.bias.fill_(5.0)
        assert (linear_img(torch.randn(8, 2)) > 1.0).all()
    with pytest.raises(ValueError, match="output_activation"):
        MLPGenerator((2,), output_activation="sigmoid")


def test_mlp_hand_counted_parameters():
    # G: 2->4 (8+4), 4->4 (16+4), out 4->2 (8+2) = 42.  D: 2->4 (8+4), 4->4 (16+4), head 4->1 (4+1) = 37.
    assert n_params(MLPGenerator((2,), hidden=4, n_layers=2)) == 42
    assert n_params(MLPDiscriminator((2,), hidden=4, n_layers=2)) == 37
    # batch norm: the second linear layer loses its bias (4) and gains BN scale + shift (8).
    assert n_params(MLPDiscriminator((2,), hidden=4, n_layers=2, norm="batch")) == 41


def test_mlp_discriminator_flattens_and_features():
    disc = MLPDiscriminator((1, 4, 4), hidden=16)
    x = torch.randn(6, 1, 4, 4)
    feats = disc.features(x)
    assert feats.shape == (6, 16)
    out = disc(x)
    assert out.shape == (6,)
    torch.testing.assert_close(out, disc.head(feats).squeeze(-1))


@pytest.mark.parametrize("bad", [dict(hidden=0), dict(n_layers=0)])
def test_mlp_rejects_non_positive_sizes(bad):
    with pytest.raises(ValueError):
        MLPDiscriminator((2,), **bad)
    with pytest.raises(ValueError):
        MLPGenerator((2,), **bad)
    with pytest.raises(ValueError, match="data_shape"):
        MLPGenerator(())


# ---------------------------------------------------------------- DCGAN shapes


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_and_range(size, channels):
    shape = (channels, size, size)
    gen = DCGANGenerator(shape, latent_dim=16, base_channels=8)
    disc = DCGANDiscriminator(shape, base_channels=8)
    assert gen.latent_dim == 16
    x = gen(torch.randn(3, 16))
    assert x.shape == (3, *shape)
    assert x.abs().max() <= 1.0
    assert disc(x).shape == (3,)


@pytest.mark.parametrize("size, feature_dim", [(8, 2 * 8 * 2 * 2), (28, 2 * 8 * 7 * 7), (32, 4 * 8 * 4 * 4), (64, 8 * 8 * 4 * 4)])
def test_dcgan_features_and_head(size, feature_dim):
    disc = DCGANDiscriminator((3, size, size), base_channels=8)
    x = torch.rand(4, 3, size, size) * 2 - 1
    feats = disc.features(x)
    assert feats.shape == (4, feature_dim)
    torch.testing.assert_close(disc(x), disc.head(feats).squeeze(-1))


@pytest.mark.parametrize("shape", [(3, 16, 16), (1, 48, 48), (3, 32, 28), (1, 64, 32), (32, 32), (3, 1, 32, 32), (0, 32, 32)])
@pytest.mark.parametrize("cls", [DCGANGenerator, DCGANDiscriminator])
def test_dcgan_rejects_unsupported_shapes(cls, shape):
    with pytest.raises(ValueError, match=r"\(8, 28, 32, 64\)"):
        cls(shape)


# ---------------------------------------------------------------- per-example independence


def _scores_after_changing_first_example(disc: nn.Module, x: torch.Tensor):
    disc.train()
    with torch.no_grad():
        before = disc(x)
        changed = x.clone()
        changed[0] = torch.randn_like(changed[0]) * 3
        after = disc(changed)
    return before, after


CRITICS = [
    lambda norm: MLPDiscriminator((2,), hidden=16, norm=norm),
    lambda norm: DCGANDiscriminator((1, 8, 8), base_channels=4, norm=norm),
    lambda norm: DCGANDiscriminator((3, 28, 28), base_channels=4, norm=norm),
    lambda norm: DCGANDiscriminator((3, 32, 32), base_channels=4, norm=norm),
]


@pytest.mark.parametrize("make", CRITICS)
@pytest.mark.parametrize("norm", ["layer", "none"])
def test_critic_scores_are_per_example_without_batch_norm(make, norm):
    """What gradient penalties need: one example's score is a function of that example alone."""
    torch.manual_seed(0)
    disc = make(norm)
    x = torch.randn(6, *disc.data_shape)
    before, after = _scores_after_changing_first_example(disc, x)
    assert not torch.allclose(before[0], after[0])
    torch.testing.assert_close(before[1:], after[1:], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("make", CRITICS)
def test_batch_norm_couples_examples_in_train_mode(make):
    torch.manual_seed(0)
    disc = make("batch")
    x = torch.randn(6, *disc.data_shape)
    before, after = _scores_after_changing_first_example(disc, x)
    assert (before[1:] - after[1:]).abs().max() > 1e-4


# ---------------------------------------------------------------- DCGAN init and size


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    for net in (DCGANGenerator((3, 64, 64)), DCGANDiscriminator((3, 64, 64))):
        convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
        assert convs
        for m in convs:
            if m.weight.numel() >= 4096:
                assert abs(m.weight.std().item() - 0.02) < 0.002
                assert abs(m.weight.mean().item()) < 0.002
            if m.bias is not None:
                assert (m.bias == 0).all()
        bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        assert bns
        scales = torch.cat([m.weight.detach() for m in bns])
        assert abs(scales.mean().item() - 1.0) < 0.005
        assert abs(scales.std().item() - 0.02) < 0.005
        assert all((m.bias == 0).all() for m in bns)


def test_dcgan_hand_counted_parameters():
    # D (1, 8, 8), b = 4: conv 1->4 k4 (64 + 4 bias) + conv 4->8 k4 (512 + 8 bias) + head 8*2*2 -> 1 (32 + 1).
    assert n_params(DCGANDiscriminator((1, 8, 8), base_channels=4, norm="none")) == 68 + 520 + 33
    # batch norm on the second conv: its bias goes (-8), BN scale + shift come (+16).
    assert n_params(DCGANDiscriminator((1, 8, 8), base_channels=4, norm="batch")) == 68 + 512 + 16 + 33
    # G (1, 8, 8), z = 3, b = 4: ConvT 3->8 k2 (96) + BN(8) (16) + ConvT 8->4 k4 (512) + BN(4) (8) + ConvT 4->1 k4 (64 + 1).
    assert n_params(DCGANGenerator((1, 8, 8), latent_dim=3, base_channels=4)) == 96 + 16 + 512 + 8 + 65


@pytest.mark.parametrize("cls", [DCGANGenerator, DCGANDiscriminator])
def test_dcgan_parameter_count_scales_with_base_channels(cls):
    counts = [n_params(cls((3, 32, 32), base_channels=b)) for b in (8, 16, 32)]
    # Conv weights grow as b^2, the first/last layers as b: doubling b multiplies the count by 2 to 4,
    # and the ratio grows towards 4 as the b^2 layers take over.
    ratios = [large / small for small, large in zip(counts, counts[1:])]
    assert all(2 < r <= 4 for r in ratios)
    assert ratios[0] < ratios[1]
