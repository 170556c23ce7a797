"""The CIFAR-10 ResNets of WGAN-GP (Gulrajani et al. 2017) and SN-GAN (Miyato et al. 2018) against their reference code.

Parameter counts of igul222/improved_wgan_training ``gan_cifar_resnet.py`` (unconditional) and
pfnet-research/sngan_projection ``gen_models/resnet_32.py`` / ``dis_models/snresnet_32.py``; the
initialisation formulas as written in tflib ``ops/conv2d.py`` / ``ops/linear.py`` and Chainer's
``GlorotUniform``.
"""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from lightning_gans.gan_modules import WGANGP
from lightning_gans.gan_modules.networks import (
    SNGANResNetDiscriminator,
    SNGANResNetGenerator,
    WGANGPResNetDiscriminator,
    WGANGPResNetGenerator,
)
from lightning_gans.gan_modules.networks.resnet_blocks import mean_pool, upsample

CIFAR = (3, 32, 32)
GENERATORS = [WGANGPResNetGenerator, SNGANResNetGenerator]
DISCRIMINATORS = [WGANGPResNetDiscriminator, SNGANResNetDiscriminator]
PAIRS = list(zip(GENERATORS, DISCRIMINATORS))
N_DISCRIMINATOR_LAYERS = 11  # optimised block 3 convs, down block 3, two plain blocks 2 each, the head


def weighted_layers(network):
    return [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def raw_weight(layer):
    """The trained weight: the spectral-norm parametrisation's ``original`` where there is one."""
    return layer.parametrizations.weight.original if parametrize.is_parametrized(layer, "weight") else layer.weight


@pytest.mark.parametrize("cls, expected", [
    (WGANGPResNetGenerator, 1_204_483),
    (WGANGPResNetDiscriminator, 1_053_825),
    (SNGANResNetGenerator, 4_276_739),
    (SNGANResNetDiscriminator, 1_053_824),
])
def test_parameter_count_is_the_reference_codes(cls, expected):
    assert sum(p.numel() for p in cls(CIFAR).parameters()) == expected


@pytest.mark.parametrize("cls", GENERATORS)
def test_generator_makes_cifar_images_in_tanh_range(cls):
    torch.manual_seed(0)
    generator = cls(CIFAR)
    assert generator.latent_dim == 128
    images = generator(torch.randn(3, 128))
    assert images.shape == (3, *CIFAR)
    assert images.abs().max() <= 1


@pytest.mark.parametrize("cls", DISCRIMINATORS)
def test_discriminator_scores_each_example_on_its_own(cls):
    torch.manual_seed(0)
    discriminator = cls(CIFAR).eval()  # eval: spectral norm's power iteration leaves the weights alone
    x = torch.randn(3, *CIFAR)
    scores = discriminator(x)
    assert scores.shape == (3,)
    assert discriminator.features(x).shape == (3, 128)
    torch.testing.assert_close(scores, torch.cat([discriminator(x[i:i + 1]) for i in range(3)]))


@pytest.mark.parametrize("cls, normalised", [
    (WGANGPResNetGenerator, False),
    (WGANGPResNetDiscriminator, False),
    (SNGANResNetGenerator, False),
    (SNGANResNetDiscriminator, True),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_spectral_norm_is_on_every_layer_of_the_sngan_discriminator_only(cls, normalised):
    network = cls(CIFAR)
    layers = weighted_layers(network)
    if cls in DISCRIMINATORS:
        assert len(layers) == N_DISCRIMINATOR_LAYERS
    assert [parametrize.is_parametrized(m, "weight") for m in layers] == [normalised] * len(layers)
    parametrised = [name for name, m in network.named_modules() if parametrize.is_parametrized(m)]
    assert len(parametrised) == (len(layers) if normalised else 0)


def tflib_conv_bound(c_in, c_out, k, he_init):
    """tflib ``Conv2D``, stride 1: ``U(+-sqrt(3) * stdev)``,
    ``stdev = sqrt((4 if he_init else 2) / (fan_in + fan_out))``."""
    return math.sqrt(3) * math.sqrt((4.0 if he_init else 2.0) / (c_in * k * k + c_out * k * k))


def tflib_linear_bound(n_in, n_out):
    """tflib ``Linear``, ``initialization=None`` (``'glorot'``): ``U(+-sqrt(3) * sqrt(2 / (n_in + n_out)))``."""
    return math.sqrt(3) * math.sqrt(2.0 / (n_in + n_out))


def chainer_glorot_bound(fan_in, fan_out, scale=1.0):
    """Chainer ``GlorotUniform(scale)``: ``U(+-scale * sqrt(6 / (fan_in + fan_out)))``."""
    return scale * math.sqrt(6.0 / (fan_in + fan_out))


# layer (name in the network) -> bound of its uniform initialisation, by the reference code's formula
INIT_BOUNDS = {
    WGANGPResNetGenerator: {
        "input": tflib_linear_bound(128, 4 * 4 * 128),
        "body.0.conv1": tflib_conv_bound(128, 128, 3, he_init=True),
        "body.2.conv2": tflib_conv_bound(128, 128, 3, he_init=True),
        "body.1.shortcut": tflib_conv_bound(128, 128, 1, he_init=False),
        "body.5": tflib_conv_bound(128, 3, 3, he_init=False),
    },
    WGANGPResNetDiscriminator: {
        "body.0.conv1": tflib_conv_bound(3, 128, 3, he_init=True),
        "body.0.shortcut": tflib_conv_bound(3, 128, 1, he_init=False),
        "body.1.conv2": tflib_conv_bound(128, 128, 3, he_init=True),
        "body.1.shortcut": tflib_conv_bound(128, 128, 1, he_init=False),
        "head": tflib_linear_bound(128, 1),
    },
    SNGANResNetGenerator: {
        "input": chainer_glorot_bound(128, 4 * 4 * 256),
        "body.0.conv1": chainer_glorot_bound(256 * 9, 256 * 9, math.sqrt(2)),
        "body.2.conv2": chainer_glorot_bound(256 * 9, 256 * 9, math.sqrt(2)),
        "body.1.shortcut": chainer_glorot_bound(256, 256),
        "body.5": chainer_glorot_bound(256 * 9, 3 * 9),
    },
    SNGANResNetDiscriminator: {
        "body.0.conv1": chainer_glorot_bound(3 * 9, 128 * 9, math.sqrt(2)),
        "body.0.shortcut": chainer_glorot_bound(3, 128),
        "body.1.conv2": chainer_glorot_bound(128 * 9, 128 * 9, math.sqrt(2)),
        "body.1.shortcut": chainer_glorot_bound(128, 128),
        "head": chainer_glorot_bound(128, 1),
    },
}


@pytest.mark.parametrize("cls", list(INIT_BOUNDS), ids=lambda cls: cls.__name__)
def test_initialisation_is_the_reference_codes_uniform(cls):
    torch.manual_seed(0)
    network = cls(CIFAR)
    layers = dict(network.named_modules())
    for name, bound in INIT_BOUNDS[cls].items():
        weight = raw_weight(layers[name]).detach()
        assert weight.abs().max() <= bound, name
        assert weight.abs().max() > 0.9 * bound, name
        if weight.numel() >= 10_000:  # the std of U(-a, a) is a / sqrt(3)
            assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.03), name
        if layers[name].bias is not None:
            assert torch.count_nonzero(layers[name].bias) == 0, name
    for norm in (m for m in network.modules() if isinstance(m, nn.BatchNorm2d)):
        assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)


def test_resampling_is_the_reference_codes():
    """Up: tflib ``UpsampleConv``'s depth_to_space (NHWC) of four copies; down: the mean of four strided slices."""
    x = torch.randn(2, 5, 4, 6)
    b, c, h, w = x.shape
    copies = torch.cat([x] * 4, dim=1).permute(0, 2, 3, 1)  # NHWC, depth (i * 2 + j) * C + c
    depth_to_space = copies.reshape(b, h, w, 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, c)
    torch.testing.assert_close(upsample(x), depth_to_space.permute(0, 3, 1, 2), rtol=0, atol=0)
    slices = x[:, :, ::2, ::2] + x[:, :, 1::2, ::2] + x[:, :, ::2, 1::2] + x[:, :, 1::2, 1::2]
    torch.testing.assert_close(mean_pool(x), slices / 4)


@pytest.mark.parametrize("make_generator, make_discriminator", PAIRS, ids=lambda cls: cls.__name__)
def test_gradient_penalty_at_interpolates_is_finite_and_trains_the_discriminator(make_generator, make_discriminator):
    torch.manual_seed(0)
    generator, discriminator = make_generator(CIFAR), make_discriminator(CIFAR)
    real = torch.rand(2, *CIFAR) * 2 - 1
    fake = generator(torch.randn(2, generator.latent_dim)).detach()
    eps = torch.rand(2, 1, 1, 1)
    points = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(points).sum(), points, create_graph=True)
    assert grad.shape == points.shape and torch.isfinite(grad).all()
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    first_conv = raw_weight(weighted_layers(discriminator)[0])
    assert first_conv.grad is not None and torch.count_nonzero(first_conv.grad) > 0
    assert all(torch.isfinite(p.grad).all() for p in discriminator.parameters() if p.grad is not None)


