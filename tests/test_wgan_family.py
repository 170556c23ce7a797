"""WGAN, WGAN-GP and NS-GAN-GP modules: defaults, step counts, clipping, composed losses, mixed precision."""

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.plugins import MixedPrecision
from torch import nn

import lightning_gans.gan_modules.losses.penalties as penalties_module
from lightning_gans.gan_modules.networks.mlp import MLPDiscriminator, MLPGenerator
from lightning_gans.gan_modules.nsgan_gp import NSGANGP
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec
from lightning_gans.gan_modules.wgan import WGAN
from lightning_gans.gan_modules.wgan_gp import WGANGP
from tiny import LinearDiscriminator as LinearCritic
from tiny import LinearGenerator, loader, make_trainer


def tiny_mlp_generator(data_shape):
    return MLPGenerator(data_shape, hidden=8, n_layers=1)


def tiny_mlp_critic(data_shape):
    return MLPDiscriminator(data_shape, hidden=8, n_layers=2)


def optimizer_steps(module):
    """(generator steps, discriminator steps) from the optimizers' own state."""
    return tuple(int(next(iter(o.optimizer.state.values()))["step"]) for o in module.optimizers())


def set_linear(critic, w, b=0.0):
    with torch.no_grad():
        critic.linear.weight.copy_(torch.tensor([w]))
        critic.linear.bias.fill_(b)


# ---------------------------------------------------------------- defaults
@pytest.mark.parametrize("cls, name, lr, betas, n_critic", [
    (WGAN, "rmsprop", 5e-5, None, 5),  # Arjovsky et al. 2017, Algorithm 1
    (WGANGP, "adam", 1e-4, (0.0, 0.9), 5),  # Gulrajani et al. 2017, Algorithm 1
    (NSGANGP, "adam", 1e-4, (0.5, 0.9), 1),  # DRAGAN reference code
])
def test_method_defaults_and_built_optimizers(cls, name, lr, betas, n_critic):
    module = cls(LinearGenerator, LinearCritic)
    assert module.n_critic == n_critic and module.hparams["n_critic"] == n_critic
    for spec, optimizer in zip((module.generator_optimizer, module.discriminator_optimizer),
                               module.configure_optimizers()):
        assert spec.name == name and optimizer.param_groups[0]["lr"] == lr
        if betas is not None:
            assert optimizer.param_groups[0]["betas"] == betas
        else:
            assert isinstance(optimizer, torch.optim.RMSprop) and optimizer.param_groups[0]["alpha"] == 0.99


def test_overridden_defaults_still_take_explicit_values():
    module = WGAN(LinearGenerator, LinearCritic, n_critic=2, discriminator_optimizer=OptimizerSpec("adam", 1e-3))
    assert module.n_critic == 2 and module.discriminator_optimizer.name == "adam"
    assert module.generator_optimizer.name == "rmsprop"


# ---------------------------------------------------------------- WGAN
def test_wgan_critic_and_generator_loss_by_hand():
    module = WGAN(LinearGenerator, LinearCritic)
    set_linear(module.discriminator, [2.0, 1.0], b=0.3)
    real = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # f = 2.3, 6.3
    fake = torch.tensor([[0.0, 1.0], [0.0, 3.0]])  # f = 1.3, 3.3
    assert module.discriminator_loss(real, fake).item() == pytest.approx(2.3 - 4.3)
    assert module.generator_loss(fake, real).item() == pytest.approx(-2.3)


def test_wgan_takes_exactly_n_critic_critic_steps_per_generator_step():
    torch.manual_seed(0)
    module = WGAN(LinearGenerator, LinearCritic, n_critic=5)
    trainer = make_trainer()
    trainer.fit(module, loader(12))
    assert optimizer_steps(module) == (2, 12)
    assert module.generator_steps == 2 and trainer.global_step == 14


