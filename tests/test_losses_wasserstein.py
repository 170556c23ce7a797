"""Wasserstein losses, weight clipping, penalty points and the gradient penalty, against hand computations."""

import itertools
import math

import pytest
import torch
from torch import nn

from lightning_gans.gan_modules.losses import (
    clip_weights_,
    dragan_perturbation,
    gradient_norms,
    gradient_penalty,
    interpolates,
    wasserstein_loss,
)


class LinearCritic(nn.Module):
    """f(x) = w . flatten(x): its gradient is w everywhere, so every per-sample norm is |w|."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32).flatten())

    def forward(self, x):
        return x.flatten(1).to(self.w.dtype) @ self.w


def half_square(x):
    """f(x) = 0.5 * |x|^2 per sample: its gradient is x itself."""
    return 0.5 * (x.flatten(1) ** 2).sum(1)


# ---------------------------------------------------------------- Wasserstein losses
def test_critic_and_generator_loss_have_the_papers_sign():
    critic = LinearCritic([2.0, 1.0])
    real = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # f = 2, 6 -> mean 4
    fake = torch.tensor([[0.0, 1.0], [0.0, 3.0]])  # f = 1, 3 -> mean 2
    loss = wasserstein_loss(critic(real), critic(fake)).discriminator
    assert loss.item() == pytest.approx(2.0 - 4.0)  # E[f(fake)] - E[f(real)]; -loss = 2 is the estimate
    assert wasserstein_loss(None, critic(fake)).generator.item() == pytest.approx(-2.0)


def test_clip_weights_clamps_every_parameter_including_batch_norm():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    with torch.no_grad():
        net[1].weight.fill_(1.0)  # BN affine scale, far outside the box
        net[0].bias[0] = 0.005  # already inside: must stay unchanged
    clip_weights_(net, 0.01)
    for p in net.parameters():
        assert p.abs().max() <= 0.01
    assert net[1].weight.eq(0.01).all() and net[0].bias[0].item() == pytest.approx(0.005)
    with pytest.raises(ValueError, match="clip_value"):
        clip_weights_(net, 0.0)


# ---------------------------------------------------------------- penalty points
def test_interpolates_draw_one_epsilon_per_sample_over_all_dims():
    torch.manual_seed(0)
    real, fake = torch.zeros(16, 3, 4, 4), torch.ones(16, 3, 4, 4)
    points = interpolates(real, fake)  # = 1 - eps_i
    per_sample = points.flatten(1)
    assert torch.equal(per_sample, per_sample[:, :1].expand_as(per_sample))  # constant within a sample
    assert per_sample[:, 0].unique().numel() == 16  # a different eps for each sample
    assert points.min() >= 0 and points.max() <= 1
    with pytest.raises(ValueError, match="same shape"):
        interpolates(real, fake[:8])


def test_interpolates_are_detached():
    real = torch.randn(4, 2, requires_grad=True)
    assert not interpolates(real, torch.randn(4, 2)).requires_grad


def test_dragan_code_perturbation_is_the_reference_formula():
    torch.manual_seed(0)
    real = torch.randn(32, 1, 3, 3) * 2 + 1
    c = 0.5
    torch.manual_seed(1)
    points = dragan_perturbation(real, "dragan_code", c)
    torch.manual_seed(1)  # same draws, same order: u per element, then alpha per sample
    u = torch.rand_like(real)
    alpha = torch.rand(32).view(32, 1, 1, 1)
    std = real.std()  # ONE scalar over the whole batch
    expected = real + alpha * ((real + c * std * u) - real)
    torch.testing.assert_close(points, expected)
    assert (points >= real).all()  # one-sided noise, as in DRAGAN.ipynb
    assert ((points - real) <= c * std + 1e-6).all()


def test_gaussian_perturbation_is_symmetric_with_scale_c_times_batch_std():
    torch.manual_seed(0)
    real = torch.cat([torch.zeros(20000, 2), 10 * torch.ones(20000, 2)])  # batch std ~ 5
    noise = dragan_perturbation(real, "gaussian", c=0.5) - real
    assert noise.mean().abs() < 0.05
    assert noise.std().item() == pytest.approx(0.5 * real.std().item(), rel=0.02)
    # a scalar std: the zero-variance half of the batch gets the same noise scale
    assert noise[:20000].std().item() == pytest.approx(0.5 * real.std().item(), rel=0.02)


def test_dragan_perturbation_rejects_bad_options():
    with pytest.raises(ValueError, match="form"):
        dragan_perturbation(torch.randn(4, 2), "uniform")
    with pytest.raises(ValueError, match="non-negative"):
        dragan_perturbation(torch.randn(4, 2), "gaussian", c=-1.0)


# ---------------------------------------------------------------- gradient penalty
@pytest.mark.parametrize("shape", [(7, 2), (5, 2, 3, 3)])
def test_linear_critic_penalty_is_norm_of_w_minus_one_squared(shape):
    torch.manual_seed(0)
    w = torch.randn(math.prod(shape[1:]))
    critic = LinearCritic(w)
    expected = (w.norm() - 1) ** 2
    for points in (torch.randn(shape) * 100, interpolates(torch.randn(shape), torch.randn(shape))):
        torch.testing.assert_close(gradient_penalty(critic, points), expected.float())
    torch.testing.assert_close(gradient_penalty(critic, points, target=2.0), ((w.norm() - 2) ** 2).float())


def test_gradient_norms_are_per_sample_not_pooled_nor_divided_by_batch():
    points = torch.tensor([[1.0, 0.0], [0.0, 1.0], [6.0, 8.0]])  # gradient = x: norms 1, 1, 10
    torch.testing.assert_close(gradient_norms(half_square, points), torch.tensor([1.0, 1.0, 10.0]))
    assert gradient_penalty(half_square, points).item() == pytest.approx((0 + 0 + 81) / 3)
    # image-shaped points: one norm over all of C x H x W
    image = torch.zeros(2, 2, 2, 2)
    image[0, 0, 0, 0], image[0, 1, 1, 1] = 3.0, 4.0
    torch.testing.assert_close(gradient_norms(half_square, image), torch.tensor([5.0, 0.0]))


def test_one_sided_penalty_ignores_norms_below_target():
    points = torch.tensor([[0.5, 0.0], [3.0, 0.0]])  # norms 0.5 and 3
    assert gradient_penalty(half_square, points).item() == pytest.approx((0.25 + 4.0) / 2)
    assert gradient_penalty(half_square, points, one_sided=True).item() == pytest.approx(4.0 / 2)


def tiny_critic():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Flatten(0)).double()


def test_penalty_has_the_finite_difference_gradient_in_the_critic_weights():
    critic = tiny_critic()
    torch.manual_seed(1)
    points = torch.randn(5, 2, dtype=torch.float64)
    weight = critic[0].weight
    (grad,) = torch.autograd.grad(gradient_penalty(critic, points), weight)
    assert grad.abs().max() > 1e-3  # create_graph=True: the penalty reaches the weights
    h = 1e-6
    numeric = torch.zeros_like(weight)
    for idx in itertools.product(*map(range, weight.shape)):
        saved = weight[idx].item()
        values = []
        for shifted in (saved + h, saved - h):
            with torch.no_grad():
                weight[idx] = shifted
            values.append(gradient_penalty(critic, points).item())
        with torch.no_grad():
            weight[idx] = saved
        numeric[idx] = (values[0] - values[1]) / (2 * h)
    torch.testing.assert_close(grad, numeric, rtol=1e-5, atol=1e-7)


def fixed_float_critic():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))


def test_penalty_under_bf16_autocast_matches_fp32_and_is_fp32():
    critic = fixed_float_critic()
    points = torch.randn(64, 4, generator=torch.Generator().manual_seed(2))
    reference = gradient_penalty(critic, points)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(points).dtype == torch.bfloat16  # autocast is really on
        value = gradient_penalty(critic, points)
        norms = gradient_norms(critic, points)
    assert value.dtype == torch.float32 and norms.dtype == torch.float32
    torch.testing.assert_close(value, reference, rtol=3e-2, atol=1e-3)


def test_scaled_penalty_equals_the_unscaled_value():
    critic = fixed_float_critic()
    points = torch.randn(64, 4, generator=torch.Generator().manual_seed(3))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    reference = gradient_penalty(critic, points)
    torch.testing.assert_close(gradient_penalty(critic, points, scaler=scaler), reference)
    with torch.autocast("cpu", dtype=torch.float16):
        assert critic(points).dtype == torch.float16
        value = gradient_penalty(critic, points, scaler=scaler)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, reference, rtol=1e-2, atol=1e-3)
    # the value differentiates back to the weights like the fp32 one
    (g_scaled,) = torch.autograd.grad(gradient_penalty(critic, points, scaler=scaler), critic[0].weight)
    (g_ref,) = torch.autograd.grad(reference, critic[0].weight)
    torch.testing.assert_close(g_scaled, g_ref)


def test_penalty_can_be_computed_under_no_grad():
    critic = LinearCritic([3.0, 4.0])
    with torch.no_grad():
        assert gradient_penalty(critic, torch.randn(4, 2)).item() == pytest.approx(16.0)
