"""Exact resume: a run stopped at step k and resumed from its checkpoint ends with the weights of the uninterrupted run.

The uninterrupted run writes the checkpoints itself (mid-epoch and mid critic cycle, after the last
batch of an epoch, at the end of an epoch), so one fit gives both the reference weights and the
points to resume from.  Each resumed run starts from a different global seed: only what the
checkpoint restores (weights, optimizers, counters, RNG, the data position) can make it match.
"""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402
from lightning_gans.datamodules.resumable import ResumableDataLoader  # noqa: E402

BATCHES = 16  # 6 batches an epoch: the runs end inside the third epoch
MID_EPOCH, LAST_OF_EPOCH = 3, 6  # batches after which checkpoints are written (mid critic cycle for n_critic=2)


def steps_for(module: pl.LightningModule, batches: int) -> int:
    """Lightning's global_step (optimizer steps) after ``batches`` training batches."""
    if type(module).__name__ == "AlphaGAN":
        return 4 * batches
    return batches + batches // module.n_critic


class SaveAt(pl.Callback):
    """Write checkpoints after the given (global) batch numbers and at the end of epoch 0."""

    def __init__(self, directory: Path, batches: tuple[int, ...]) -> None:
        self.directory, self.batches = directory, batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        done = trainer.fit_loop.total_batch_idx + 1
        if done in self.batches:
            trainer.save_checkpoint(self.directory / f"batch{done}.ckpt")

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == 0:
            trainer.save_checkpoint(self.directory / "epoch_end0.ckpt")


def state(module: pl.LightningModule) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def assert_same_weights(expected: dict, module: pl.LightningModule) -> None:
    actual = module.state_dict()
    assert expected.keys() == actual.keys()
    different = [name for name in expected if not torch.equal(expected[name], actual[name])]
    assert not different, f"differ after resume: {different}"


def resume(method: str, checkpoint: Path, max_steps: int, seed: int = 1234, **options) -> pl.LightningModule:
    pl.seed_everything(seed, verbose=False)  # anything but the original seed
    module = scale_methods.build(method, **options)
    trainer = scale_methods.trainer(max_steps=max_steps)
    trainer.fit(module, datamodule=scale_methods.ring(), ckpt_path=checkpoint)  # torch's weights_only=True
    assert trainer.global_step == max_steps
    return module


@pytest.mark.parametrize("method", list(scale_methods.METHODS))
def test_resume_matches_the_uninterrupted_run(method, tmp_path):
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build(method)
    total = steps_for(module, BATCHES)
    trainer = scale_methods.trainer(max_steps=total, callbacks=[SaveAt(tmp_path, (MID_EPOCH, LAST_OF_EPOCH))])
    trainer.fit(module, datamodule=scale_methods.ring())
    assert trainer.global_step == total
    reference, generator_steps = state(module), module.generator_steps

    for name in ("batch3", "batch6", "epoch_end0"):
        resumed = resume(method, tmp_path / f"{name}.ckpt", total)
        assert resumed.generator_steps == generator_steps, name
        assert_same_weights(reference, resumed)

    # a run that max_steps stopped mid-epoch (its last.ckpt is written at the epoch's end), continued to the same total
    pl.seed_everything(0, verbose=False)
    stopped = scale_methods.build(method)
    last = ModelCheckpoint(dirpath=tmp_path / "stopped", save_last=True, save_top_k=0)
    scale_methods.trainer(max_steps=steps_for(stopped, 10), callbacks=[last], enable_checkpointing=True).fit(
        stopped, datamodule=scale_methods.ring())
    assert_same_weights(reference, resume(method, tmp_path / "stopped" / "last.ckpt", total))


def test_generator_ema_and_n_critic_counters_resume_exactly(tmp_path):
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("gan_k2", ema_decay=0.9, ema_start_step=2)
    total = steps_for(module, BATCHES)
    trainer = scale_methods.trainer(max_steps=total, callbacks=[SaveAt(tmp_path, (MID_EPOCH,))])
    trainer.fit(module, datamodule=scale_methods.ring())
    checkpoint = torch.load(tmp_path / "batch3.ckpt")
    counters = checkpoint["adversarial_counters"]  # 3 batches with n_critic=2: D, D+G, D
    assert (counters["generator_steps"], counters["discriminator_steps_since_generator_step"]) == (1, 1)
    assert any(key.startswith("generator_ema.") for key in checkpoint["state_dict"])
    assert_same_weights(state(module), resume("gan_k2", tmp_path / "batch3.ckpt", total, ema_decay=0.9,
                                              ema_start_step=2))