class RecordingWGAN(WGAN):
    """Records the largest critic weight after each critic step and as each generator step sees it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.after_step, self.seen_by_generator = [], []

    def max_weight(self):
        return max(p.abs().max().item() for p in self.discriminator.parameters())

    def after_discriminator_step(self):
        super().after_discriminator_step()
        self.after_step.append(self.max_weight())

    def generator_loss(self, fake, real):
        self.seen_by_generator.append(self.max_weight())
        return super().generator_loss(fake, real)


def test_wgan_clips_every_critic_parameter_after_each_critic_step():
    torch.manual_seed(0)
    module = RecordingWGAN(
        LinearGenerator, lambda shape: nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1), nn.Flatten(0)),
        n_critic=2, discriminator_optimizer=OptimizerSpec("sgd", lr=1.0),  # big steps leave the box
    )
    assert module.max_weight() > 0.5  # PyTorch's init (BN scale 1) is far outside [-0.01, 0.01]
    make_trainer().fit(module, loader(6))
    assert len(module.after_step) == 6 and max(module.after_step) <= 0.01
    assert len(module.seen_by_generator) == 3 and max(module.seen_by_generator) <= 0.01  # paper order


def test_wgan_logs_the_wasserstein_estimate_as_minus_the_critic_loss():
    torch.manual_seed(0)
    module = WGAN(LinearGenerator, LinearCritic, n_critic=1)
    trainer = make_trainer()
    trainer.fit(module, loader(3))
    metrics = trainer.callback_metrics
    assert metrics["wasserstein_estimate"].item() == pytest.approx(-metrics["loss/discriminator"].item())


@pytest.mark.parametrize("generator_steps, expected", [
    (0, 100), (1, 100), (24, 100), (25, 5), (26, 5), (499, 5), (500, 100), (501, 5), (1000, 100),
])
def test_wgan_warmup_rule_of_the_reference_code(generator_steps, expected):
    module = WGAN(LinearGenerator, LinearCritic, critic_warmup=True)
    module.generator_steps = generator_steps
    assert module.discriminator_steps_per_generator_step() == expected
    plain = WGAN(LinearGenerator, LinearCritic)
    plain.generator_steps = generator_steps
    assert plain.discriminator_steps_per_generator_step() == 5


def test_wgan_warmup_counts_in_training():
    torch.manual_seed(0)
    module = WGAN(LinearGenerator, LinearCritic, critic_warmup=True)
    make_trainer().fit(module, loader(250, batch_size=2))  # 100 + 100 critic steps, then 50 more
    assert optimizer_steps(module) == (2, 250) and module.discriminator_steps_since_generator_step == 50


def test_wgan_rejects_bad_options():
    with pytest.raises(ValueError, match="clip_value"):
        WGAN(LinearGenerator, LinearCritic, clip_value=0.0)
    with pytest.raises(ValueError, match="alternating"):
        WGAN(LinearGenerator, LinearCritic, critic_warmup=True, n_critic=1, update_mode="simultaneous")


# ---------------------------------------------------------------- WGAN-GP and NS-GAN-GP losses
def test_wgan_gp_critic_loss_by_hand():
    torch.manual_seed(0)
    module = WGANGP(LinearGenerator, LinearCritic)
    set_linear(module.discriminator, [3.0, 4.0])  # |w| = 5: penalty (5 - 1)^2 = 16 at any point
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    expected = (fake @ torch.tensor([3.0, 4.0])).mean() - (real @ torch.tensor([3.0, 4.0])).mean() + 10 * 16
    assert module.discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert module.generator_loss(fake, real).item() == pytest.approx(-(fake @ torch.tensor([3.0, 4.0])).mean().item(), rel=1e-5)


@pytest.mark.parametrize("penalty, perturbation", [("interpolate", "dragan_code"), ("dragan", "dragan_code"),
                                                   ("dragan", "gaussian")])
def test_nsgan_gp_discriminator_loss_by_hand(penalty, perturbation):
    torch.manual_seed(0)
    module = NSGANGP(LinearGenerator, LinearCritic, penalty=penalty, perturbation=perturbation, penalty_weight=2.0)
    set_linear(module.discriminator, [0.6, 0.0])  # penalty (0.6 - 1)^2 = 0.16 on the logit
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    real_logits, fake_logits = 0.6 * real[:, 0], 0.6 * fake[:, 0]
    expected = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean() + 2.0 * 0.16
    assert module.discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert module.generator_loss(fake, real).item() == pytest.approx(F.softplus(-fake_logits).mean().item(), rel=1e-5)


class PointRecordingCritic(LinearCritic):
    """A linear critic that keeps the points it was called with."""

    def __init__(self, data_shape=(2,)):
        super().__init__(data_shape)
        self.points = []

    def forward(self, x):
        self.points.append(x.detach().clone())
        return super().forward(x)


def test_dragan_points_ignore_the_fakes_and_interpolates_use_them():
    real = torch.randn(32, 2)
    dragan = NSGANGP(LinearGenerator, PointRecordingCritic, penalty="dragan")
    gan_gp = NSGANGP(LinearGenerator, PointRecordingCritic, penalty="interpolate")
    points = []
    for module in (dragan, gan_gp):
        for fake in (torch.zeros(32, 2), torch.full((32, 2), 100.0)):
            torch.manual_seed(0)
            module.discriminator.points.clear()
            module.discriminator_loss(real, fake)
            points.append(module.discriminator.points[-1])  # the penalty's points follow the two loss terms
    assert torch.equal(points[0], points[1])
    assert not torch.allclose(points[2], points[3])


@pytest.mark.parametrize("cls", [WGANGP, NSGANGP])
def test_penalised_methods_reject_a_batch_norm_critic(cls):
    batch_norm_critic = lambda shape: MLPDiscriminator(shape, hidden=8, n_layers=2, norm="batch")  # noqa: E731
    with pytest.raises(ValueError, match="batch norm"):
        cls(tiny_mlp_generator, batch_norm_critic)
    for norm in ("layer", "none"):
        cls(tiny_mlp_generator, lambda shape, norm=norm: MLPDiscriminator(shape, hidden=8, n_layers=2, norm=norm))


def test_nsgan_gp_rejects_unknown_options():
    with pytest.raises(ValueError, match="penalty"):
        NSGANGP(LinearGenerator, LinearCritic, penalty="r1")
    with pytest.raises(ValueError, match="perturbation"):
        NSGANGP(LinearGenerator, LinearCritic, penalty="dragan", perturbation="uniform")


def test_wgan_gp_logs_estimate_and_penalty_consistently():
    torch.manual_seed(0)
    module = WGANGP(tiny_mlp_generator, tiny_mlp_critic, n_critic=1)
    trainer = make_trainer()
    trainer.fit(module, loader(3))
    m = trainer.callback_metrics
    total = -m["wasserstein_estimate"] + 10.0 * m["penalty"]
    assert m["loss/discriminator"].item() == pytest.approx(total.item(), rel=1e-5)
    assert optimizer_steps(module) == (3, 3)


# ---------------------------------------------------------------- mixed precision
def record_penalties(monkeypatch):
    """Wrap the penalty functions' gradient_penalty: record (penalty, fp32 reference at the same points, scaler)."""
    calls = []
    original = penalties_module.gradient_penalty

    def recording(critic, points, scaler=None, **kwargs):
        value = original(critic, points, scaler=scaler, **kwargs)
        with torch.autocast("cpu", enabled=False):
            reference = original(critic, points.float(), **kwargs)
        calls.append((value.detach(), reference.detach(), None if scaler is None else scaler.get_scale()))
        return value

    monkeypatch.setattr(penalties_module, "gradient_penalty", recording)
    return calls


