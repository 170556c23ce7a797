"""A user's own project (``tests/own_project``: its own ``callbacks/``, ``datamodules/`` and ``models/``, 2-D moons
in dict batches without known modes, networks whose constructors take no data shape), run as a user runs it:
the console command from the project's directory, and a plain ``Trainer``."""

import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator

import lightning.pytorch as pl
import pytest
import torch

from lightning_gans.gan_modules import GAN, load_generator
from lightning_gans.gan_modules.training.networks import build_network

PROJECT = Path(__file__).parent / "own_project"
NETWORKS = ["--model=GAN", "--model.generator=models.MoonGenerator", "--model.generator.latent_dim=4",
            "--model.generator.hidden=32", "--model.discriminator=models.MoonDiscriminator",
            "--model.discriminator.hidden=32"]
SMALL = ["--data=datamodules.Moons", "--data.n_train=512", "--data.n_val=256", "--trainer.enable_progress_bar=false",
         "--trainer.logger=false"]


def console_command() -> list[str]:
    """The installed ``lightning-gans`` beside this interpreter (a virtual environment's or the base one's)."""
    script = Path(sys.executable).parent / "lightning-gans"
    found = str(script) if script.exists() else shutil.which("lightning-gans")
    assert found, "the console command lightning-gans is not installed"
    return [found]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the project's modules come from cwd
    done = subprocess.run([*console_command(), *args], cwd=cwd, env={**env, "WANDB_MODE": "offline"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project, as a user's checkout: its modules importable only from its own directory."""
    directory = tmp_path_factory.mktemp("user") / "project"
    shutil.copytree(PROJECT, directory)
    return directory


@pytest.fixture(scope="module")
def fitted(project) -> Path:
    run("fit", *NETWORKS, *SMALL, "--trainer.max_steps=40", "--trainer.callbacks+=callbacks.CountBatches",
        "--trainer.default_root_dir=runs", cwd=project)
    return project


@pytest.fixture(scope="module")
def checkpoint(fitted) -> Path:
    """The fit's one checkpoint (the run's directory, as the CLI numbers it: version_0)."""
    (path,) = (fitted / "runs" / "version_0" / "checkpoints").glob("*.ckpt")
    return path


@contextmanager
def importable(project: Path) -> Iterator[None]:
    """The project's own modules importable from this process, as from its directory."""
    sys.path.insert(0, str(project))
    try:
        yield
    finally:
        sys.path.remove(str(project))


def test_the_console_command_fits_the_projects_own_networks_data_and_callback(fitted, checkpoint):
    assert (fitted / "batches.txt").read_text() == "20"  # the project's callback ran: 2 optimizer steps a batch
    with importable(fitted):
        module = load_generator(checkpoint)
    assert type(module.generator).__name__ == "MoonGenerator" and module.generator.latent_dim == 4
    assert module.sample(5).shape == (5, 2)


def test_networks_without_a_data_shape_parameter_get_none_and_the_librarys_get_it_by_keyword():
    from lightning_gans.gan_modules.networks import MLPGenerator

    class Own(torch.nn.Module):
        def __init__(self, latent_dim=3):
            super().__init__()
            self.latent_dim = latent_dim

    assert build_network(partial(Own, latent_dim=5), (2,)).latent_dim == 5
    assert build_network({"class_path": f"{MLPGenerator.__module__}.MLPGenerator", "init_args": {"hidden": 8}},
                         (3,)).data_shape == (3,)
    assert build_network(lambda shape: MLPGenerator(shape, hidden=8), (4,)).data_shape == (4,)
    with pytest.raises(TypeError, match=r"^could not build the generator Own: .*unexpected keyword argument 'widht'"):
        build_network(partial(Own, widht=3), (2,), "generator")


def test_predict_needs_no_predict_dataloader_and_writes_one_file_whatever_the_processes(fitted, checkpoint):
    written = {}
    for name, devices in (("one", []), ("two", ["--trainer.devices=2", "--trainer.strategy=ddp",
                                                "--trainer.accelerator=cpu"])):
        done = run("predict", *NETWORKS, *SMALL, f"--ckpt_path={checkpoint}", f"--trainer.default_root_dir={name}_run",
                   "--trainer.callbacks+=SampleWriter", "--trainer.callbacks.n_samples=300",
                   f"--trainer.callbacks.output_dir={name}", *devices, cwd=fitted)
        assert f"samples:       {(fitted / name).resolve()}" in done.stdout
        assert sorted(path.name for path in (fitted / name).iterdir()) == ["samples.png", "samples.pt"]
        written[name] = torch.load(fitted / name / "samples.pt")
    assert written["one"].shape == (300, 2)
    torch.testing.assert_close(written["two"], written["one"], rtol=0, atol=1e-6)  # row i is sample i in both


def test_a_plain_trainer_predicts_with_the_users_datamodule_and_with_none(fitted, checkpoint):
    with importable(fitted):
        from datamodules import Moons
        from models import MoonDiscriminator, MoonGenerator

        module = GAN(MoonGenerator(latent_dim=4, hidden=32), MoonDiscriminator(hidden=32))
        trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
        module.predict_samples = 50
        with_data = torch.cat(trainer.predict(module, datamodule=Moons(), ckpt_path=checkpoint))
        alone = torch.cat(trainer.predict(module, ckpt_path=checkpoint))
    assert with_data.shape == (50, 2) and torch.equal(with_data, alone)
    assert torch.equal(alone, module.sample_from(module.latent_codes(torch.arange(50))))


def test_gathered_samples_are_put_in_index_order_with_the_distributed_samplers_padding_once():
    from lightning_gans.callbacks.sample_writer import in_index_order

    # two ranks of Lightning's DistributedSampler over 5 indices: rank 0 has 0, 2, 4; rank 1 has 1, 3, 0 (padding)
    indices = torch.tensor([0, 2, 4, 1, 3, 0])
    samples = (indices.float() * 10).unsqueeze(1)
    assert torch.equal(in_index_order(samples, indices), torch.tensor([[0.0], [10.0], [20.0], [30.0], [40.0]]))


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_validate_and_test_print_metrics_that_need_no_modes(fitted, checkpoint, subcommand):
    done = run(subcommand, *NETWORKS, *SMALL, f"--ckpt_path={checkpoint}", f"--trainer.default_root_dir={subcommand}",
               cwd=fitted)
    printed = dict(re.findall(r"^[\s│]*(eval/\S+)[\s│]+(\S+)[\s│]*$", done.stdout, flags=re.M))
    assert {"eval/prdc_precision", "eval/prdc_recall", "eval/prdc_density", "eval/prdc_coverage",
            "eval/mmd_raw"} <= printed.keys(), done.stdout[-2000:]
    assert all(0 <= float(printed[f"eval/prdc_{name}"]) <= 1 for name in ("precision", "recall", "coverage"))


def test_a_plain_trainer_validates_the_users_data_with_the_default_metrics(fitted, checkpoint):
    from lightning_gans.callbacks import Evaluation

    with importable(fitted):
        from datamodules import Moons
        from models import MoonDiscriminator, MoonGenerator

        module = GAN(MoonGenerator(latent_dim=4, hidden=32), MoonDiscriminator(hidden=32))
        trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                             callbacks=[Evaluation(n_samples=256)])
        (metrics,) = trainer.validate(module, datamodule=Moons(n_train=512, n_val=256), ckpt_path=checkpoint)
    assert {"eval/prdc_precision", "eval/prdc_recall", "eval/mmd_raw", "val/discriminator_real"} <= metrics.keys()


def test_a_loss_and_penalty_of_the_projects_own_train_from_yaml_registered_nowhere(project):
    from lightning_gans.gan_modules import ModularGAN
    from lightning_gans.gan_modules.losses import LOSSES, PENALTIES

    registered = (dict(LOSSES), dict(PENALTIES))
    run("fit", "--config=own_loss.yaml", cwd=project)
    (path,) = (project / "own_loss_runs" / "version_0" / "checkpoints").glob("*.ckpt")
    with importable(project):
        from models.losses import drift_penalty, squared_hinge_loss

        module = ModularGAN.load_from_checkpoint(path)  # the dotted paths are its hyper-parameters
        assert torch.load(path, weights_only=True)["global_step"] == 30
    assert (module.hparams["loss"], module.hparams["penalty"]) == ("models.losses.squared_hinge_loss",
                                                                   "models.losses.drift_penalty")
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    d = module.discriminator
    by_hand = squared_hinge_loss(d(real), d(fake))[0] + 0.001 * drift_penalty(d, real, fake)
    assert torch.allclose(module.discriminator_loss(real, fake), by_hand)
    assert torch.allclose(module.generator_loss(fake, real), -d(fake).mean())
    assert (dict(LOSSES), dict(PENALTIES)) == registered


def test_an_unknown_loss_name_is_one_line_naming_the_registered_ones(project):
    done = subprocess.run([*console_command(), "fit", "--config=own_loss.yaml", "--model.loss=models.losses.cubic"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WANDB_MODE": "offline"})
    (line,) = [line for line in done.stderr.splitlines() if "is neither a registered name" in line]
    assert done.returncode != 0 and line.endswith(
        "the loss 'models.losses.cubic' is neither a registered name (minimax, non_saturating, wasserstein, hinge, "
        "least_squares, relativistic_average, relativistic_average_least_squares, relativistic_average_hinge) nor "
        "the dotted path of a function (e.g. my_project.losses.my_loss)")
