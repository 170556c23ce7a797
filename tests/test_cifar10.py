"""The papers' CIFAR-10 experiments: the configs hold WGAN-GP's (Gulrajani et al. 2017, ``gan_cifar_resnet.py``) and
SN-GAN's (Miyato et al. 2018, ``sn_cifar10_unconditional.yml``) settings, train from the command line on files in
CIFAR-10's pickled-batch format, and ``benchmarks/cifar10.py --fake`` runs end to end on a CPU."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import yaml
from lightning.pytorch.cli import instantiate_class

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import cifar10  # noqa: E402
from lightning_gans.cli import main as cli_main  # noqa: E402
from lightning_gans.datamodules import CIFAR10  # noqa: E402
from lightning_gans.gan_modules.networks import (  # noqa: E402
    SNGANResNetDiscriminator,
    SNGANResNetGenerator,
    WGANGPResNetDiscriminator,
    WGANGPResNetGenerator,
)

ADAM = {"name": "adam", "lr": 2.0e-4, "betas": [0.0, 0.9]}
#: The papers' settings, each from the reference code (the configs' comments name file and variable).
PAPERS = {
    "cifar10_wgan_gp": {
        "class_path": "lightning_gans.gan_modules.WGANGP", "iterations": 100_000, "n_critic": 5,
        "batch_size": 64, "generator_batch_size": 128, "method": {"penalty_weight": 10.0},
        "generator": (WGANGPResNetGenerator, {"latent_dim": 128, "channels": 128}),
        "discriminator": (WGANGPResNetDiscriminator, {"channels": 128}),
    },
    "cifar10_sngan": {
        "class_path": "lightning_gans.gan_modules.ModularGAN", "iterations": 50_000, "n_critic": 5,
        "batch_size": 64, "generator_batch_size": 128, "method": {"loss": "hinge", "penalty": None},
        "generator": (SNGANResNetGenerator, {"latent_dim": 128, "channels": 256}),
        "discriminator": (SNGANResNetDiscriminator, {"channels": 128}),
    },
}


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())


def class_path(cls: type) -> str:
    return "lightning_gans.gan_modules.networks." + cls.__name__


@pytest.mark.parametrize("name", PAPERS)
def test_the_configs_hold_the_papers_settings(name):
    paper, config = PAPERS[name], load(name)
    model = config["model"]
    args = model["init_args"]
    assert model["class_path"] == paper["class_path"]
    assert {key: args[key] for key in paper["method"]} == paper["method"]
    assert args["generator_optimizer"] == ADAM and args["discriminator_optimizer"] == ADAM
    assert args["n_critic"] == paper["n_critic"]
    assert config["data"] == {"class_path": "lightning_gans.datamodules.CIFAR10",
                              "init_args": {"data_dir": "data", "batch_size": paper["batch_size"]}}
    assert args["generator_batch_size"] == paper["generator_batch_size"]
    assert args["lr_decay_steps"] == paper["iterations"]  # linear to 0 over the whole run
    assert config["trainer"]["max_steps"] == paper["iterations"] * (paper["n_critic"] + 1)
    for role in ("generator", "discriminator"):
        cls, init_args = paper[role]
        assert args[role] == {"class_path": class_path(cls), "init_args": init_args}
    for callback in config["trainer"]["callbacks"]:
        instantiate_class((), callback)  # the arguments are the callbacks' own
    callbacks = {c["class_path"].rsplit(".", 1)[1]: c.get("init_args", {}) for c in config["trainer"]["callbacks"]}
    assert callbacks["ModelCheckpoint"]["save_last"] is True
    for every in (callbacks["ModelCheckpoint"]["every_n_train_steps"], callbacks["Evaluation"]["every_n_steps"]):
        assert every % (paper["n_critic"] + 1) == 0  # on whole generator iterations


def test_fake_files_read_as_the_real_cifar10_files(tmp_path):
    folder = cifar10.write_fake_cifar10(tmp_path, images_per_file=8, seed=1)
    with open(folder / "data_batch_3", "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")  # the CIFAR-10 page's own way to read the files
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].dtype.name == "uint8" and batch[b"data"].shape == (8, 3072)
    assert len(batch[b"labels"]) == 8 and all(0 <= label < 10 for label in batch[b"labels"])
    datamodule = CIFAR10(str(tmp_path))
    datamodule.setup()
    assert len(datamodule.train_dataset) == 40 and len(datamodule.val_dataset) == 8
    image, label = datamodule.train_dataset[16]  # the first image of data_batch_3
    assert label == batch[b"labels"][0]
    red_pixel = batch[b"data"][0, 32 + 5]  # the red plane comes first, row-major: row 1, column 5
    assert image[0, 1, 5].item() == pytest.approx(red_pixel / 255 * 2 - 1, abs=1e-6)


class GeneratorCalls(pl.Callback):
    """Records how many latent vectors each training-mode call of the generator got (the module's check of the
    data's shape runs it in eval mode); the test's command line names it."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def on_train_start(self, trainer, pl_module) -> None:
        pl_module.generator.register_forward_hook(self.record)

    def record(self, module, inputs, output) -> None:
        if module.training:
            self.sizes.append(len(inputs[0]))


@pytest.mark.parametrize("name", PAPERS)
def test_each_config_trains_from_the_command_line(name, tmp_path, one_thread):
    cifar10.write_fake_cifar10(tmp_path / "data", images_per_file=8)
    paper, decay_steps = PAPERS[name], load(name)["model"]["init_args"]["lr_decay_steps"]
    cli = cli_main(["fit", "--config", str(ROOT / "configs" / f"{name}.yaml"),
                    f"--data.init_args.data_dir={tmp_path / 'data'}", "--data.init_args.batch_size=4",
                    "--model.init_args.generator_batch_size=8", "--trainer.max_steps=12", "--trainer.logger=false",
                    f"--trainer.default_root_dir={tmp_path / 'runs'}", "--trainer.enable_progress_bar=false",
                    "--trainer.limit_val_batches=0", "--trainer.callbacks=[]",
                    f"--trainer.callbacks+={__name__}.GeneratorCalls"])
    module = cli.model
    assert type(module.generator) is paper["generator"][0]
    assert type(module.discriminator) is paper["discriminator"][0]
    assert cli.trainer.global_step == 12 and module.generator_steps == 2  # 2 x (5 discriminator + 1 generator steps)
    (calls,) = [c for c in cli.trainer.callbacks if isinstance(c, GeneratorCalls)]
    assert calls.sizes == ([4] * 5 + [8]) * 2  # 4 fakes a discriminator step, generator_batch_size a generator step
    for optimizer in cli.trainer.optimizers:  # decayed as lr * (1 - t / T) after t = 2 generator steps
        assert optimizer.param_groups[0]["lr"] == pytest.approx(2.0e-4 * (1 - 2 / decay_steps), rel=1e-9, abs=0)


def run_benchmark(args: list[str], timeout: int) -> str:
    result = subprocess.run([sys.executable, "benchmarks/cifar10.py", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def check_benchmark_output(name: str, out: Path, stdout: str, batch_size: int) -> None:
    row = re.search(rf"^\| {name} \(fake data\) \| 32-true \| 1 \| ([0-9.e+-]+) \| ([0-9.e+-]+) \| n/a \| "
                    rf"(\S+)(?: ± \S+)? \((.+?)\) \| ([0-9.]+) \((.+?)\) \| ", stdout, re.M)
    assert row, stdout[-3000:]
    iterations_per_second, images_per_second = float(row[1]), float(row[2])
    assert iterations_per_second > 0
    assert images_per_second == pytest.approx(iterations_per_second * 5 * batch_size, rel=0.01)
    paper = cifar10.PAPERS[name]
    assert row[4] == f"{paper.inception_score[0]:g} ± {paper.inception_score[1]:g}"
    # --fake puts a random 1008-class layer on the pool3-only weights, so the IS goes through the pipeline too
    assert "the IS from a random 1008-class layer" in stdout and float(row[3].split(" ")[0]) > 1.0  # a finite IS
    record = json.loads((out / "record.json").read_text())
    assert [r["generator_iterations"] for r in record["evaluations"]] == [1, 2]
    assert [r["optimizer_steps"] for r in record["evaluations"]] == [6, 12]
    assert all(math.isfinite(r["fid"]) and r["n_samples"] == record["n_eval"] for r in record["evaluations"])
    assert float(row[5]) == pytest.approx(record["evaluations"][-1]["fid"], abs=0.01)
    assert (out / "record.md").read_text().count("(fake data)") == 1 and (out / "scores.png").stat().st_size > 0
    ran = yaml.safe_load((out / "config.yaml").read_text())
    assert ran["trainer"]["max_steps"] == 12
    assert ran["model"]["init_args"]["lr_decay_steps"] == PAPERS[name]["iterations"]  # the paper's schedule


@pytest.mark.parametrize("name", [pytest.param(name, marks=[pytest.mark.slow] if name == "cifar10_wgan_gp" else [])
                                  for name in PAPERS])  # one in the default suite: the same pipeline, ~40 s each
def test_fake_benchmark_with_small_batches_prints_speed_and_scores(name, tmp_path):
    stdout = run_benchmark(["--fake", "--config", f"configs/{name}.yaml", "--batch-size", "8",
                            "--generator-batch-size", "16", "--n-eval", "16", "--out", str(tmp_path)], timeout=300)
    check_benchmark_output(name, tmp_path, stdout, batch_size=8)


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPERS)
def test_fake_benchmark_at_the_papers_batch_sizes_finishes_on_a_cpu(name, tmp_path):
    """About 2 minutes a config on one thread: two generator iterations at batches of 64 and 128, N = 64."""
    stdout = run_benchmark(["--fake", "--config", f"configs/{name}.yaml", "--out", str(tmp_path)], timeout=600)
    check_benchmark_output(name, tmp_path, stdout, batch_size=64)


def test_the_benchmark_shortens_a_run_without_changing_its_schedule():
    """``--iterations`` sets max_steps and leaves lr_decay_steps; the clock precedes the evaluation it times."""
    args = cifar10.parse_args(["--config", str(ROOT / "configs" / "cifar10_sngan.yaml"), "--iterations", "7",
                               "--eval-every", "3", "--minutes", "90.5", "--out", "/nonexistent"])
    config = cifar10.run_config(args, load("cifar10_sngan"), Path("somewhere"), "weights.pth", ["fid"])
    trainer = config["trainer"]
    assert trainer["max_steps"] == 7 * 6 and trainer["max_time"] == "00:01:30:30" and trainer["limit_val_batches"] == 0
    assert config["model"]["init_args"]["lr_decay_steps"] == 50_000
    assert [c["class_path"] for c in trainer["callbacks"]] == [
        "lightning.pytorch.callbacks.ModelCheckpoint", cifar10.CLOCK, "lightning_gans.callbacks.Evaluation"]
    evaluation = trainer["callbacks"][-1]["init_args"]
    assert evaluation["every_n_steps"] == 18 and evaluation["n_samples"] == cifar10.N_EVAL
    assert config["data"]["init_args"]["data_dir"] == "somewhere"
