"""AdaGAN's data weights (lightning_gans.gan_modules.adagan.weights): lambda*, theory_star, topk, ESS, beta."""

import math

import pytest
import torch

from lightning_gans.gan_modules.adagan import weights as aw


def brute_force_lambda(ratios, beta, iterations=200):
    """Bisection on lambda for sum_i (lambda - (1-beta) h_i)_+ / (beta N) = 1 (monotone in lambda)."""
    ratios = ratios.double()
    n = len(ratios)

    def total(lam):
        return float(((lam - (1 - beta) * ratios).clamp_min(0) / (beta * n)).sum())

    low, high = 0.0, 1.0
    while total(high) < 1:
        high *= 2
    for _ in range(iterations):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) < 1 else (low, mid)
    return (low + high) / 2


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("beta", [0.5, 1 / 3, 0.1, 0.9])
def test_lambda_star_matches_bisection_on_random_ratios(seed, beta):
    generator = torch.Generator().manual_seed(seed)
    n = [7, 50, 200, 1000, 3][seed]
    # classifier-like ratios: h = (1-p)/p for random probabilities, with a heavy tail
    ratios = aw.density_ratios(torch.rand(n, generator=generator) ** 2)
    lam = aw.theory_star_lambda(ratios, beta)
    assert lam == pytest.approx(brute_force_lambda(ratios, beta), rel=1e-9)
    weights, lam2 = aw.theory_star_weights(ratios, beta)
    assert lam2 == lam
    assert (weights >= 0).all() and float(weights.sum()) == pytest.approx(1.0, abs=1e-12)
    # the un-normalised formula already sums to one at lambda* (so the renormalisation is a no-op here)
    raw = (lam - (1 - beta) * ratios).clamp_min(0) / (beta * n)
    assert torch.allclose(raw, weights, atol=1e-12)


def test_lambda_star_hand_example():
    # h = (0, 1, 2, 10), beta = 1/2, N = 4: the three smallest are active:
    # lambda = (beta N + (1-beta)(0+1+2)) / 3 = (2 + 1.5)/3 = 7/6, within [(1/2)*2, (1/2)*10] = [1, 5]
    ratios = torch.tensor([2.0, 0.0, 10.0, 1.0])
    assert aw.theory_star_lambda(ratios, 0.5) == pytest.approx(7 / 6)
    weights, _ = aw.theory_star_weights(ratios, 0.5)
    expected = torch.tensor([7 / 6 - 1, 7 / 6, 0.0, 7 / 6 - 0.5], dtype=torch.float64) / 2
    assert torch.allclose(weights, expected)
    assert aw.zero_weight_fraction(weights) == 0.25


def test_beta_one_gives_uniform_weights():
    weights, lam = aw.theory_star_weights(torch.tensor([0.1, 3.0, 7.0]), 1.0)
    assert lam == pytest.approx(1.0)
    assert torch.allclose(weights, torch.full((3,), 1 / 3, dtype=torch.float64))


def optimal_component(p_data, p_model, beta):
    """Q* = (lambda P_data - (1-beta) P_model)_+ / beta, lambda by bisection so that Q* sums to 1."""
    low, high = 0.0, 1.0 / float(p_data[p_data > 0].min()) + 10
    for _ in range(200):
        lam = (low + high) / 2
        mass = float(((lam * p_data - (1 - beta) * p_model).clamp_min(0) / beta).sum())
        low, high = (lam, high) if mass < 1 else (low, lam)
    return (lam * p_data - (1 - beta) * p_model).clamp_min(0) / beta, lam


@pytest.mark.parametrize("beta", [0.5, 0.25])
def test_true_ratios_reweight_the_data_to_the_optimal_next_component(beta):
    # Five atoms; the data is an exact sample (counts N * P_data); the model over-covers atoms 0-1 and
    # misses atom 4.  Weights from the true ratios h = P_model / P_data put mass Q*(a) on atom a.
    p_data = torch.tensor([0.3, 0.2, 0.2, 0.2, 0.1], dtype=torch.float64)
    p_model = torch.tensor([0.5, 0.3, 0.1, 0.1, 0.0], dtype=torch.float64)
    counts = (p_data * 1000).long()
    atom = torch.repeat_interleave(torch.arange(5), counts)
    ratios = (p_model / p_data)[atom]
    weights, lam = aw.theory_star_weights(ratios, beta)
    reweighted = torch.zeros(5, dtype=torch.float64).index_add_(0, atom, weights)
    target, lam_target = optimal_component(p_data, p_model, beta)
    assert lam == pytest.approx(lam_target, rel=1e-9)
    assert torch.allclose(reweighted, target, atol=1e-9)
    assert lam <= 1.0 + 1e-12  # the paper's lemma for true ratios
    assert reweighted[0] < p_data[0] and reweighted[4] > p_data[4]  # over-covered atom cut, missed one boosted
    assert torch.equal(reweighted == 0, lam * p_data <= (1 - beta) * p_model)  # beta=1/4 drops atom 0 entirely
    # and the mixture (1-beta) P_model + beta Q* moves towards the data
    new_model = (1 - beta) * p_model + beta * reweighted
    assert (new_model - p_data).abs().sum() < (p_model - p_data).abs().sum()


