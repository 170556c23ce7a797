"""``validate``, ``test`` and ``predict`` on a checkpoint: Lightning's own subcommands score and sample it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lightning_gans.cli import main
from lightning_gans.gan_modules import load_generator

ROOT = Path(__file__).resolve().parents[1]
SMALL_RING = ["--data.init_args.n_train=2048", "--data.init_args.n_val=256", "--trainer.enable_progress_bar=false"]


@pytest.fixture(scope="module")
def ema_checkpoint(tmp_path_factory) -> Path:
    """A short ring8 NS-GAN run whose generator has a moving average (so sample() is not the raw generator)."""
    root = tmp_path_factory.mktemp("ema_run")
    cli = main(["fit", "--config", "configs/ring8_nsgan.yaml", "--trainer.max_steps=40", "--model.init_args.ema_decay=0.9",
                f"--trainer.default_root_dir={root}", *SMALL_RING])
    return Path(cli.trainer.checkpoint_callback.last_model_path)


def run_cli(subcommand, checkpoint, *args):
    """``subcommand`` on ``checkpoint`` with the config its run saved (the command line of that run)."""
    config = checkpoint.parents[1] / "config.yaml"
    result = subprocess.run([sys.executable, "train.py", subcommand, "--config", str(config), "--ckpt_path",
                             str(checkpoint), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_validate_prints_and_logs_the_datas_metrics_in_a_subprocess(ema_checkpoint, tmp_path):
    stdout = run_cli("validate", ema_checkpoint, f"--trainer.default_root_dir={tmp_path}")
    printed = dict(re.findall(r"^\s*((?:eval|val)/\w+)\s+(\S+)\s*$", stdout, flags=re.M))
    assert {"eval/modes_captured", "eval/high_quality_fraction", "val/discriminator_real"} <= printed.keys()
    assert 0 <= float(printed["eval/modes_captured"]) <= 8 and float(printed["eval/n_samples"]) == 2500
    logged = next(tmp_path.rglob("metrics.csv")).read_text()
    assert "eval/modes_captured" in logged.splitlines()[0]


def test_test_scores_the_held_out_split(ema_checkpoint, tmp_path):
    cli = main(["test", "--config", "configs/ring8_nsgan.yaml", "--model.init_args.ema_decay=0.9", "--ckpt_path",
                str(ema_checkpoint), f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    metrics = cli.trainer.callback_metrics
    assert {"eval/modes_captured", "test/discriminator_real", "test/discriminator_fake"} <= metrics.keys()


def test_predict_writes_the_sampling_generators_samples_in_a_subprocess(ema_checkpoint, tmp_path):
    stdout = run_cli("predict", ema_checkpoint, "--data.init_args.n_predict=300", f"--trainer.default_root_dir={tmp_path}")
    directory = Path(re.search(r"^samples:\s+(\S+)", stdout, flags=re.M).group(1))
    samples = torch.load(directory / "samples.pt")
    assert samples.shape == (300, 2) and (directory / "samples.png").stat().st_size > 0
    module = load_generator(ema_checkpoint)
    codes = module.latent_codes(torch.arange(300))
    assert torch.equal(samples, module.generator_ema.shadow(codes))  # the moving average, ...
    assert not torch.equal(samples, module.generator(codes))  # ... not the raw generator


def test_a_samples_noise_depends_on_its_index_only(ema_checkpoint):
    module = load_generator(ema_checkpoint)
    indices = torch.arange(10)
    whole = module.predict_step(indices, 0)
    in_pieces = torch.cat([module.predict_step(indices[:3], 0), module.predict_step(indices[3:], 1)])
    assert torch.allclose(whole, in_pieces, atol=1e-6)
    module.prior = "uniform"
    codes = module.latent_codes(torch.arange(2000))
    assert codes.abs().max() < 1 and abs(codes.mean()) < 0.05 and abs(codes.var() - 1 / 3) < 0.02
