"""A module fitted again by a new Trainer (a notebook, a fine-tuning script) continues from its weights.

Its training counters restart with the new trainer's ``global_step`` (as Lightning restarts the
optimizers): the second fit trains exactly as a fresh module holding the first fit's weights would.
Before, every penalty method crashed in the second fit (``generator_steps`` outlived the trainer's
``global_step``, giving a negative discriminator step), and the other methods kept a critic cycle and
EMA schedule that no longer matched the trainer's steps.
"""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402

STEPS = 17  # optimizer steps: not a whole number of critic cycles or epochs, so a count left over would show


def fit(module, steps, callbacks=()):
    pl.seed_everything(7, verbose=False)
    trainer = scale_methods.trainer(max_steps=steps, callbacks=list(callbacks))
    trainer.fit(module, datamodule=scale_methods.ring())
    return trainer


def weights(module):
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


@pytest.mark.parametrize("method", list(scale_methods.METHODS))
def test_a_second_fit_trains_as_a_fresh_module_with_the_same_weights(method):
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build(method, ema_decay=0.9, ema_start_step=2)
    fit(module, STEPS)
    fresh = scale_methods.build(method, ema_decay=0.9, ema_start_step=2)
    fresh.load_state_dict(weights(module))

    second, reference = fit(module, STEPS), fit(fresh, STEPS)
    assert second.global_step == reference.global_step >= STEPS
    assert module.generator_steps == fresh.generator_steps > 0
    expected, actual = weights(fresh), weights(module)
    assert [name for name in expected if not torch.equal(expected[name], actual[name])] == []


def test_adagan_fitted_twice_builds_its_mixture_again():
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("nsgan")
    for _ in range(2):
        adagan = scale_methods.adagan_callback()
        pl.seed_everything(7, verbose=False)
        scale_methods.trainer(max_epochs=2, callbacks=[adagan]).fit(module, datamodule=scale_methods.ring())
        assert adagan.stage == 2 and len(adagan.mixture) == 2