def test_loader_replays_the_interrupted_draw_and_skips_what_was_trained_on():
    datamodule = scale_methods.ring()
    datamodule.setup("fit")
    first = datamodule.train_dataloader()
    epoch0 = [labels for _, labels in first]
    iterator = iter(first)  # epoch 1: stop after two batches
    epoch1_start = [next(iterator)[1] for _ in range(2)]
    saved = first.state_dict()
    assert saved["epoch"] == 1 and saved["batches_done"] == 2
    epoch1_rest = [labels for _, labels in iterator]

    fresh = scale_methods.ring()
    fresh.setup("fit")
    fresh.load_state_dict(datamodule.state_dict())
    loader = fresh.train_dataloader()
    assert isinstance(loader, ResumableDataLoader)
    loader.load_state_dict(saved)
    replay = [labels for _, labels in loader]
    assert len(replay) == len(epoch1_rest) == len(loader) - 2
    assert all(torch.equal(a, b) for a, b in zip(replay, epoch1_rest))
    # then the next epoch is a fresh draw (epoch 2), as in the uninterrupted loader
    epoch2, epoch2_resumed = [labels for _, labels in first], [labels for _, labels in loader]
    assert len(epoch2) == len(epoch2_resumed) == len(loader)
    assert all(torch.equal(a, b) for a, b in zip(epoch2, epoch2_resumed))
    assert not all(torch.equal(a, b) for a, b in zip(epoch0 + epoch1_start, epoch2))


def fit_epochs(method: str, epochs: int, checkpoint=None, seed: int = 0, callbacks=(), **options):
    """``method`` fitted for ``epochs`` epochs (``max_epochs``), from ``checkpoint`` when given."""
    pl.seed_everything(seed, verbose=False)
    module = scale_methods.build(method, **options)
    trainer = scale_methods.trainer(max_epochs=epochs, callbacks=list(callbacks))
    trainer.fit(module, datamodule=scale_methods.ring(), ckpt_path=checkpoint)
    return module, trainer


@pytest.mark.parametrize("method", ["nsgan", "gan_k2"])
def test_a_run_resumed_mid_epoch_under_max_epochs_trains_every_remaining_batch(method, tmp_path):
    """The loader used to keep its spent resumed iterator, so the epoch after a mid-epoch resume had no batch."""
    module, trainer = fit_epochs(method, 3, callbacks=[SaveAt(tmp_path, (MID_EPOCH, LAST_OF_EPOCH, 9))])
    reference, total = state(module), trainer.global_step
    assert total == steps_for(module, 18)
    for name in ("batch3", "batch6", "batch9", "epoch_end0"):
        resumed, resumed_trainer = fit_epochs(method, 3, tmp_path / f"{name}.ckpt", seed=1234)
        assert (resumed_trainer.global_step, resumed_trainer.current_epoch) == (total, 3), name
        assert_same_weights(reference, resumed)


def test_adagan_resumed_in_its_first_stage_trains_its_second_component(tmp_path):
    """An AdaGAN run interrupted in stage 1 used to end with a one-component mixture (stage 2 was an empty epoch)."""
    def adagan_run(checkpoint=None, seed=0, callbacks=()):
        adagan = scale_methods.adagan_callback()
        module, trainer = fit_epochs("nsgan", 2, checkpoint, seed, callbacks=[adagan, *callbacks])
        return adagan, module, trainer

    adagan, module, trainer = adagan_run(callbacks=[SaveAt(tmp_path, (MID_EPOCH,))])
    assert len(adagan.mixture) == 2
    resumed, resumed_module, resumed_trainer = adagan_run(tmp_path / "batch3.ckpt", seed=1234)
    assert resumed_trainer.global_step == trainer.global_step
    assert len(resumed.mixture) == 2 and torch.equal(resumed.mixture.weights, adagan.mixture.weights)
    for original, component in zip(adagan.mixture.components, resumed.mixture.components):
        assert_same_weights(state(original), component)
    assert_same_weights(state(module), resumed_module)


def test_the_epoch_after_a_replay_is_whole_when_the_replay_is_not_read_past_its_last_batch():
    """Lightning takes ``len(loader)`` batches an epoch and never asks the resumed iterator for its end."""
    datamodule = scale_methods.ring()
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    loader.load_state_dict({"base_seed": loader.draws.base_seed, "epoch": 0, "batches_done": 2})
    replay = iter(loader)
    assert len([next(replay) for _ in range(len(loader) - 2)]) == len(loader) - 2
    assert len(list(loader)) == len(loader) and loader.state_dict()["epoch"] == 1
