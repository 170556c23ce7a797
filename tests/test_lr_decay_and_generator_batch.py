"""The settings of the papers' CIFAR-10 experiments: learning rates decayed linearly to 0 over the generator steps
(Gulrajani et al. 2017's gan_cifar_resnet.py; Miyato et al. 2018), and a generator batch other than the
discriminator's (128 against 64), through fit, checkpoint and resume."""

import pytest
import torch

from lightning_gans.gan_modules import WGANGP, OptimizerSpec
from tiny import LinearDiscriminator, LinearGenerator, loader, make_trainer

LR = 1e-3


class RecordingWGANGP(WGANGP):
    """Records each step's learning rates (both players) and the generator step's batch of fakes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rates, self.fake_batches = [], []

    def discriminator_loss(self, real, fake):
        self.rates.append(("D", self.generator_steps, [o.param_groups[0]["lr"] for o in self.optimizers()]))
        return super().discriminator_loss(real, fake)

    def generator_loss(self, fake, real):
        self.rates.append(("G", self.generator_steps, [o.param_groups[0]["lr"] for o in self.optimizers()]))
        self.fake_batches.append(fake.size(0))
        return super().generator_loss(fake, real)


def build(**kwargs):
    spec = OptimizerSpec(name="adam", lr=LR, betas=(0.0, 0.9))
    return RecordingWGANGP(LinearGenerator, LinearDiscriminator, n_critic=2, generator_optimizer=spec,
                           discriminator_optimizer=spec, **kwargs)


def test_every_step_before_generator_step_t_has_the_rate_lr_times_1_minus_t_over_T():
    torch.manual_seed(0)
    module = build(lr_decay_steps=4)
    make_trainer(max_steps=15).fit(module, loader(12))  # 5 cycles of 2 D steps and a G step
    assert len(module.rates) == 15
    for player, t, rates in module.rates:  # the reference code: LR * max(0, 1 - iteration / ITERS)
        assert rates == pytest.approx([LR * max(0.0, 1 - t / 4)] * 2), (player, t)
    assert module.rates[-1][2] == [0.0, 0.0]


def test_without_decay_the_rates_stay():
    module = build()
    make_trainer(max_steps=6).fit(module, loader(4))
    assert {tuple(rates) for _, _, rates in module.rates} == {(LR, LR)}


def test_the_generator_draws_its_own_batch_size():
    module = build(generator_batch_size=16)
    make_trainer(max_steps=6).fit(module, loader(4, batch_size=8))  # discriminator batches of 8
    assert module.fake_batches == [16, 16]


@pytest.mark.parametrize("kwargs, message", [({"lr_decay_steps": 0}, "lr_decay_steps must be at least 1"),
                                             ({"generator_batch_size": 3, "packing": 2}, "multiple of packing"),
                                             ({"generator_batch_size": 0}, "positive multiple")])
def test_bad_settings_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


@pytest.mark.parametrize("settings", ["checkpoint", "module"])
def test_a_resumed_run_continues_the_decay(tmp_path, settings):
    torch.manual_seed(0)
    whole = build(lr_decay_steps=5)
    make_trainer(max_epochs=2).fit(whole, loader(6))  # 3 generator steps an epoch
    torch.manual_seed(0)
    first = build(lr_decay_steps=5)
    trainer = make_trainer(max_epochs=1)
    trainer.fit(first, loader(6))
    trainer.save_checkpoint(tmp_path / "half.ckpt")
    torch.manual_seed(0)
    second = build(lr_decay_steps=5)
    second.resume_optimizer_settings = settings
    make_trainer(max_epochs=2).fit(second, loader(6), ckpt_path=tmp_path / "half.ckpt")
    assert second.rates == whole.rates[len(first.rates):]
