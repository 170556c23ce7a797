"""benchmarks/speed.py compares like with like: its hand-written loop trains exactly what the framework trains."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import speed  # noqa: E402
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator  # noqa: E402

SEED = 7


class RecordBatches(pl.Callback):
    """Seeds the RNG when training starts and keeps every batch the module is given."""

    def __init__(self) -> None:
        self.batches: list[torch.Tensor] = []

    def on_train_start(self, trainer, pl_module):
        torch.manual_seed(SEED)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append(batch[0].clone())


@pytest.mark.parametrize("method_name", ["nsgan", "gan", "wgan", "wgan_gp", "gan_gp", "dragan_ns"])
def test_hand_written_loop_reaches_the_frameworks_weights(method_name):
    method = speed.METHODS[method_name]
    torch.manual_seed(0)
    module = method.build(generator=partial(MLPGenerator, hidden=16),
                          discriminator=partial(MLPDiscriminator, hidden=16), data_shape=(2,))
    data = torch.randn(32 * 12, 2)
    hand = speed.HandWritten(module, method, data, "default", torch.device("cpu"))  # copies the initial weights
    initial = [p.detach().clone() for p in module.generator.parameters()]
    recorder = RecordBatches()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False, callbacks=[recorder])
    trainer.fit(module, datamodule=speed.InMemory(data, batch_size=32))
    assert len(recorder.batches) == 12 and module.generator_steps == 12 // module.n_critic

    torch.manual_seed(SEED)
    for real in recorder.batches:
        hand.step(real)
    for framework, hand_written in ((module.generator, hand.G), (module.discriminator, hand.D)):
        for (name, a), b in zip(framework.named_parameters(), hand_written.parameters()):
            torch.testing.assert_close(b, a, rtol=0, atol=0, msg=f"{method_name}: {name} differs")
    moved = [not torch.equal(a, b) for a, b in zip(module.generator.parameters(), initial)]
    assert any(moved)  # both sides trained: equal weights are not just the initial ones


def test_hand_written_batches_are_one_shuffled_epoch():
    torch.manual_seed(0)
    data = torch.arange(10.0)[:, None]
    batches = list(speed.shuffled_batches(data, 3))
    assert [len(b) for b in batches] == [3, 3, 3]
    seen = torch.cat(batches).flatten()
    assert len(set(seen.tolist())) == 9 and not torch.equal(seen, torch.arange(9.0))
