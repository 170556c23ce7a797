"""Mode coverage (VEEGAN/PacGAN) on constructed sample sets."""

import math

import pytest
import torch

from lightning_gans.gan_modules.metrics.mode_coverage import ModeCoverage, kl_to_uniform, mode_statistics

RING = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])
STD = 0.01  # PacGAN 2D-ring


@pytest.mark.parametrize("k", [1, 3, 8])
def test_samples_at_exactly_k_modes_capture_k(k):
    samples = RING[:k].repeat(5, 1)
    stats = mode_statistics(samples, RING, STD)
    assert stats["modes_captured"] == k
    assert stats["high_quality_fraction"] == 1.0
    assert stats["counts"].tolist() == [5] * k + [0] * (8 - k)
    assert stats["n_samples"] == 5 * k
    assert stats["kl_to_uniform"] == pytest.approx(math.log(8 / k))


def test_off_mode_samples_are_not_high_quality():
    on_mode = RING[:2]
    # 2.9 and 3.1 standard deviations away from mode 0 along x; the origin is 100 std from every mode
    near = RING[0] + torch.tensor([2.9 * STD, 0.0])
    far = RING[0] + torch.tensor([3.1 * STD, 0.0])
    samples = torch.stack([on_mode[0], on_mode[1], near, far, torch.zeros(2)])
    stats = mode_statistics(samples, RING, STD)
    assert stats["counts"].tolist() == [2, 1, 0, 0, 0, 0, 0, 0]
    assert stats["high_quality_fraction"] == pytest.approx(3 / 5)
    assert stats["modes_captured"] == 2


def test_threshold_and_min_per_mode_are_configurable():
    samples = torch.cat([RING[0].repeat(3, 1), RING[1].repeat(1, 1), RING[2] + torch.tensor([4 * STD, 0.0])[None]])
    assert mode_statistics(samples, RING, STD, min_per_mode=2)["modes_captured"] == 1
    assert mode_statistics(samples, RING, STD, threshold=5.0)["modes_captured"] == 3


def test_standardised_distance_uses_per_axis_std():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    std = torch.tensor([[1.0, 0.1], [1.0, 0.1]])
    # 2 std along x (high quality) but 5 std along y (not)
    stats = mode_statistics(torch.tensor([[2.0, 0.0], [0.0, 0.5]]), centres, std)
    assert stats["counts"].tolist() == [1, 0]


def test_kl_to_uniform_hand_values():
    assert kl_to_uniform(torch.tensor([1, 1, 1, 1])) == pytest.approx(0.0)
    assert kl_to_uniform(torch.tensor([3, 1])) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert math.isnan(kl_to_uniform(torch.zeros(3, dtype=torch.int64)))


def test_metric_accumulates_like_the_function():
    torch.manual_seed(0)
    samples = RING[torch.randint(0, 8, (300,))] + 0.02 * torch.randn(300, 2)
    metric = ModeCoverage(RING, STD)
    for chunk in samples.split(70):
        metric.update(chunk)
    got, want = metric.compute(), mode_statistics(samples, RING, STD)
    assert torch.equal(got["counts"], want["counts"])
    assert got["n_samples"] == 300
    assert got["high_quality_fraction"] == pytest.approx(want["high_quality_fraction"])
    metric.reset()
    metric.update(RING[:1])
    assert metric.compute()["n_samples"] == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(samples=torch.zeros(3, 3)), "samples must be"),
    (dict(std=torch.ones(5)), "std must be"),
    (dict(std=-1.0), "positive"),
    (dict(threshold=0.0), "threshold"),
    (dict(min_per_mode=0), "min_per_mode"),
    (dict(strict_min_per_mode=0), "strict_min_per_mode"),
])
def test_bad_input_raises(kwargs, message):
    args = dict(samples=torch.zeros(3, 2), centres=RING, std=STD)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mode_statistics(**args)


def test_strict_count_needs_ten_high_quality_samples_a_mode():
    # 10, 9 and 12 high-quality samples at modes 0, 1 and 2: three modes captured, two strictly
    samples = torch.cat([RING[0].repeat(10, 1), RING[1].repeat(9, 1), RING[2].repeat(12, 1)])
    stats = mode_statistics(samples, RING, STD)
    assert (stats["modes_captured"], stats["modes_captured_strict"]) == (3, 2)
    assert mode_statistics(samples, RING, STD, strict_min_per_mode=9)["modes_captured_strict"] == 3


def test_a_uniform_blur_captures_modes_but_none_strictly():
    # 2,500 samples uniform on the grid's square [-5, 5]^2: 1.8 % high quality, ~1.8 a mode (module docstring)
    axis = torch.arange(-4.0, 5.0, 2.0)
    grid = torch.cartesian_prod(axis, axis)
    blur = torch.rand(2_500, 2, generator=torch.Generator().manual_seed(0)) * 10 - 5
    stats = mode_statistics(blur, grid, 0.05)
    assert stats["modes_captured"] >= 15
    assert stats["modes_captured_strict"] == 0
    assert 0.01 < stats["high_quality_fraction"] < 0.03
    learned = grid.repeat(100, 1) + 0.05 * torch.randn(2_500, 2, generator=torch.Generator().manual_seed(0))
    assert mode_statistics(learned, grid, 0.05)["modes_captured_strict"] == 25


def test_metric_reports_the_strict_count():
    metric = ModeCoverage(RING, STD, strict_min_per_mode=2)
    metric.update(RING[[0, 0, 1]])
    assert metric.compute()["modes_captured_strict"] == 1
