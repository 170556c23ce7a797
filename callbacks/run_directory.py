"""The directory of one training run: where its sample pictures and its config go, beside its checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import lightning.pytorch as pl


def run_directory(trainer: pl.Trainer) -> Path:
    """``<save_dir>/<name>/<version>`` of the trainer's first logger, ``default_root_dir`` without one
    (which the CLI makes a new :func:`new_version_directory` for each run).

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


#: where the CLI's process hands a run directory to the processes Lightning's DDP launcher starts
RUN_DIRECTORY_VARIABLE = "LIGHTNING_GANS_RUN_DIRECTORY"


def new_version_directory(root: str | Path) -> Path:
    """``<root>/version_<n>`` with the first ``n`` after every existing ``version_*`` folder, as Lightning's
    CSV and TensorBoard loggers number their runs; so a run without a logger gets its own directory too.

    DDP ranks that Lightning's launcher started (``LOCAL_RANK`` > 0) take the directory rank 0 chose.
    """
    if os.environ.get("LOCAL_RANK", "0") != "0" and os.environ.get(RUN_DIRECTORY_VARIABLE):
        return Path(os.environ[RUN_DIRECTORY_VARIABLE])
    root = Path(root)
    numbers = [int(path.name[len("version_"):]) for path in root.glob("version_*")
               if path.name[len("version_"):].isdigit()]
    directory = root / f"version_{max(numbers, default=-1) + 1}"
    os.environ[RUN_DIRECTORY_VARIABLE] = str(directory)
    return directory
