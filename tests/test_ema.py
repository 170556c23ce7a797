"""The generator's exponential moving average (``ema_decay``): hand-computed values, used by ``sample()``."""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402


class RecordGenerator(pl.Callback):
    """The generator's parameters after every batch (one generator step a batch with n_critic=1)."""

    def __init__(self) -> None:
        self.weights: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.weights.append([p.detach().clone() for p in pl_module.generator.parameters()])


def test_average_after_k_steps_matches_a_hand_computation():
    pl.seed_everything(0, verbose=False)
    decay, start = 0.75, 2
    module = scale_methods.build("nsgan", ema_decay=decay, ema_start_step=start)
    initial = [p.detach().clone() for p in module.generator.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(initial, module.generator_ema.shadow.parameters()))
    record = RecordGenerator()
    scale_methods.trainer(max_steps=2 * 5, callbacks=[record]).fit(module, datamodule=scale_methods.ring())
    assert module.generator_steps == 5 and len(record.weights) == 5
    # steps 0 and 1 (< start) copy the weights, steps 2, 3, 4 average
    expected = record.weights[start - 1]
    for weights in record.weights[start:]:
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights)]
    shadow = list(module.generator_ema.shadow.parameters())
    for e, s, w in zip(expected, shadow, record.weights[-1]):
        assert torch.allclose(s, e, atol=1e-7, rtol=0)
        assert not torch.allclose(s, w)  # the average lags the generator
    assert not any(p.requires_grad for p in shadow)
    optimised = {id(p) for group in module.optimizers()[0].optimizer.param_groups for p in group["params"]}
    assert optimised.isdisjoint(id(p) for p in shadow)


def test_sample_uses_the_average_when_on():
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("nsgan", ema_decay=0.9)
    with torch.no_grad():
        for p in module.generator.parameters():
            p.add_(1.0)  # the generator moves away from its average
    torch.manual_seed(3)
    z = module.sample_latent(8)
    torch.manual_seed(3)
    samples = module.sample(8)
    assert module.sampling_generator is module.generator_ema.shadow
    assert torch.equal(samples, module.generator_ema.shadow(z))
    assert not torch.allclose(samples, module.generator(z))
    off = scale_methods.build("nsgan")
    assert off.generator_ema is None and off.sampling_generator is off.generator


def test_reset_networks_restarts_the_average_from_the_new_generator():
    module = scale_methods.build("nsgan", ema_decay=0.9)
    with torch.no_grad():
        for p in module.generator_ema.shadow.parameters():
            p.fill_(5.0)
    module.reset_networks()
    assert all(torch.equal(a, b) for a, b in zip(module.generator.parameters(), module.generator_ema.shadow.parameters()))


@pytest.mark.parametrize("options, message", [({"ema_decay": 1.0}, "decay"), ({"ema_decay": 0.9, "ema_start_step": -1}, "start_step")])
def test_bad_ema_settings_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        scale_methods.build("nsgan", **options)
