"""Reloading a trained AdaGAN mixture from its checkpoint: ``load_generator``, and the checkpoint read back
under torch's default ``torch.load(weights_only=True)``."""

from pathlib import Path

import pytest
import torch
import yaml

from lightning_gans.callbacks import AdaGAN
from lightning_gans.cli import main
from lightning_gans.gan_modules import GeneratorMixture, load_generator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """configs/ring8_adagan.yaml through the command line, shrunk to 3 stages of 4 batches: the mixture
    in memory, the run's last checkpoint and the module's generator (a template of the components)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("adagan_run")
    settings = yaml.safe_load((ROOT / "configs" / "ring8_adagan.yaml").read_text())
    settings["trainer"].update(max_epochs=3, default_root_dir=str(directory), logger=False, enable_progress_bar=False)
    settings["trainer"]["callbacks"] = [c for c in settings["trainer"]["callbacks"]
                                        if not c["class_path"].endswith("SampleFigures")]
    settings["trainer"]["callbacks"][0]["init_args"].update(stages=3, classifier_steps=5, eval_samples=100)
    settings["data"]["init_args"].update(n_train=512, n_val=0)
    config = directory / "config.yaml"
    config.write_text(yaml.safe_dump(settings))
    cli = main(["fit", "--config", str(config)])
    torch.set_num_threads(threads)
    adagan = next(c for c in cli.trainer.callbacks if isinstance(c, AdaGAN))
    return adagan.mixture, Path(cli.trainer.checkpoint_callback.last_model_path), cli.model.generator


def same_samples(a: GeneratorMixture, b: GeneratorMixture, seed: int) -> bool:
    return torch.equal(a.sample(1000, torch.Generator().manual_seed(seed)),
                       b.sample(1000, torch.Generator().manual_seed(seed)))


def test_load_generator_returns_the_trained_mixture_with_the_same_samples(trained):
    mixture, path, _ = trained
    loaded = load_generator(path)
    assert isinstance(loaded, GeneratorMixture) and not loaded.training
    assert len(loaded) == 3 and torch.equal(loaded.weights, mixture.weights)
    assert same_samples(loaded, mixture, seed=0)
    # the comparison has power: two seeds give different samples
    assert not torch.equal(loaded.sample(1000, torch.Generator().manual_seed(0)),
                           mixture.sample(1000, torch.Generator().manual_seed(1)))


def test_the_checkpoint_reads_back_under_torch_default_weights_only(trained):
    mixture, path, template = trained
    checkpoint = torch.load(path)  # torch's default: weights_only=True
    rebuilt = GeneratorMixture.from_lightning_checkpoint(checkpoint, template=template)
    assert len(rebuilt) == 3 and not rebuilt.training
    assert same_samples(rebuilt, mixture, seed=2)
