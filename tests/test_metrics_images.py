"""The one conversion of generated images for the metrics."""

import pytest
import torch

from lightning_gans.gan_modules.metrics.images import comparable_with_published, to_rgb_uint8, to_uint8, to_unit_interval


def test_uint8_conversion_end_points_and_rounding():
    x = torch.tensor([-1.0, 1.0, 0.0, -2.0, 3.0, -1 + 1 / 127.5, 1 - 0.4 / 127.5]).view(1, 1, 1, 7)
    assert to_uint8(x).flatten().tolist() == [0, 255, 128, 0, 255, 1, 255]
    assert to_uint8(x).dtype == torch.uint8


def test_grey_is_repeated_to_three_identical_channels_and_rgb_kept():
    grey = torch.rand(2, 1, 4, 4) * 2 - 1
    rgb = to_rgb_uint8(grey)
    assert rgb.shape == (2, 3, 4, 4) and rgb.dtype == torch.uint8
    assert torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2])
    colour = torch.rand(2, 3, 4, 4) * 2 - 1
    assert torch.equal(to_rgb_uint8(colour), to_uint8(colour))


def test_unit_interval():
    assert to_unit_interval(torch.tensor([-1.0, 0.0, 1.0, 2.0])).tolist() == [0.0, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 4), torch.zeros(1, 1, 2, 2, dtype=torch.uint8)])
def test_bad_images_raise(bad):
    with pytest.raises(ValueError):
        to_uint8(bad)


def test_two_channel_images_are_rejected_for_inception():
    with pytest.raises(ValueError, match="1- or 3-channel"):
        to_rgb_uint8(torch.zeros(1, 2, 4, 4))


def test_comparability_label():
    assert comparable_with_published((3, 32, 32))
    assert not comparable_with_published((1, 28, 28))
    assert not comparable_with_published((1, 8, 8))
    assert not comparable_with_published((3, 8, 8))
