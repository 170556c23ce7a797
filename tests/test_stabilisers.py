"""The stabilising techniques (Salimans et al. 2016; instance noise) against hand computations."""

import math
from functools import partial

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules import GAN, AlphaGAN, OptimizerSpec
from lightning_gans.gan_modules.training.historical_averaging import ParameterAverage
from lightning_gans.gan_modules.losses import (
    feature_matching_loss,
    historical_averaging_penalty,
    instance_noise_std,
    non_saturating_loss,
)
from lightning_gans.gan_modules.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MinibatchDiscrimination,
    MLPDiscriminator,
    MLPEncoder,
    MLPGenerator,
    VirtualBatchNorm,
)
from tiny import loader, make_trainer
from lightning_gans.cli import main


def sigmoid(a):
    return 1 / (1 + math.exp(-a))


# ------------------------------------------------------------------------------ one-sided label smoothing
def test_smoothed_discriminator_loss_at_known_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    alpha = 0.9
    expected = -sum(alpha * math.log(sigmoid(a)) + (1 - alpha) * math.log(1 - sigmoid(a)) for a in (2.0, -1.0)) / 2
    expected += -sum(math.log(1 - sigmoid(b)) for b in (0.5, -3.0)) / 2  # fakes keep target 0
    assert math.isclose(non_saturating_loss(real, fake, real_label=alpha).discriminator.item(), expected, rel_tol=1e-6)
    assert non_saturating_loss(real, fake, real_label=1.0).discriminator == non_saturating_loss(real, fake).discriminator


def test_smoothed_loss_is_minimised_at_d_equal_to_the_real_label():
    """The reals' term is a cross-entropy with target 0.9, so its optimum is D(x) = 0.9, logit log 9."""
    logit = torch.tensor([math.log(9.0)], requires_grad=True)
    (grad,) = torch.autograd.grad(non_saturating_loss(logit, torch.zeros(1), real_label=0.9).discriminator, logit)
    assert abs(grad.item()) < 1e-6


@pytest.mark.parametrize("label", [0.0, 1.5, -0.1])
def test_real_label_outside_the_unit_interval_is_rejected(label):
    with pytest.raises(ValueError, match="real_label"):
        non_saturating_loss(torch.zeros(2), torch.zeros(2), real_label=label).discriminator
    with pytest.raises(ValueError, match="real_label"):
        GAN(MLPGenerator, MLPDiscriminator, real_label=label)


def test_gan_option_uses_the_smoothed_loss():
    torch.manual_seed(0)
    module = GAN(MLPGenerator, MLPDiscriminator, real_label=0.9)
    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    expected = non_saturating_loss(module.discriminator(real), module.discriminator(fake), real_label=0.9).discriminator
    assert torch.allclose(module.discriminator_loss(real, fake), expected)


# ------------------------------------------------------------------------------ instance noise
def test_instance_noise_schedule_is_linear_to_zero():
    assert instance_noise_std(0, 0.5, 1000) == 0.5
    assert math.isclose(instance_noise_std(250, 0.5, 1000), 0.375)
    assert instance_noise_std(1000, 0.5, 1000) == 0.0
    assert instance_noise_std(5000, 0.5, 1000) == 0.0
    assert instance_noise_std(5000, 0.5, 0) == 0.5  # no annealing
    with pytest.raises(ValueError):
        instance_noise_std(0, -0.1, 10)


class ConstantGenerator(nn.Module):
    """Outputs ``value`` everywhere; its one parameter gets a zero gradient, so Adam never moves it."""

    latent_dim = 2

    def __init__(self, value):
        super().__init__()
        self.value = value
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return torch.full_like(z, self.value) + 0 * self.unused


