"""ModularGAN: loss + penalty compositions (WGAN-GP by hand), lazy regularisation, the batch-coupling check,
the hinge + R1 configs.  That every method trains bit for bit as before: tests/test_regression_methods.py."""

import pytest
import torch
from torch import Tensor

from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.losses import (
    dragan_perturbation,
    gradient_penalty,
    hinge_loss,
    interpolates,
    non_saturating_loss,
    r1_penalty,
    wasserstein_loss,
)
from lightning_gans.gan_modules.modular_gan import ModularGAN
from lightning_gans.gan_modules.networks.mlp import MLPDiscriminator, MLPGenerator
from lightning_gans.gan_modules.nsgan_gp import NSGAN_GP_OPTIMIZER, NSGANGP
from lightning_gans.gan_modules.wgan_gp import WGAN_GP_OPTIMIZER, WGANGP
from tiny import LinearDiscriminator as LinearCritic
from tiny import LinearGenerator, loader, make_trainer


def tiny_mlp_generator(data_shape):
    return MLPGenerator(data_shape, hidden=8, n_layers=1)


def tiny_mlp_critic(data_shape):
    return MLPDiscriminator(data_shape, hidden=8, n_layers=2)


def trained_weights(cls, n_batches=12, **kwargs):
    torch.manual_seed(0)
    data = loader(n_batches)
    module = cls(tiny_mlp_generator, tiny_mlp_critic, **kwargs)
    make_trainer().fit(module, data)
    return module.state_dict()


def test_modular_gan_with_wasserstein_and_interpolate_is_wgan_gp():
    optimizers = dict(generator_optimizer=WGAN_GP_OPTIMIZER, discriminator_optimizer=WGAN_GP_OPTIMIZER)
    modular = trained_weights(ModularGAN, loss="wasserstein", penalty="interpolate", n_critic=5, **optimizers)
    wgan_gp = trained_weights(WGANGP)
    for name in wgan_gp:
        assert torch.equal(modular[name], wgan_gp[name]), name


# ---------------------------------------------------------------- ModularGAN losses by hand
def set_linear(critic, w, b=0.0):
    with torch.no_grad():
        critic.linear.weight.copy_(torch.tensor([w]))
        critic.linear.bias.fill_(b)


def test_hinge_r1_discriminator_and_generator_loss_by_hand():
    module = ModularGAN(LinearGenerator, LinearCritic, loss="hinge", penalty="r1", penalty_weight=4.0)
    set_linear(module.discriminator, [3.0, 4.0], b=0.5)  # grad = w: ||grad||^2 = 25 everywhere
    real = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # D = 0.5, 3.5: hinge terms 0.5, 0
    fake = torch.tensor([[0.0, -1.0], [-1.0, 0.0]])  # D = -3.5, -2.5: hinge terms 0, 0
    expected = (0.5 + 0.0) / 2 + 0.0 + 4.0 * 0.5 * 25  # gamma/2 E||grad D(x)||^2 with gamma = 4
    assert module.discriminator_loss(real, fake).item() == pytest.approx(expected)
    assert module.generator_loss(fake, real).item() == pytest.approx(3.0)  # -E[D(G(z))]


def test_modular_gan_without_penalty_is_the_bare_loss():
    module = ModularGAN(LinearGenerator, LinearCritic, loss="non_saturating")
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    d = module.discriminator
    assert torch.equal(module.discriminator_loss(real, fake), non_saturating_loss(d(real), d(fake)).discriminator)
    hinge = ModularGAN(LinearGenerator, LinearCritic)
    assert torch.equal(hinge.discriminator_loss(real, fake),
                       hinge_loss(hinge.discriminator(real), hinge.discriminator(fake)).discriminator)


