"""The GAN losses against hand computations (Goodfellow et al. 2014)."""

import math

import torch

from lightning_gans.gan_modules.losses import minimax_loss, non_saturating_loss


def test_discriminator_loss_is_2_log_2_when_d_is_one_half_everywhere():
    zeros = torch.zeros(7)
    assert torch.isclose(non_saturating_loss(zeros, torch.zeros(5)).discriminator, torch.tensor(2 * math.log(2)))


def test_discriminator_loss_at_known_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sigmoid = lambda a: 1 / (1 + math.exp(-a))  # noqa: E731
    expected = -(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2 - (
        math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))
    ) / 2
    assert math.isclose(non_saturating_loss(real, fake).discriminator.item(), expected, rel_tol=1e-6)


def test_generator_losses_at_known_logits():
    logits = torch.tensor([1.0, -2.0, 0.0])
    d = [1 / (1 + math.exp(-a)) for a in logits.tolist()]
    minimax = sum(math.log(1 - p) for p in d) / 3
    non_saturating = -sum(math.log(p) for p in d) / 3
    assert math.isclose(minimax_loss(None, logits).generator.item(), minimax, rel_tol=1e-6)
    assert math.isclose(non_saturating_loss(None, logits).generator.item(), non_saturating, rel_tol=1e-6)


def test_losses_stay_finite_for_confident_discriminators():
    confident = torch.tensor([100.0, -100.0])
    assert torch.isfinite(non_saturating_loss(confident, -confident).discriminator)
    # softplus(100) = 100 exactly in float32: log(1 - sigmoid(100)) would be log(0) = -inf.
    assert math.isclose(minimax_loss(None, torch.tensor([100.0])).generator.item(), -100.0, rel_tol=1e-6)
    assert math.isclose(non_saturating_loss(None, torch.tensor([-100.0])).generator.item(), 100.0, rel_tol=1e-6)


def test_minimax_gradient_saturates_where_non_saturating_does_not():
    """Section 3 of the paper: early on D rejects fakes confidently and log(1 - D) saturates."""
    logits = torch.tensor([-8.0], requires_grad=True)
    (grad_mm,) = torch.autograd.grad(minimax_loss(None, logits).generator, logits)
    (grad_ns,) = torch.autograd.grad(non_saturating_loss(None, logits).generator, logits)
    assert abs(grad_mm.item()) < 1e-3 < 0.9 < abs(grad_ns.item())
