"""The loss contract's new members against hand computations: LSGAN (Mao et al. 2017, eq. 2) and the relativistic
average losses (Jolicoeur-Martineau 2018, Sec. 4.2); which losses read the real scores in the generator step."""

import math

import pytest
import torch

from lightning_gans.gan_modules.losses import (
    LOSSES,
    generator_reads_real_scores,
    least_squares_loss,
    relativistic_average_hinge_loss,
    relativistic_average_least_squares_loss,
    relativistic_average_loss,
)

REAL = torch.tensor([2.0, 0.0, 1.0])  # mean 1
FAKE = torch.tensor([-1.0, 0.0])  # mean -0.5


def softplus(a):
    return math.log1p(math.exp(a))


def test_least_squares_by_hand_with_the_papers_0_1_coding():
    # D: 1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2) = 1/2 (1 + 1 + 0) / 3 + 1/2 (1 + 0) / 2
    # G: 1/2 mean((D(G(z)) - 1)^2) = 1/2 (4 + 1) / 2
    losses = least_squares_loss(REAL, FAKE)
    assert losses.discriminator.item() == pytest.approx(1 / 3 + 1 / 4)
    assert losses.generator.item() == pytest.approx(5 / 4)


def test_least_squares_pearson_coding_of_eq_8():
    # a = -1, b = 1, c = 0: D: 1/2 mean((x - 1)^2) + 1/2 mean((f + 1)^2) = 1/3 + 1/2 (0 + 1) / 2; G: 1/2 mean(f^2)
    losses = least_squares_loss(REAL, FAKE, a=-1.0, b=1.0, c=0.0)
    assert losses.discriminator.item() == pytest.approx(1 / 3 + 1 / 4)
    assert losses.generator.item() == pytest.approx(0.5 * (1 + 0) / 2)


def test_relativistic_average_standard_by_hand():
    real_rel = [x - (-0.5) for x in (2.0, 0.0, 1.0)]  # C(x_r) - E C(x_f)
    fake_rel = [x - 1.0 for x in (-1.0, 0.0)]  # C(x_f) - E C(x_r)
    d = sum(softplus(-r) for r in real_rel) / 3 + sum(softplus(f) for f in fake_rel) / 2
    g = sum(softplus(-f) for f in fake_rel) / 2 + sum(softplus(r) for r in real_rel) / 3
    losses = relativistic_average_loss(REAL, FAKE)
    assert (losses.discriminator.item(), losses.generator.item()) == (pytest.approx(d), pytest.approx(g))


def test_relativistic_average_least_squares_by_hand():
    # real_rel = 2.5, 0.5, 1.5; fake_rel = -2, -1
    d = ((1.5**2 + 0.5**2 + 0.5**2) / 3) + ((1**2 + 0**2) / 2)
    g = ((3**2 + 2**2) / 2) + ((3.5**2 + 1.5**2 + 2.5**2) / 3)
    losses = relativistic_average_least_squares_loss(REAL, FAKE)
    assert (losses.discriminator.item(), losses.generator.item()) == (pytest.approx(d), pytest.approx(g))


def test_relativistic_average_hinge_by_hand():
    # real_rel = 2.5, 0.5, 1.5: max(0, 1 - r) = 0, 0.5, 0; fake_rel = -2, -1: max(0, 1 + f) = 0, 0
    # G: max(0, 1 - f) = 3, 2; max(0, 1 + r) = 3.5, 1.5, 2.5
    losses = relativistic_average_hinge_loss(REAL, FAKE)
    assert losses.discriminator.item() == pytest.approx(0.5 / 3)
    assert losses.generator.item() == pytest.approx(5 / 2 + 7.5 / 3)


def test_relativistic_losses_are_symmetric_under_swapping_real_and_fake():
    """Jolicoeur-Martineau 2018, Sec. 4.2: the generator's loss is the discriminator's with the roles swapped."""
    for loss in (relativistic_average_loss, relativistic_average_least_squares_loss, relativistic_average_hinge_loss):
        assert loss(REAL, FAKE).generator.item() == pytest.approx(loss(FAKE, REAL).discriminator.item())


def test_only_the_relativistic_losses_score_the_real_batch_in_the_generator_step():
    reads = {name for name, loss in LOSSES.items() if generator_reads_real_scores(loss)}
    assert reads == {"relativistic_average", "relativistic_average_least_squares", "relativistic_average_hinge"}
    for name, loss in LOSSES.items():
        if name not in reads:  # their generator loss is the same without the real scores
            assert loss(None, FAKE).generator == loss(REAL, FAKE).generator and loss(None, FAKE).discriminator is None


def test_an_unmarked_loss_reads_the_real_scores():
    def own_loss(real_scores, fake_scores):
        return real_scores.mean(), fake_scores.mean()

    assert generator_reads_real_scores(own_loss)