def test_true_ratios_on_a_one_dimensional_gaussian_mixture():
    # P_data = (N(-2, .5) + N(2, .5))/2, the model covers only the left mode: P_model = N(-2, .5).
    # With beta = 1/2, Q* = (lambda P_data - P_model/2)_+ * 2 lies on the right mode (and part of the left).
    generator = torch.Generator().manual_seed(0)
    n = 40_000
    x = torch.where(torch.rand(n, generator=generator) < 0.5, -2.0, 2.0) + 0.5 * torch.randn(n, generator=generator)
    x = x.double()

    def normal(x, mean):
        return torch.exp(-0.5 * ((x - mean) / 0.5) ** 2) / (0.5 * math.sqrt(2 * math.pi))

    p_data, p_model = (normal(x, -2) + normal(x, 2)) / 2, normal(x, -2)
    weights, lam = aw.theory_star_weights(p_model / p_data, 0.5)
    grid = torch.linspace(-6, 6, 120_001, dtype=torch.float64)
    density = ((lam * (normal(grid, -2) + normal(grid, 2)) / 2 - 0.5 * normal(grid, -2)).clamp_min(0) / 0.5)
    step = float(grid[1] - grid[0])
    assert float(density.sum()) * step == pytest.approx(1.0, abs=5e-3)  # lambda also normalises the continuum
    right_mass = float(density[grid > 0].sum()) * step
    assert float(weights[x > 0].sum()) == pytest.approx(right_mass, abs=0.01)
    assert right_mass > 0.9


def test_fallback_to_uniform_with_a_warning(monkeypatch):
    monkeypatch.setattr(aw, "theory_star_lambda", lambda ratios, beta: None)
    with pytest.warns(RuntimeWarning, match="lambda"):
        weights, lam = aw.theory_star_weights(torch.tensor([1.0, 2.0, 4.0, 8.0]), 0.5)
    assert lam is None and torch.allclose(weights, torch.full((4,), 0.25, dtype=torch.float64))


def test_topk_keeps_the_points_with_the_smallest_ratios():
    ratios = torch.tensor([5.0, 0.1, 3.0, 0.2, 9.0, 0.3, 7.0, 0.4])
    weights = aw.topk_weights(ratios, 0.5)  # median (linear interpolation) = (0.4 + 3)/2: keeps the four small ones
    assert torch.equal(weights > 0, ratios < 1)
    assert torch.allclose(weights[weights > 0], torch.full((4,), 0.25, dtype=torch.float64))
    ties = aw.topk_weights(torch.tensor([1.0, 1.0, 1.0, 2.0]), 0.25)  # the threshold 1 keeps all three ties
    assert torch.allclose(ties, torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0], dtype=torch.float64))
    assert float(aw.topk_weights(ratios, 1.0).sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="fraction"):
        aw.topk_weights(ratios, 0.0)


def test_density_ratios_and_weight_summaries():
    h = aw.density_ratios(torch.tensor([0.5, 1.0, 0.0, 0.2, 1.5]))
    assert torch.allclose(h, torch.tensor([1.0, 0.0, 1e8, 4.0, 0.0], dtype=torch.float64), rtol=1e-6)
    weights = torch.tensor([0.5, 0.5, 0.0, 0.0])
    assert aw.effective_sample_size(weights) == pytest.approx(2.0)
    summary = aw.weight_summary(weights)
    assert summary == {"ess": pytest.approx(2.0), "ess_fraction": pytest.approx(0.5), "zero_weight_fraction": 0.5}
    assert aw.effective_sample_size(torch.ones(10)) == pytest.approx(10.0)


def test_next_mixture_weight():
    assert aw.next_mixture_weight(0, "uniform") == 1.0
    assert [aw.next_mixture_weight(t, "uniform") for t in (1, 2, 3)] == [1 / 2, 1 / 3, 1 / 4]
    assert aw.next_mixture_weight(0, 0.3) == 1.0 and aw.next_mixture_weight(4, 0.3) == 0.3
    for bad in ("constant", 0.0, 1.0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            aw.next_mixture_weight(1, bad)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        aw.theory_star_weights(torch.tensor([1.0, -1.0]), 0.5)
    with pytest.raises(ValueError, match="beta"):
        aw.theory_star_lambda(torch.tensor([1.0]), 0.0)
    with pytest.raises(ValueError, match="1-D"):
        aw.topk_weights(torch.zeros(2, 2))