# ---------------------------------------------------------------- lazy regularisation
class PenaltyRecordingGAN(ModularGAN):
    """Records, at every discriminator step, the weight the penalty entered the loss with."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.weights = []

    def with_penalty(self, loss, real, fake):
        total = super().with_penalty(loss, real, fake)
        self.weights.append(((total - loss) / r1_penalty(self.discriminator, real, fake)).item())
        return total


def test_lazy_penalty_is_applied_every_interval_steps_times_the_interval():
    eager = PenaltyRecordingGAN(LinearGenerator, LinearCritic, penalty="r1", penalty_weight=2.0)
    lazy = PenaltyRecordingGAN(LinearGenerator, LinearCritic, penalty="r1", penalty_weight=2.0, penalty_interval=4)
    for module in (eager, lazy):
        make_trainer().fit(module, loader(10))
    assert eager.weights == pytest.approx([2.0] * 10)
    assert lazy.weights == pytest.approx([4 * 2.0 if step % 4 == 0 else 0.0 for step in range(10)])


def test_lazy_steps_count_discriminator_steps_under_n_critic():
    module = PenaltyRecordingGAN(LinearGenerator, LinearCritic, penalty="r1", penalty_interval=3, n_critic=2)
    make_trainer().fit(module, loader(9))
    assert module.weights == pytest.approx([30.0 if step % 3 == 0 else 0.0 for step in range(9)])


# ---------------------------------------------------------------- options and the batch-coupling check
def test_modular_gan_rejects_unknown_options():
    for kwargs, message in [({"loss": "cubic"}, "the loss 'cubic' is neither a registered name"),
                            ({"penalty": "r3"}, "the penalty 'r3' is neither a registered name"),
                            ({"loss_options": {"margin": 2}}, "does not take the options"),
                            ({"penalty_weight": -1.0}, "penalty_weight"),
                            ({"penalty_interval": 0}, "penalty_interval")]:
        with pytest.raises(ValueError, match=message):
            ModularGAN(LinearGenerator, LinearCritic, **kwargs)


@pytest.mark.parametrize("make", [
    lambda: WGANGP(tiny_mlp_generator, lambda s: MLPDiscriminator(s, hidden=8, n_layers=2, minibatch_kernels=4)),
    lambda: NSGANGP(tiny_mlp_generator, lambda s: MLPDiscriminator(s, hidden=8, n_layers=2, minibatch_kernels=4),
                    penalty="dragan"),
    lambda: ModularGAN(tiny_mlp_generator, lambda s: MLPDiscriminator(s, hidden=8, n_layers=2, minibatch_kernels=4),
                       penalty="r1"),
])
def test_every_penalised_method_rejects_minibatch_discrimination(make):
    with pytest.raises(ValueError, match=r"minibatch discrimination.*\['minibatch'\]"):
        make()


@pytest.mark.parametrize("penalty", ["interpolate", "dragan", "r1", "r2"])
def test_every_penalty_rejects_a_batch_norm_critic_and_no_penalty_accepts_it(penalty):
    batch_norm_critic = lambda shape: MLPDiscriminator(shape, hidden=8, n_layers=2, norm="batch")  # noqa: E731
    with pytest.raises(ValueError, match=r"batch norm.*\['body\.5'\]"):
        ModularGAN(tiny_mlp_generator, batch_norm_critic, penalty=penalty)
    ModularGAN(tiny_mlp_generator, batch_norm_critic, penalty=None)


# ---------------------------------------------------------------- configs
@pytest.mark.parametrize("config", ["configs/ring8_hinge_r1.yaml", "configs/grid25_hinge_r1.yaml"])
def test_hinge_r1_config_parses_and_names_its_step_budget(capsys, config):
    import yaml

    from lightning_gans.cli import main

    with pytest.raises(SystemExit):
        main(["fit", "--config", config, "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    init = printed["model"]["init_args"]
    assert printed["model"]["class_path"].split(".")[-1] == "ModularGAN"
    assert (init["loss"], init["penalty"]) == ("hinge", "r1") and printed["trainer"]["max_steps"] > 0


@pytest.mark.parametrize("cls, kwargs", [(WGANGP, {"penalty_interval": 2}), (NSGANGP, {"penalty": "dragan"}),
                                         (ModularGAN, {"loss": "wasserstein", "penalty": "r2", "penalty_weight": 3.0})])
def test_hyperparameters_are_the_methods_own_arguments_and_rebuild_it(cls, kwargs):
    module = cls(tiny_mlp_generator, tiny_mlp_critic, **kwargs)
    assert "loss" not in module.hparams or cls is ModularGAN  # the composition is no hidden hyper-parameter
    # as load_from_checkpoint builds it (networks without a class path are passed again, as it asks)
    rebuilt = cls(**{"generator": tiny_mlp_generator, "discriminator": tiny_mlp_critic, **module.hparams})
    assert (rebuilt.loss_name, rebuilt.penalty_name, rebuilt.penalty_weight, rebuilt.penalty_interval) == (
        module.loss_name, module.penalty_name, module.penalty_weight, module.penalty_interval)


def test_a_subclass_composes_a_function_given_itself_and_modular_gan_asks_for_its_name():
    from lightning_gans.gan_modules import ComposedGAN

    def doubled_hinge(real_scores, fake_scores):
        return 2 * hinge_loss(real_scores, fake_scores).discriminator, -fake_scores.mean()

    class DoubledHinge(ComposedGAN):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.compose(doubled_hinge)

    module = DoubledHinge(LinearGenerator, LinearCritic)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    d = module.discriminator
    assert module.loss_name == "doubled_hinge"
    assert torch.equal(module.discriminator_loss(real, fake), 2 * hinge_loss(d(real), d(fake)).discriminator)
    with pytest.raises(TypeError, match="ModularGAN takes the loss by registered name or dotted path"):
        ModularGAN(LinearGenerator, LinearCritic, loss=doubled_hinge)
