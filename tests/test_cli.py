"""The Lightning CLI: a config trains, writes a checkpoint that reloads, and bad input fails clearly."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from lightning_gans.gan_modules import load_generator
from lightning_gans.gan_modules.networks import MLPGenerator
from lightning_gans.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL_RING = ["--data.init_args.n_train=2048", "--data.init_args.n_val=256", "--trainer.enable_progress_bar=false"]


def test_config_trains_in_a_subprocess_and_reports_its_outputs(tmp_path):
    result = subprocess.run(
        [sys.executable, "train.py", "fit", "--config", "configs/ring8_nsgan.yaml", "--trainer.max_steps=60",
         f"--trainer.default_root_dir={tmp_path}", *SMALL_RING],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoints = list(tmp_path.rglob("last.ckpt"))
    pictures = list(tmp_path.rglob("samples/step_*.png"))
    assert len(checkpoints) == 1 and pictures
    assert f"checkpoint:    {checkpoints[0].resolve()}" in result.stdout
    assert str(pictures[0].parent.resolve()) in result.stdout


def test_checkpoint_reloads_to_the_same_samples(tmp_path):
    cli = main(["fit", "--config", "configs/ring8_gan.yaml", "--trainer.max_steps=30",
                f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    assert cli.trainer.global_step == 30
    checkpoint = Path(cli.trainer.checkpoint_callback.last_model_path)
    loaded = load_generator(checkpoint)
    assert type(loaded).__name__ == "GAN" and loaded.generator_loss_name == "minimax"
    torch.manual_seed(123)
    expected = cli.model.cpu().sample(64)
    torch.manual_seed(123)
    assert torch.equal(loaded.sample(64), expected)


def cli_error(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args])
    assert exit_info.value.code != 0
    return capsys.readouterr().err


def test_unknown_model_and_data_are_named_in_the_error(capsys):
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--model=NoSuchGAN")
    assert "NoSuchGAN" in err
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--data=NoSuchData")
    assert "NoSuchData" in err


def test_a_value_of_the_wrong_type_is_rejected(capsys):
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--model.init_args.n_critic=many")
    assert "n_critic" in err


def one_line_error(err):
    """The library's message as the only error line, with the usage hint and no traceback."""
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("Seed set")]
    assert "Traceback" not in err and len(lines) == 2, err
    assert lines[1].startswith("(`") and "--help" in lines[1]
    return lines[0]


def test_a_bad_value_the_module_rejects_is_one_line(capsys, tmp_path):
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--model.init_args.n_critic=-1",
                    f"--trainer.default_root_dir={tmp_path}")
    assert one_line_error(err).endswith("fit: error: n_critic must be at least 1, got -1")


def test_a_data_shape_the_networks_cannot_take(capsys, tmp_path):
    err = cli_error(capsys, "--config", "configs/digits_gan.yaml", "--data=lightning_gans.datamodules.RingOfGaussians",
                    f"--trainer.default_root_dir={tmp_path}")
    assert "(8, 28, 32, 64), got data_shape (2,)" in one_line_error(err)


class OneCoordinateTooMany(MLPGenerator):
    """A user's generator that makes points of one coordinate more than the data it is built for."""

    def __init__(self, data_shape: tuple[int, ...], latent_dim: int = 2, hidden: int = 16, n_layers: int = 1):
        super().__init__((data_shape[0] + 1, *data_shape[1:]), latent_dim=latent_dim, hidden=hidden, n_layers=n_layers)


def test_a_generator_that_does_not_make_the_data_is_one_line_before_the_sanity_check(capsys, tmp_path):
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", f"--trainer.default_root_dir={tmp_path}",
                    "--model.init_args.generator=test_cli.OneCoordinateTooMany", *SMALL_RING)
    assert one_line_error(err).endswith("fit: error: the generator (OneCoordinateTooMany) makes samples of shape (3,), "
                                        "but the data have shape (2,)")


def test_a_fit_of_no_steps_is_one_line_before_the_run_writes_anything(capsys, tmp_path):
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--trainer.max_steps", "0",
                    f"--trainer.default_root_dir={tmp_path}")
    assert one_line_error(err).endswith("fit: error: max_steps=0 trains nothing: set the trainer's max_steps to a "
                                        "positive number, or to -1 for no limit")
    assert not any(tmp_path.iterdir())


def test_a_missing_data_directory_is_named(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    err = cli_error(capsys, "--config", "configs/digits_gan.yaml", "--data=lightning_gans.datamodules.MNIST",
                    f"--data.data_dir={missing}", f"--trainer.default_root_dir={tmp_path}")
    assert str(missing) in one_line_error(err)


def test_an_error_outside_the_library_keeps_its_traceback(tmp_path):
    with pytest.raises(MisconfigurationException, match="max_epochs"):  # raised by Lightning's Trainer
        main(["fit", "--config", "configs/ring8_gan.yaml", "--trainer.max_epochs=-5",
              f"--trainer.default_root_dir={tmp_path}"])


class Hook:
    """A class whose instance a checkpoint may hold: unpickling it imports and calls code, as a function does."""


def unsafe_checkpoint(path, held=os.system):
    """A checkpoint-like file that holds ``held`` beside its state, as a malicious file would."""
    torch.save({"state_dict": {}, "hyper_parameters": {}, "hook": held}, path)
    return path


@pytest.mark.parametrize("held, name", [(os.system, f"{os.system.__module__}.system"), (Hook(), f"{__name__}.Hook")])
def test_a_checkpoint_holding_code_is_refused_as_unsafe_with_what_it_holds(tmp_path, held, name):
    refusal = rf"is unsafe to load: it holds the global {re.escape(name)}, which would run code when loaded; only if "
    with pytest.raises(ValueError, match=refusal + r"you trust its source, .*weights_only=False") as info:
        load_generator(unsafe_checkpoint(tmp_path / "unsafe.ckpt", held))
    assert "older" not in str(info.value)


def test_an_unsafe_ckpt_path_is_one_line(capsys, tmp_path):
    unsafe = unsafe_checkpoint(tmp_path / "unsafe.ckpt")
    err = cli_error(capsys, "--config", "configs/ring8_gan.yaml", "--ckpt_path", str(unsafe),
                    f"--trainer.default_root_dir={tmp_path}")
    assert one_line_error(err).endswith(f"fit: error: {unsafe} is unsafe to load: it holds the global "
                                        f"{os.system.__module__}.system, which would run code when loaded; only if "
                                        "you trust its source, read it with torch.load(path, weights_only=False)")


def test_load_generator_rejects_a_corrupt_checkpoint(tmp_path):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        load_generator(broken)
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "missing.ckpt")


def test_the_main_job_ends_with_its_score(capsys, tmp_path):
    cli = main(["fit", "--config", "configs/quickstart.yaml", "--trainer.max_steps=20", "--trainer.logger=false",
                "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}"])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("score:")]
    metrics = cli.trainer.callback_metrics
    for name in ("digits_classes_covered", "digits_label_kl_to_uniform", "digits_frechet_distance"):
        assert f"{name} {float(metrics['eval/' + name]):.4g}" in line
    assert line.endswith("(step 20)") and "seconds" not in line and "n_samples" not in line
