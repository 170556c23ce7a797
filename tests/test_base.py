"""The shared adversarial module: the optimizer dance, sampling, errors."""

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules import GAN, NSGANGP, WGANGP, OptimizerSpec
from lightning_gans.gan_modules.training.finite_check import NonFiniteLossCheck
from lightning_gans.gan_modules.losses import non_saturating_loss
from tiny import FixedNoiseGAN, LinearDiscriminator, LinearGenerator, loader, make_trainer


def adam_steps(optimizer):
    return int(next(iter(optimizer.state.values()))["step"])


def test_n_critic_discriminator_steps_per_generator_step():
    torch.manual_seed(0)
    module = GAN(LinearGenerator, LinearDiscriminator, n_critic=3)
    trainer = make_trainer()
    trainer.fit(module, loader(9))
    opt_g, opt_d = (o.optimizer for o in module.optimizers())
    assert adam_steps(opt_d) == 9
    assert adam_steps(opt_g) == 3
    assert module.generator_steps == 3
    assert trainer.global_step == 12  # Lightning counts optimizer steps


def sgd(lr):
    return OptimizerSpec(name="sgd", lr=lr)


@pytest.mark.parametrize("update_mode", ["alternating", "simultaneous"])
def test_one_update_matches_hand_computation(update_mode):
    torch.manual_seed(0)
    real = torch.randn(8, 2)
    z1, z2 = torch.randn(8, 2), torch.randn(8, 2)
    module = FixedNoiseGAN(LinearGenerator, LinearDiscriminator, update_mode=update_mode, codes=[z1, z2],
                           generator_optimizer=sgd(0.1), discriminator_optimizer=sgd(0.05))
    g, d = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)

    # By hand: D step on z1, then G step on fresh z2 against the *updated* D (Algorithm 1), or, when
    # simultaneous, both gradients from z1 at the old parameters.
    d_loss = non_saturating_loss(d(real), d(g(z1).detach())).discriminator
    d_grads = torch.autograd.grad(d_loss, list(d.parameters()))
    d_new = copy.deepcopy(d)
    with torch.no_grad():
        for p, grad in zip(d_new.parameters(), d_grads):
            p -= 0.05 * grad
    if update_mode == "alternating":
        g_loss = non_saturating_loss(None, d_new(g(z2))).generator
    else:
        g_loss = non_saturating_loss(None, d(g(z1))).generator
    g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
    with torch.no_grad():
        expected_g = [p - 0.1 * grad for p, grad in zip(g.parameters(), g_grads)]

    make_trainer().fit(module, DataLoader(TensorDataset(real, torch.zeros(8)), batch_size=8))
    for p, expected in zip(module.discriminator.parameters(), d_new.parameters()):
        torch.testing.assert_close(p, expected)
    for p, expected in zip(module.generator.parameters(), expected_g):
        torch.testing.assert_close(p, expected)


def test_sample_is_graph_free_and_restores_the_mode():
    module = GAN(LinearGenerator, LinearDiscriminator, prior="uniform")
    module.train()
    x = module.sample(5)
    assert x.shape == (5, 2) and not x.requires_grad
    assert module.generator.training
    z = module.sample_latent(10_000)
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99 and z.max() > 0.99


@pytest.mark.parametrize("deferred", [False, True], ids=["immediate (CPU default)", "deferred (accelerator default)"])
def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path, deferred):
    module = GAN(LinearGenerator, LinearDiscriminator)
    module.finite_check = NonFiniteLossCheck(deferred=deferred)
    make_trainer(default_root_dir=tmp_path, enable_checkpointing=True).fit(module, loader(2))
    written = list(tmp_path.rglob("*.ckpt"))
    assert len(written) == 1
    before = written[0].read_bytes()
    # the first NaN loss is the new trainer's first step (global step 0), its counters restarted with it
    message = "discriminator loss is nan" if not deferred else "discriminator loss became non-finite"
    with pytest.raises(FloatingPointError, match=f"{message} .*at global step 0 \\(generator step 0\\)"):
        make_trainer(default_root_dir=tmp_path, enable_checkpointing=True, max_epochs=4, log_every_n_steps=50).fit(
            module, loader(2, fill=float("nan"))
        )
    assert written[0].read_bytes() == before
    assert list(tmp_path.rglob("*.ckpt")) == written  # the epoch-end checkpoint of NaN weights was never written