@pytest.mark.parametrize("cls", [WGANGP, NSGANGP])
def test_fp16_penalty_goes_through_the_grad_scaler_unscaled(monkeypatch, cls):
    calls = record_penalties(monkeypatch)
    torch.manual_seed(0)
    module = cls(tiny_mlp_generator, tiny_mlp_critic, n_critic=1)
    make_trainer(plugins=[MixedPrecision("16-mixed", "cpu")]).fit(module, loader(4))
    assert len(calls) == 4
    for value, reference, scale in calls:
        assert scale is not None and scale >= 2.0**10  # a real scaler: the values it saw were scaled
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, reference, rtol=2e-2, atol=1e-3)  # never the scaled value
    assert calls[0][2] == 2.0**16  # GradScaler's initial scale: the penalty is finite even there


def test_bf16_penalty_has_no_scaler_and_is_fp32(monkeypatch):
    calls = record_penalties(monkeypatch)
    torch.manual_seed(0)
    module = WGANGP(tiny_mlp_generator, tiny_mlp_critic, n_critic=1)
    make_trainer(precision="bf16-mixed").fit(module, loader(3))
    assert len(calls) == 3
    for value, reference, scale in calls:
        assert scale is None and value.dtype == torch.float32
        torch.testing.assert_close(value, reference, rtol=5e-2, atol=1e-2)