class RecordingDiscriminator(nn.Module):
    """A linear discriminator that records every input it sees (and whether it came through ``features``)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.seen: list[tuple[str, torch.Tensor]] = []

    def features(self, x):
        self.seen.append(("features", x.detach().clone()))
        return x

    def forward(self, x):
        self.seen.append(("forward", x.detach().clone()))
        return self.linear(x).squeeze(-1)


@pytest.mark.parametrize("generator_loss", ["non_saturating", "feature_matching"])
def test_discriminator_sees_real_and_fake_inputs_with_the_scheduled_noise(generator_loss):
    torch.manual_seed(0)
    batch = 4000
    discriminator = RecordingDiscriminator()
    module = GAN(ConstantGenerator(-5.0), discriminator, instance_noise=1.0, instance_noise_anneal_steps=4,
                 generator_loss=generator_loss)
    make_trainer().fit(module, loader(6, batch_size=batch, fill=3.0))
    # Per batch: D step sees D(real), D(fake); G step sees D(fake) (non-saturating) or
    # features(fake), features(real) (feature matching: fake first, see GAN.generator_loss order).
    per_batch = 3 if generator_loss == "non_saturating" else 4
    assert len(discriminator.seen) == 6 * per_batch
    for step in range(6):
        sigma = max(0.0, 1 - step / 4)  # generator steps taken before batch `step`
        calls = discriminator.seen[step * per_batch : (step + 1) * per_batch]
        for _, x in calls:
            clean = 3.0 if abs(x.mean().item() - 3.0) < 1 else -5.0
            noise = x - clean
            if sigma == 0:
                assert torch.equal(noise, torch.zeros_like(noise))
            else:
                assert math.isclose(noise.std().item(), sigma, rel_tol=0.05)
                assert abs(noise.mean().item()) < 0.05
        cleans = sorted(round(x.mean().item()) for _, x in calls)
        expected = [-5, -5, 3] if generator_loss == "non_saturating" else [-5, -5, 3, 3]
        assert cleans == expected  # reals and fakes both went through the noise


def test_noise_keeps_the_generator_graph():
    module = GAN(MLPGenerator, MLPDiscriminator, instance_noise=0.3)
    x = torch.zeros(4, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(module.add_instance_noise(x).sum(), x)
    assert torch.equal(grad, torch.ones_like(x))
    assert module.current_instance_noise_std() == 0.3


def test_options_acting_in_the_base_step_are_rejected_by_alpha_gan():
    options = dict(encoder=MLPEncoder, code_discriminator=MLPDiscriminator)
    for option in ({"instance_noise": 0.1}, {"historical_averaging": 0.1}):
        with pytest.raises(ValueError, match="own training_step"):
            AlphaGAN(partial(MLPGenerator, latent_dim=2), MLPDiscriminator, **options, **option)


# ------------------------------------------------------------------------------ feature matching
def test_feature_matching_loss_hand_values():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_matching_loss(real, fake).item() == pytest.approx(1.0**2 + 2.0**2)
    assert feature_matching_loss(real, real).item() == 0.0
    assert feature_matching_loss(real, real.flip(0)).item() == 0.0  # only the means matter
    with pytest.raises(ValueError):
        feature_matching_loss(real, torch.zeros(2, 3))


def test_gan_feature_matching_uses_the_discriminator_features():
    torch.manual_seed(0)
    module = GAN(MLPGenerator, partial(MLPDiscriminator, minibatch_kernels=3), generator_loss="feature_matching")
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    expected = feature_matching_loss(module.discriminator.features(real), module.discriminator.features(fake))
    assert torch.allclose(module.generator_loss(fake, real), expected)
    assert module.generator_loss(real, real).item() == 0.0


def test_feature_matching_needs_features():
    class NoFeatures(nn.Module):
        def __init__(self, data_shape):
            super().__init__()
            self.linear = nn.Linear(2, 1)

    with pytest.raises(ValueError, match="features"):
        GAN(MLPGenerator, NoFeatures, generator_loss="feature_matching")


# ------------------------------------------------------------------------------ minibatch discrimination
def test_minibatch_features_of_identical_samples_equal_the_batch_size():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=6, num_kernels=4, kernel_dim=3)
    out = layer(torch.randn(1, 6).repeat(5, 1))
    assert out.shape == (5, 6 + 4)
    assert torch.allclose(out[:, 6:], torch.full((5, 4), 5.0))  # c_b = exp(0) = 1 for all 5 x 5 pairs


def test_minibatch_features_hand_value():
    layer = MinibatchDiscrimination(in_features=1, num_kernels=1, kernel_dim=2)
    with torch.no_grad():
        layer.T.copy_(torch.tensor([[[1.0, -1.0]]]))  # M_i = (f_i, -f_i), ||M_i - M_j||_1 = 2 |f_i - f_j|
    f = torch.tensor([[0.0], [0.5], [3.0]])
    o = layer(f)[:, 1]
    c = lambda a, b: math.exp(-2 * abs(a - b))  # noqa: E731
    expected = [sum(c(a, b) for b in (0.0, 0.5, 3.0)) for a in (0.0, 0.5, 3.0)]
    assert torch.allclose(o, torch.tensor(expected))


@pytest.mark.parametrize(
    "build, shape",
    [(partial(MLPDiscriminator, (2,), hidden=16), (2,)),
     (partial(DCGANDiscriminator, (1, 8, 8), base_channels=4), (1, 8, 8))],
)
def test_discriminators_append_the_layer_before_the_head(build, shape):
    torch.manual_seed(0)
    plain, with_layer = build(), build(minibatch_kernels=7)
    x = torch.randn(5, *shape)
    assert with_layer.features(x).shape == (5, plain.features(x).shape[1] + 7)
    assert with_layer(x).shape == (5,)
    # The layer couples the batch: another example changes this one's score (hence no gradient penalties).
    y = x.clone()
    y[1:] = torch.randn(4, *shape)
    assert not torch.allclose(with_layer(x)[0], with_layer(y)[0])
    with_layer.eval(), plain.eval()
    assert torch.allclose(plain(x)[0], plain(y)[0])


# ------------------------------------------------------------------------------ historical averaging
def test_historical_penalty_hand_value():
    params = [torch.tensor([1.0, 2.0]), torch.tensor([3.0])]
    averages = [torch.tensor([0.0, 0.0]), torch.tensor([1.0])]
    assert historical_averaging_penalty(params, averages).item() == 1 + 4 + 4


def test_running_average_after_k_steps():
    layer = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    average = ParameterAverage(layer)
    for value in (2.0, 4.0, 6.0):  # three "steps"
        with torch.no_grad():
            layer.weight.fill_(value)
        average.update(layer)
    assert average.count.item() == 4
    assert average.averages()[0].item() == pytest.approx((1 + 2 + 4 + 6) / 4)
    assert average.penalty(layer).item() == pytest.approx((6 - 3.25) ** 2)


class ParameterRecorder(pl.Callback):
    def __init__(self, module):
        self.snapshots = {name: [self.flat(getattr(module, name))] for name in ("generator", "discriminator")}

    @staticmethod
    def flat(network):
        return torch.cat([p.detach().flatten().clone() for p in network.parameters()])

    def on_train_batch_end(self, trainer, module, *args):
        for name, values in self.snapshots.items():
            values.append(self.flat(getattr(module, name)))


def test_module_averages_each_player_over_its_steps_and_penalises_the_gap():
    torch.manual_seed(0)
    sgd = OptimizerSpec(name="sgd", lr=0.05)
    module = GAN(partial(MLPGenerator, hidden=8, n_layers=1), partial(MLPDiscriminator, hidden=8, n_layers=1),
                 historical_averaging=0.5, generator_optimizer=sgd, discriminator_optimizer=sgd)
    recorder = ParameterRecorder(module)
    make_trainer(callbacks=[recorder]).fit(module, DataLoader(TensorDataset(torch.randn(5 * 16, 2)), batch_size=16))
    for name in ("generator", "discriminator"):
        snapshots = torch.stack(recorder.snapshots[name])  # the initial value and one after each of 5 steps
        average = getattr(module, f"{name}_average")
        assert average.count.item() == 6
        assert torch.allclose(torch.cat([a.flatten() for a in average.averages()]), snapshots.mean(0), atol=1e-6)
        assert f"{name}_average.average_0" in module.state_dict()  # checkpointed: resume is exact


def test_historical_penalty_enters_the_loss_with_its_weight():
    module = GAN(partial(MLPGenerator, hidden=8, n_layers=1), MLPDiscriminator, historical_averaging=0.5)
    n_parameters = sum(p.numel() for p in module.generator.parameters())
    with torch.no_grad():
        for average in module.generator_average.averages():
            average.add_(0.1)  # every parameter is 0.1 below its average
    expected = 1 + 0.5 * n_parameters * 0.1**2
    assert module.with_historical_penalty(torch.tensor(1.0), "generator").item() == pytest.approx(expected)


# ------------------------------------------------------------------------------ virtual batch norm
def test_vbn_normalises_each_example_with_the_reference_batch_plus_itself():
    torch.manual_seed(0)
    layer = VirtualBatchNorm(num_features=3, reference_size=4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        layer.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    reference, examples = torch.randn(4, 3) * 3 + 1, torch.randn(2, 3)
    out = layer(torch.cat([reference, examples]))
    for i in range(2):
        pool = torch.cat([reference, examples[i : i + 1]])  # Salimans: reference batch plus the example
        expected = (examples[i] - pool.mean(0)) / torch.sqrt(pool.var(0, unbiased=False) + 1e-5)
        assert torch.allclose(out[4 + i], expected * layer.weight + layer.bias, atol=1e-5)
    expected_reference = (reference - reference.mean(0)) / torch.sqrt(reference.var(0, unbiased=False) + 1e-5)
    assert torch.allclose(out[:4], expected_reference * layer.weight + layer.bias, atol=1e-5)


def test_vbn_conv_statistics_pool_the_reference_and_the_example_positions():
    torch.manual_seed(0)
    layer = VirtualBatchNorm(num_features=2, reference_size=3)
    x = torch.randn(3 + 2, 2, 4, 4)
    out = layer(x)
    pool = torch.cat([x[:3], x[4:5]]).transpose(0, 1).reshape(2, -1)  # channel-wise values of ref + example 1
    mean, var = pool.mean(1).view(2, 1, 1), pool.var(1, unbiased=False).view(2, 1, 1)
    assert torch.allclose(out[4], (x[4] - mean) / torch.sqrt(var + 1e-5), atol=1e-5)


def test_vbn_output_ignores_the_rest_of_the_batch_but_not_the_reference():
    torch.manual_seed(0)
    layer = VirtualBatchNorm(num_features=3, reference_size=4)
    x = torch.randn(7, 3)
    y = x.clone()
    y[5:] = torch.randn(2, 3) * 10  # other examples
    assert torch.allclose(layer(x)[4], layer(y)[4])
    y = x.clone()
    y[:4] = torch.randn(4, 3)  # another reference
    assert not torch.allclose(layer(x)[4], layer(y)[4])


@pytest.mark.parametrize(
    "build",
    [partial(MLPGenerator, (2,), hidden=16, reference_size=8),
     partial(DCGANGenerator, (1, 8, 8), latent_dim=6, base_channels=4, reference_size=8)],
)
def test_vbn_generator_examples_do_not_depend_on_their_batch(build):
    torch.manual_seed(0)
    generator = build(norm="virtual_batch")
    z = torch.randn(5, generator.latent_dim)
    others = torch.cat([z[:1], 5 * torch.randn(6, generator.latent_dim)])
    for mode in (True, False):  # train and eval compute the same thing
        generator.train(mode)
        assert torch.allclose(generator(z)[0], generator(others)[0], atol=1e-6)
        assert torch.allclose(generator(z[:1])[0], generator(z)[0], atol=1e-6)
    batch_norm = build(norm="batch")
    assert not torch.allclose(batch_norm(z)[0], batch_norm(others)[0])


def test_vbn_reference_is_fixed_and_checkpointed():
    torch.manual_seed(0)
    generator = MLPGenerator((2,), hidden=16, norm="virtual_batch", reference_size=8)
    torch.manual_seed(1)
    other = MLPGenerator((2,), hidden=16, norm="virtual_batch", reference_size=8)
    assert not torch.equal(generator.reference_latent, other.reference_latent)
    other.load_state_dict(generator.state_dict())
    z = torch.randn(3, 2)
    assert torch.equal(generator(z), other(z))


def test_vbn_generator_samples_in_a_module_and_discriminators_reject_it():
    torch.manual_seed(0)
    module = GAN(partial(MLPGenerator, hidden=16, norm="virtual_batch", reference_size=8), MLPDiscriminator)
    make_trainer(max_steps=4).fit(module, DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=16))
    assert module.sample(3).shape == (3, 2)
    with pytest.raises(ValueError, match="norm"):
        MLPDiscriminator((2,), norm="virtual_batch")


# ------------------------------------------------------------------------------ CLI
def test_every_option_switches_on_from_the_cli(tmp_path):
    cli = main([
        "fit", "--config", "configs/grid25_gan_stabilised.yaml", "--trainer.max_steps=4",
        f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false",
        "--data.init_args.n_train=512", "--data.init_args.n_val=0",
        "--model.init_args.generator_loss=feature_matching",
        "--model.init_args.historical_averaging=0.01",
        "--model.init_args.discriminator.init_args.minibatch_kernels=5",
        "--model.init_args.generator.init_args.norm=virtual_batch",
    ])
    model = cli.model
    assert model.real_label == 0.9 and model.instance_noise == 0.5 and model.instance_noise_anneal_steps == 2500
    assert model.generator_loss_name == "feature_matching" and model.historical_averaging == 0.01
    assert isinstance(model.discriminator.minibatch, MinibatchDiscrimination)
    assert any(isinstance(m, VirtualBatchNorm) for m in model.generator.modules())
    assert cli.trainer.global_step == 4 and model.generator_average.count.item() == 3


class WrappedStepGAN(GAN):
    """Overrides training_step and still calls the module's: the stabilisers keep acting."""

    def training_step(self, batch, batch_idx):
        self.wrapped = getattr(self, "wrapped", 0) + 1
        return super().training_step(batch, batch_idx)