def test_deferred_check_names_the_first_bad_loss_and_stays_on_the_device():
    check = NonFiniteLossCheck(deferred=True)
    check.record(torch.tensor(1.0), "discriminator", 0, 0)
    check.raise_if_any()  # all finite so far
    check.record(torch.tensor(float("inf")), "generator", 7, 3)
    check.record(torch.tensor(float("nan")), "discriminator", 8, 4)  # a later bad loss does not overwrite the first
    first = "generator loss became non-finite .*at global step 7 \\(generator step 3\\)"
    with pytest.raises(FloatingPointError, match=first):
        check.raise_if_any()
    assert NonFiniteLossCheck().is_deferred(torch.device("cpu")) is False
    assert NonFiniteLossCheck().is_deferred(torch.device("cuda")) is True


def test_counters_survive_a_checkpoint(tmp_path):
    module = GAN(LinearGenerator, LinearDiscriminator, n_critic=2)
    trainer = make_trainer(default_root_dir=tmp_path, enable_checkpointing=True)
    trainer.fit(module, loader(5))
    assert (module.generator_steps, module.discriminator_steps_since_generator_step) == (2, 1)
    restored = GAN(LinearGenerator, LinearDiscriminator, n_critic=2)
    restored.on_load_checkpoint(torch.load(next(tmp_path.rglob("*.ckpt")), weights_only=False))
    assert (restored.generator_steps, restored.discriminator_steps_since_generator_step) == (2, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_critic=0), "n_critic must be at least 1"),
        (dict(update_mode="simultaneous", n_critic=2), "n_critic must be 1"),
        (dict(prior="cauchy"), "prior must be"),
        (dict(generator_loss="wasserstein"), "generator_loss must be one of"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GAN(LinearGenerator, LinearDiscriminator, **kwargs)


@pytest.mark.parametrize("budget", [{"max_steps": 0}, {"max_epochs": 0}])
def test_a_fit_that_trains_nothing_is_refused(budget):
    name = next(iter(budget))
    module = GAN(LinearGenerator, LinearDiscriminator)
    with pytest.raises(ValueError, match=rf"^{name}=0 trains nothing: set the trainer's {name} to a positive number"):
        make_trainer(**budget).fit(module, loader(2))


def test_generator_without_latent_dim_is_rejected():
    with pytest.raises(ValueError, match="latent_dim"):
        GAN(lambda shape: nn.Linear(2, 2), LinearDiscriminator)


def test_optimizer_spec_validates_and_builds():
    with pytest.raises(ValueError, match="lr must be positive"):
        OptimizerSpec(lr=0)
    opt = OptimizerSpec(name="rmsprop", lr=5e-5).build(nn.Linear(2, 2).parameters())
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["alpha"] == 0.99


@pytest.mark.parametrize("method", [GAN, WGANGP, NSGANGP], ids=lambda method: method.__name__)
def test_nan_advice_fits_the_method(method):
    module = method(LinearGenerator, LinearDiscriminator)
    with pytest.raises(FloatingPointError) as error:
        make_trainer().fit(module, loader(2, fill=float("nan")))
    if method is GAN:
        assert "use a method with a gradient penalty" in str(error.value)
    else:  # the run already has a penalty: not told to use one, but about its weight
        assert "gradient penalty" not in str(error.value)
        assert f"penalty_weight (now {module.penalty_weight})" in str(error.value)