def test_wgan_clipping_holds_under_fp16():
    torch.manual_seed(0)
    module = RecordingWGAN(tiny_mlp_generator, tiny_mlp_critic, n_critic=2, discriminator_optimizer=OptimizerSpec("sgd", lr=1.0))
    make_trainer(plugins=[MixedPrecision("16-mixed", "cpu")]).fit(module, loader(6))
    assert len(module.after_step) == 6 and max(module.after_step) <= 0.01


# ---------------------------------------------------------------- Lightning CLI
@pytest.mark.parametrize("cls, expected", [
    ("lightning_gans.gan_modules.wgan.WGAN", {"n_critic": 5, "name": "rmsprop", "lr": 5e-5, "clip_value": 0.01}),
    ("lightning_gans.gan_modules.wgan_gp.WGANGP", {"n_critic": 5, "name": "adam", "lr": 1e-4, "betas": [0.0, 0.9],
                                    "penalty_weight": 10.0}),
    ("lightning_gans.gan_modules.nsgan_gp.NSGANGP", {"n_critic": 1, "name": "adam", "lr": 1e-4, "betas": [0.5, 0.9],
                                      "penalty": "interpolate", "perturbation": "dragan_code"}),
])
def test_cli_shows_and_accepts_the_method_defaults(capsys, cls, expected):
    import yaml

    from lightning_gans.cli import main

    args = ["fit", f"--model={cls}", "--model.generator=lightning_gans.gan_modules.networks.mlp.MLPGenerator",
            "--model.discriminator=lightning_gans.gan_modules.networks.mlp.MLPDiscriminator", "--data=lightning_gans.datamodules.RingOfGaussians"]
    with pytest.raises(SystemExit):
        main([*args, "--print_config"])
    init = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]
    for player in ("generator_optimizer", "discriminator_optimizer"):
        for key in ("name", "lr", "betas"):
            if key in expected:
                assert init[player][key] == expected[key]
    for key in ("n_critic", "clip_value", "penalty_weight", "penalty", "perturbation"):
        if key in expected:
            assert init[key] == expected[key]
    with pytest.raises(SystemExit):
        main([*args, "--model.init_args.n_critic=2", "--print_config"])
    assert yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]["n_critic"] == 2


@pytest.mark.parametrize("config", sorted(
    f"configs/{data}_{method}.yaml" for data in ("ring8", "grid25", "digits")
    for method in ("wgan", "wgan_gp", "nsgan_gp", "dragan_ns")))
def test_config_parses_and_names_its_step_budget(capsys, config):
    import yaml

    from lightning_gans.cli import main

    with pytest.raises(SystemExit):
        main(["fit", "--config", config, "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["max_steps"] > 0
    assert printed["model"]["class_path"].split(".")[-1] in ("WGAN", "WGANGP", "NSGANGP")
