"""AdaGAN's mixture classifier: trained on data against the mixture, it scores the points the mixture misses as real."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lightning_gans.gan_modules.adagan import GeneratorMixture, MixtureClassifier
from lightning_gans.gan_modules.networks import MLPDiscriminator


class PointGenerator(nn.Module):
    """Every latent code gives ``point`` plus a little noise (one mode of the data)."""

    latent_dim = 2

    def __init__(self, point):
        super().__init__()
        self.register_buffer("point", torch.tensor(point))

    def forward(self, z):
        return self.point + 0.05 * z


def test_the_points_the_mixture_misses_look_real():
    torch.manual_seed(0)
    covered, missed = torch.tensor([1.0, 1.0]), torch.tensor([-1.0, -1.0])
    data = torch.cat([covered + 0.05 * torch.randn(256, 2), missed + 0.05 * torch.randn(256, 2)])
    mixture = GeneratorMixture(latent_dim=2, data_shape=(2,))
    mixture.add_component(PointGenerator([1.0, 1.0]), 1.0)
    classifier = MixtureClassifier(steps=200, batch_size=64)
    prob_real = classifier.probability_real(MLPDiscriminator((2,), hidden=16, n_layers=1), mixture,
                                            TensorDataset(data, torch.zeros(len(data))))
    assert prob_real.shape == (512,) and prob_real.dtype == torch.float64
    # the optimal classifier: p = p_data / (p_data + p_mixture) = 1/3 on the covered mode, 1 on the missed one
    assert float(prob_real[:256].mean()) < 0.5 < 0.9 < float(prob_real[256:].mean())


def test_steps_default_to_epochs_over_the_data_and_bad_settings_fail():
    assert MixtureClassifier(epochs=5, batch_size=64).steps_for(1000) == 79  # ceil(5 * 1000 / 64)
    assert MixtureClassifier(steps=7).steps_for(1000) == 7
    with pytest.raises(ValueError, match="classifier_steps"):
        MixtureClassifier(steps=0)
    with pytest.raises(ValueError, match="classifier_epochs"):
        MixtureClassifier(epochs=0)
    with pytest.raises(ValueError, match="classifier_batch_size"):
        MixtureClassifier(batch_size=0)
