"""Checkpoints are named by the step they hold, none overwrites another, and intervals count optimizer steps.

The module logs ``step`` (the loggers' axis) on the batches Lightning logs; Lightning's ModelCheckpoint
names files by a logged ``step`` before ``global_step``, so checkpoints between two logged batches took
the older step's name and overwrote each other.  A GAN batch takes 1 to ``n_critic + 1`` optimizer steps,
so ``global_step`` can jump over the multiples Lightning's ``every_n_train_steps`` waits for.
"""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402
from lightning_gans.callbacks import StepCheckpoint  # noqa: E402

EVERY, TOTAL = 50, 300


def saved_steps(method: str, checkpoint_type: type, directory: Path) -> dict[str, int]:
    """File name -> the ``global_step`` it holds, after ``TOTAL`` optimizer steps checkpointed every ``EVERY``."""
    pl.seed_everything(0, verbose=False)
    trainer = scale_methods.trainer(
        max_steps=TOTAL, enable_checkpointing=True, log_every_n_steps=50, logger=CSVLogger(directory / "logs"),
        callbacks=[checkpoint_type(dirpath=directory, filename="{step}", every_n_train_steps=EVERY, save_top_k=-1)])
    trainer.fit(scale_methods.build(method), datamodule=scale_methods.ring())
    return steps_in(directory)


def steps_in(directory: Path) -> dict[str, int]:
    return {path.name: torch.load(path)["global_step"] for path in directory.glob("*.ckpt")}


@pytest.mark.parametrize("checkpoint_type", [ModelCheckpoint, StepCheckpoint])
def test_each_checkpoint_is_named_by_the_step_it_holds_and_none_is_overwritten(checkpoint_type, tmp_path):
    saved = saved_steps("nsgan", checkpoint_type, tmp_path)  # two optimizer steps a batch, logged every 50 batches
    assert saved == {f"step={step}.ckpt": step for step in range(EVERY, TOTAL + 1, EVERY)}


def test_step_checkpoint_saves_once_every_interval_whatever_the_optimizer_steps_a_batch(tmp_path):
    saved = saved_steps("wgan_gp", StepCheckpoint, tmp_path)  # n_critic 2: batches of 1 and 2 optimizer steps
    assert all(name == f"step={step}.ckpt" for name, step in saved.items())
    steps = sorted(saved.values())
    assert len(steps) == TOTAL // EVERY  # Lightning's ModelCheckpoint saved 4 of the 6 (never at 50 or 200)
    assert all(0 <= step - EVERY * i < 2 for i, step in enumerate(steps, start=1))  # at most one batch late


def test_step_checkpoint_continues_its_intervals_after_a_resume(tmp_path):
    whole = saved_steps("wgan_gp", StepCheckpoint, tmp_path / "whole")
    middle = tmp_path / "whole" / "step=150.ckpt"
    pl.seed_everything(0, verbose=False)
    trainer = scale_methods.trainer(max_steps=TOTAL, enable_checkpointing=True, callbacks=[StepCheckpoint(
        dirpath=tmp_path / "resumed", filename="{step}", every_n_train_steps=EVERY, save_top_k=-1)])
    trainer.fit(scale_methods.build("wgan_gp"), datamodule=scale_methods.ring(), ckpt_path=middle)
    assert steps_in(tmp_path / "resumed") == {name: step for name, step in whole.items() if step > 150}


def test_the_cli_checkpoints_on_the_optimizer_step_clock(tmp_path):
    """A config's ``lightning.pytorch.callbacks.ModelCheckpoint`` (every bundled config has one) becomes a StepCheckpoint."""
    from lightning_gans.cli import main

    cli = main(["fit", "--config", "configs/ring8_wgan_gp.yaml", "--trainer.max_steps=30", "--trainer.logger=false",
                f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false",
                "--data.init_args.n_train=512", "--data.init_args.n_val=0",
                "--trainer.callbacks+=ModelCheckpoint", "--trainer.callbacks.every_n_train_steps=10",
                "--trainer.callbacks.save_top_k=-1", "--trainer.callbacks.filename={step}"])
    checkpoints = cli.trainer.checkpoint_callbacks
    assert len(checkpoints) == 2 and all(type(callback) is StepCheckpoint for callback in checkpoints)
    assert {step for name, step in steps_in(tmp_path / "version_0" / "checkpoints").items() if name != "last.ckpt"} == {10, 21, 30}
