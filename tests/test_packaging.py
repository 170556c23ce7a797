"""The wheel, installed beside a user's own Lightning project, imports under one name and trains.

The project has its own ``callbacks/`` and ``datamodules/`` packages (common in Lightning projects);
the library's must not shadow them, nor they the library's.  The wheel is installed with
``--no-deps`` into a virtual environment that sees the packages (torch, lightning) of the interpreter
running the tests, a virtual environment's too (:func:`site_directories`).
"""

import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROJECT_CALLBACKS = '''
import lightning.pytorch as pl

class CountSteps(pl.Callback):
    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, *args):
        self.steps += 1
'''

PROJECT_DATAMODULES = '''
WHOSE = "the project's own datamodules"
'''

PROJECT_SCRIPT = '''
import sys
from pathlib import Path

import lightning.pytorch as pl

import lightning_gans
from callbacks import CountSteps
from datamodules import WHOSE
from lightning_gans.callbacks import SampleFigures
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator

data = RingOfGaussians(n_train=512, n_val=64, batch_size=64)
model = GAN(generator=MLPGenerator(data_shape=(2,), latent_dim=2, hidden=16, n_layers=1),
            discriminator=MLPDiscriminator(data_shape=(2,), hidden=16, n_layers=1), data_shape=(2,))
counter = CountSteps()
trainer = pl.Trainer(max_steps=6,  # optimizer steps: 3 batches of one D and one G step
                     logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=sys.argv[1],
                     callbacks=[counter, SampleFigures(every_n_steps=3, n_samples=64)])
trainer.fit(model, data)
print("library:", Path(lightning_gans.__file__).resolve())
print("project:", WHOSE, counter.steps)
'''


#: What the wheel is built from (copied, so that no stale build/ folder of the checkout leaks into it).
PACKAGE_SOURCES = ["pyproject.toml", "README.md", "lightning_gans", "gan_modules", "datamodules", "callbacks", "configs"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in PACKAGE_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("lightning_gans-*.whl")
    return path


def site_directories() -> list[str]:
    """Where the interpreter running the tests finds its installed packages: its site-packages (a virtual
    environment's when it runs in one; ``venv --system-site-packages`` would give the base interpreter's
    instead) and the user's, when enabled."""
    return [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed, and this interpreter's packages after its own
    (listed in a ``.pth`` file: their directories only, so this checkout's editable install is not among them)."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    own = subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         check=True, capture_output=True, text=True, timeout=300).stdout.strip()
    (Path(own) / "tested_interpreter.pth").write_text("\n".join(site_directories()) + "\n")
    subprocess.run([str(env / "bin" / "pip"), "install", "--no-deps", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    return env


def test_the_wheel_installs_one_top_level_package_with_the_configs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"lightning_gans"}
    assert "lightning_gans/configs/ring8_gan.yaml" in names
    assert "lightning_gans/callbacks/samples.py" in names
    # every module of the checkout's packages is in the wheel (a new subpackage missing from pyproject.toml fails)
    for folder in ("gan_modules", "datamodules", "callbacks"):
        for module in ROOT.joinpath(folder).rglob("*.py"):
            assert f"lightning_gans/{module.relative_to(ROOT).as_posix()}" in names, module


def test_a_project_with_its_own_callbacks_and_datamodules_trains_with_the_library(venv, tmp_path):
    project = tmp_path / "my_project"
    for package, text in {"callbacks": PROJECT_CALLBACKS, "datamodules": PROJECT_DATAMODULES}.items():
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text(text)
    (project / "train_mine.py").write_text(PROJECT_SCRIPT)
    result = subprocess.run([str(venv / "bin" / "python"), "train_mine.py", str(tmp_path / "runs")], cwd=project,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"library: {venv.resolve()}" in result.stdout  # the installed wheel, not this checkout
    assert "project: the project's own datamodules 3" in result.stdout
    assert list((tmp_path / "runs").rglob("samples/step_*.png"))


def test_the_console_command_runs_a_bundled_config_by_name_from_an_empty_directory(venv, tmp_path):
    result = subprocess.run(
        [str(venv / "bin" / "lightning-gans"), "fit", "--config", "ring8_gan", "--trainer.max_steps=4",
         "--data.init_args.n_train=512", "--data.init_args.n_val=64", "--trainer.enable_progress_bar=false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(tmp_path.rglob("last.ckpt")) and list(tmp_path.rglob("config.yaml"))
    assert "checkpoint:" in result.stdout


def test_an_unknown_config_name_lists_the_bundled_ones(venv, tmp_path):
    result = subprocess.run([str(venv / "bin" / "lightning-gans"), "fit", "--config", "ring9_gan"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "no bundled config 'ring9_gan'" in result.stderr and "ring8_gan" in result.stderr