@pytest.mark.parametrize("make_generator, make_discriminator", PAIRS, ids=lambda cls: cls.__name__)
def test_wgan_gp_module_builds_the_networks_from_their_classes(make_generator, make_discriminator):
    module = WGANGP(generator=make_generator, discriminator=make_discriminator, data_shape=CIFAR)
    assert isinstance(module.generator, make_generator) and isinstance(module.discriminator, make_discriminator)
    assert module.latent_dim == 128
    assert module.generator(torch.randn(2, 128)).shape == (2, *CIFAR)


@pytest.mark.parametrize("data_shape", [(1, 16, 24), (5, 8, 8)])
@pytest.mark.parametrize("make_generator, make_discriminator", PAIRS, ids=lambda cls: cls.__name__)
def test_other_channels_and_multiples_of_8(make_generator, make_discriminator, data_shape):
    torch.manual_seed(0)
    generator, discriminator = make_generator(data_shape, channels=8), make_discriminator(data_shape, channels=8)
    images = generator(torch.randn(2, 128))
    assert images.shape == (2, *data_shape)
    assert discriminator(images).shape == (2,) and discriminator.features(images).shape == (2, 8)


@pytest.mark.parametrize("data_shape", [(3, 28, 28), (3, 32, 36), (3, 32), (0, 32, 32), (3, 0, 0)])
@pytest.mark.parametrize("cls", GENERATORS + DISCRIMINATORS, ids=lambda cls: cls.__name__)
def test_shapes_the_networks_cannot_make_are_refused(cls, data_shape):
    with pytest.raises(ValueError, match=r"multiples of 8.*got data_shape"):
        cls(data_shape)
