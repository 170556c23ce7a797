"""The directory of one training run: where its sample pictures and its config go, beside its checkpoints."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl


def run_directory(trainer: pl.Trainer) -> Path:
    """``<save_dir>/<name>/<version>`` of the trainer's first logger, ``default_root_dir`` without one.

    It is the folder ``ModelCheckpoint`` puts ``checkpoints/`` in: ``trainer.log_dir`` for TensorBoard
    and CSV loggers (``.../version_<n>``), and for W&B ``<save_dir>/<project>/<run id>``, where
    ``trainer.log_dir`` would be the ``save_dir`` that every run of a config shares.  Exact on rank 0
    (W&B names its run there), which is the rank that writes pictures and configs.
    """
    if not trainer.loggers:
        return Path(trainer.default_root_dir)
    logger = trainer.loggers[0]
    version = logger.version
    version = version if isinstance(version, str) else f"version_{version}"
    return Path(logger.save_dir or trainer.default_root_dir) / str(logger.name) / version
