"""GeneratorMixture: weights, frozen components, component frequencies, checkpoint form."""

import pytest
import torch
from scipy.stats import chi2
from torch import nn

from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture, find_mixture_state
from lightning_gans.gan_modules.networks import MLPGenerator


class ConstantGenerator(nn.Module):
    """Outputs its ``value`` (as a 1-D point) for every latent code: tells which component drew a point."""

    latent_dim = 3

    def __init__(self, value):
        super().__init__()
        self.value = nn.Parameter(torch.tensor([float(value)]))

    def forward(self, z):
        return self.value.expand(z.shape[0], 1) + 0 * z[:, :1]


def mixture_of_constants(betas):
    mixture = GeneratorMixture(latent_dim=3)
    for index, beta in enumerate(betas):
        mixture.add_component(ConstantGenerator(index), beta)
    return mixture


def test_weights_follow_algorithm_1_and_sum_to_one():
    mixture = mixture_of_constants([1.0, 0.5, 0.2])
    # [1] -> [0.5, 0.5] -> [0.4, 0.4, 0.2]
    assert torch.allclose(mixture.weights, torch.tensor([0.4, 0.4, 0.2], dtype=torch.float64))
    uniform = mixture_of_constants([1.0, 1 / 2, 1 / 3, 1 / 4])
    assert torch.allclose(uniform.weights, torch.full((4,), 0.25, dtype=torch.float64))
    with pytest.raises(ValueError, match="first component"):
        GeneratorMixture(latent_dim=3).add_component(ConstantGenerator(0), 0.5)
    with pytest.raises(ValueError, match="beta"):
        mixture.add_component(ConstantGenerator(9), 1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        mixture.add_component(MLPGenerator((1,), latent_dim=5), 0.5)


def test_component_frequencies_match_the_weights_chi_square():
    mixture = mixture_of_constants([1.0, 0.5, 0.2, 0.3])  # weights 0.28, 0.28, 0.14, 0.3
    n = 20_000
    samples = mixture.sample(n, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(samples[:, 0].round().long(), minlength=4).double()
    expected = n * mixture.weights
    statistic = float(((counts - expected) ** 2 / expected).sum())
    assert statistic < chi2.ppf(0.999, df=3)
    # a wrong weight vector is rejected by the same test (it has power)
    wrong = n * torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    assert float(((counts - wrong) ** 2 / wrong).sum()) > chi2.ppf(0.999, df=3)


def test_samples_are_fresh_and_shuffled():
    mixture = mixture_of_constants([1.0, 0.5])
    ids = mixture.sample(200, generator=torch.Generator().manual_seed(1))[:, 0]
    assert 0 < float(ids.mean()) < 1
    assert (ids[1:] != ids[:-1]).sum() > 50  # not grouped by component
    a = mixture.sample(100)
    assert a.shape == (100, 1) and mixture.sample(0).shape == (0, 1)


def test_components_are_frozen_copies():
    source = MLPGenerator((2,), latent_dim=3, hidden=8, n_layers=1)
    mixture = GeneratorMixture(latent_dim=3)
    mixture.add_component(source, 1.0)
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.add_(1.0)
    component = mixture.components[0]
    assert all(not p.requires_grad for p in component.parameters())
    assert not component.training
    mixture.train()
    assert not component.training
    assert not torch.equal(component.output_layer.weight, source.output_layer.weight)


def test_checkpoint_form_round_trip_gives_the_same_samples():
    torch.manual_seed(0)
    mixture = GeneratorMixture(latent_dim=2, prior="uniform", data_shape=(2,))
    for beta in (1.0, 0.5, 1 / 3):
        mixture.add_component(MLPGenerator((2,), latent_dim=2, hidden=8, n_layers=1), beta)
    state = mixture.to_checkpoint()
    template = MLPGenerator((2,), latent_dim=2, hidden=8, n_layers=1)
    loaded = GeneratorMixture.from_checkpoint(state, template)
    assert len(loaded) == 3 and loaded.prior == "uniform" and loaded.data_shape == (2,)
    assert torch.equal(loaded.weights, mixture.weights)
    assert torch.equal(loaded.sample(50, torch.Generator().manual_seed(3)),
                       mixture.sample(50, torch.Generator().manual_seed(3)))
    assert find_mixture_state({"callbacks": {"AdaGAN": {"adagan_mixture": state}}}) is state
    assert find_mixture_state({"callbacks": {"ModelCheckpoint": {}}}) is None


def test_a_checkpoint_without_finished_components_holds_no_mixture():
    template = MLPGenerator((2,), latent_dim=2, hidden=8, n_layers=1)
    empty = GeneratorMixture(latent_dim=2).to_checkpoint()
    assert GeneratorMixture.from_lightning_checkpoint({"callbacks": {"AdaGAN": {"adagan_mixture": empty}}},
                                                      template) is None
    assert GeneratorMixture.from_lightning_checkpoint({"callbacks": {}}, template) is None
    full = GeneratorMixture(latent_dim=2)
    full.add_component(template, 1.0)
    loaded = GeneratorMixture.from_lightning_checkpoint(
        {"callbacks": {"AdaGAN": {"adagan_mixture": full.to_checkpoint()}}}, template)
    assert len(loaded) == 1 and not loaded.training
