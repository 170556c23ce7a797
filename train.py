"""Train any method on any data set with the Lightning CLI.

    python train.py fit --config configs/ring8_gan.yaml
    python train.py fit --config configs/digits_nsgan.yaml --trainer.max_steps=2000 --seed_everything=1

``--model`` and ``--data`` take any LightningModule / LightningDataModule subclass (short names of
the library's classes work: ``--model=GAN --data=Digits``); the datamodule's ``data_shape`` is
linked into the model, so the networks are built for the data they see.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

import callbacks  # noqa: F401  (registers the library's callbacks for the CLI)
import datamodules  # noqa: F401  (registers the datamodules)
import gan_modules  # noqa: F401  (registers the methods and networks)
import gan_modules.networks  # noqa: F401


# The datamodules serve their held-out split to modules with a validation_step; ours have none.
warnings.filterwarnings("ignore", message=".*val_dataloader.*but have no `validation_step`")


class SaveAndLogConfig(SaveConfigCallback):
    """Besides ``config.yaml`` in the run directory, send the whole resolved config to the loggers
    (W&B shows it as the run's config), so a run can be reproduced from the tracker alone."""

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        config = self.config.as_dict()
        config.pop("config", None)
        for logger in trainer.loggers:
            logger.log_hyperparams({"cli": config})


class GANCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")


def report_outputs(trainer: pl.Trainer) -> None:
    """Tell the user where the run left its checkpoint and pictures."""
    lines = [f"run directory: {Path(trainer.log_dir or trainer.default_root_dir).resolve()}"]
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None:
        path = checkpoint.last_model_path or checkpoint.best_model_path
        if path:
            lines.append(f"checkpoint:    {Path(path).resolve()}")
    for callback in trainer.callbacks:
        directory = getattr(callback, "output_dir", None)
        if directory is not None:
            lines.append(f"{type(callback).__name__}: {Path(directory).resolve()}")
    if trainer.is_global_zero:
        print("\n".join(lines))


def main(args=None) -> GANCLI:
    cli = GANCLI(
        pl.LightningModule,
        pl.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_callback=SaveAndLogConfig,
        save_config_kwargs={"overwrite": True},
        args=args,
    )
    if cli.subcommand == "fit":
        report_outputs(cli.trainer)
    return cli


if __name__ == "__main__":
    main()
