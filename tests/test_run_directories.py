"""One run, one directory: a run never overwrites another run's config.yaml or checkpoints, with or without a logger."""

from pathlib import Path

import torch

from lightning_gans.callbacks.run_directory import new_version_directory
from lightning_gans.cli import main

SMALL = ["--config", "configs/ring8_nsgan.yaml", "--trainer.max_steps=20", "--trainer.enable_progress_bar=false",
         "--data.init_args.n_train=512", "--data.init_args.n_val=0",
         "--model.init_args.generator.init_args.hidden=16", "--model.init_args.discriminator.init_args.hidden=16"]


def written(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def test_runs_without_a_logger_each_get_a_directory_and_a_resume_leaves_the_first_untouched(tmp_path):
    first = main(["fit", *SMALL, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"])
    assert Path(first.trainer.default_root_dir) == tmp_path / "version_0"
    before = written(tmp_path / "version_0")
    assert {"config.yaml", "checkpoints/last.ckpt"} <= set(before)

    last = tmp_path / "version_0" / "checkpoints" / "last.ckpt"
    second = main(["fit", *SMALL, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}",
                   "--trainer.max_steps=40", "--ckpt_path", str(last)])
    assert Path(second.trainer.default_root_dir) == tmp_path / "version_1"
    assert torch.load(tmp_path / "version_1" / "checkpoints" / "last.ckpt")["global_step"] == 40
    assert "max_steps: 40" in (tmp_path / "version_1" / "config.yaml").read_text()
    assert written(tmp_path / "version_0") == before  # the first run's config and checkpoints, byte for byte


def test_version_directories_continue_after_the_highest_number(tmp_path):
    for name in ("version_0", "version_3", "version_x", "other"):
        (tmp_path / name).mkdir()
    assert new_version_directory(tmp_path) == tmp_path / "version_4"
    assert new_version_directory(tmp_path / "new") == tmp_path / "new" / "version_0"