class OwnStepGAN(GAN):
    """Overrides training_step with its own optimizer steps, bypassing discriminator_step / generator_step."""

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        real = self.real_from_batch(batch)
        self.descend(opt_d, self.discriminator_loss(real, self.generate(real.size(0)).detach()), "discriminator")
        self.finish_discriminator_step()


def test_an_overridden_training_step_keeps_the_stabilisers_it_goes_through():
    torch.manual_seed(0)
    module = WrappedStepGAN(MLPGenerator, MLPDiscriminator, instance_noise=0.1, historical_averaging=0.01)
    make_trainer().fit(module, loader(3))
    assert module.wrapped == 3 and module.generator_steps == 3
    assert int(module.generator_average.count) == 1 + 3  # the initial weights, then every generator step


@pytest.mark.parametrize("option, named", [({"instance_noise": 0.1}, "instance_noise did not act"),
                                           ({"historical_averaging": 0.1}, "historical_averaging did not act")])
def test_an_overridden_training_step_that_bypasses_the_stabilisers_stops_with_one_line(option, named):
    module = OwnStepGAN(MLPGenerator, MLPDiscriminator, **option)
    with pytest.raises(ValueError, match=f"OwnStepGAN's training_step .* {named}") as error:
        make_trainer().fit(module, loader(3))
    assert "\n" not in str(error.value) and module.global_step == 1  # stopped after the first batch
    plain = OwnStepGAN(MLPGenerator, MLPDiscriminator)  # without the options the same class trains
    make_trainer().fit(plain, loader(3))
    assert plain.global_step == 3
