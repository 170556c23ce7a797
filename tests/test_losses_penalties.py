"""The hinge loss, R1/R2, the one penalty signature and lazy weights, against hand computations."""

import pytest
import torch
from torch import nn

from lightning_gans.gan_modules.losses import (
    LOSSES,
    PENALTIES,
    hinge_loss,
    lazy_penalty_weight,
    r1_penalty,
    r2_penalty,
    wasserstein_loss,
    zero_centred_penalty,
)


def half_square(x):
    """f(x) = 0.5 * |x|^2 per sample: its gradient is x itself, so ||grad f(x)||^2 = |x|^2."""
    return 0.5 * (x.flatten(1) ** 2).sum(1)


# ---------------------------------------------------------------- hinge
def test_hinge_discriminator_loss_by_hand():
    real = torch.tensor([2.0, 0.5, -1.0])  # max(0, 1 - D): 0, 0.5, 2 -> mean 2.5 / 3
    fake = torch.tensor([-3.0, 0.0])  # max(0, 1 + D): 0, 1 -> mean 0.5
    assert hinge_loss(real, fake).discriminator.item() == pytest.approx(2.5 / 3 + 0.5)


def test_hinge_gives_no_gradient_beyond_the_margin():
    real = torch.tensor([1.5, 0.0], requires_grad=True)
    fake = torch.tensor([-1.5, 0.0], requires_grad=True)
    hinge_loss(real, fake).discriminator.backward()
    assert real.grad.tolist() == [0.0, -0.5] and fake.grad.tolist() == [0.0, 0.5]


def test_hinge_generator_loss_is_minus_the_mean_fake_score():
    assert LOSSES["hinge"] is hinge_loss
    losses = hinge_loss(None, torch.tensor([1.0, -3.0]))
    assert losses.discriminator is None and losses.generator.item() == pytest.approx(1.0)


def test_hinge_is_float32_under_bf16():
    real = torch.tensor([0.3, 0.7], dtype=torch.bfloat16)
    assert hinge_loss(real, -real).discriminator.dtype == torch.float32


# ---------------------------------------------------------------- R1 / R2
def test_r1_is_half_the_mean_squared_gradient_norm_at_the_real_data_only():
    real = torch.tensor([[1.0, 2.0], [3.0, 0.0]])  # |x|^2 = 5, 9 -> (1/2) * 7
    fake = torch.tensor([[10.0, 0.0], [0.0, 10.0]])  # |x|^2 = 100 each
    assert r1_penalty(half_square, real, fake).item() == pytest.approx(3.5)
    assert r1_penalty(half_square, real, torch.zeros_like(fake)).item() == pytest.approx(3.5)
    assert r2_penalty(half_square, real, fake).item() == pytest.approx(50.0)


def test_zero_centred_penalty_sums_over_every_non_batch_dim():
    points = torch.arange(8.0).view(2, 1, 2, 2)  # |x|^2 = 14, 126
    assert zero_centred_penalty(half_square, points).item() == pytest.approx(0.5 * (14 + 126) / 2)


def test_r1_gradient_in_the_critic_weights_is_finite_where_the_input_gradient_vanishes():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.zero_()  # grad D = 0 everywhere: a square root of the norm would give NaN here
    value = r1_penalty(lambda x: critic(x).squeeze(-1), torch.randn(4, 2), torch.randn(4, 2))
    (grad,) = torch.autograd.grad(value, critic.weight)
    assert value.item() == 0.0 and torch.equal(grad, torch.zeros_like(grad))


def test_r1_under_an_fp16_grad_scaler_equals_the_unscaled_value():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))
    real = torch.randn(64, 4, generator=torch.Generator().manual_seed(3))
    reference = r1_penalty(critic, real, real)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    with torch.autocast("cpu", dtype=torch.float16):
        assert critic(real).dtype == torch.float16
        value = r1_penalty(critic, real, real, scaler=scaler)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, reference, rtol=1e-2, atol=1e-4)


# ---------------------------------------------------------------- one signature
@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_every_penalty_takes_critic_real_fake_and_scaler(name):
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    with torch.no_grad():
        critic[0].weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||grad|| = 5 at every point
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    value = PENALTIES[name](critic, real, fake, scaler=None)
    expected = 0.5 * 25 if name in ("r1", "r2") else (5 - 1) ** 2  # zero-centred vs Gulrajani et al.'s
    assert value.item() == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- lazy regularisation
def test_lazy_weight_is_weight_times_interval_every_interval_steps():
    assert [lazy_penalty_weight(10.0, 4, step) for step in range(9)] == [40.0, 0, 0, 0, 40.0, 0, 0, 0, 40.0]
    assert [lazy_penalty_weight(10.0, 1, step) for step in range(3)] == [10.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="interval"):
        lazy_penalty_weight(10.0, 0, 0)
