"""Checkpoints back into Python the Lightning way, under torch's default ``weights_only=True``:
``Method.load_from_checkpoint`` and ``load_generator`` for networks given as instances, classes,
``functools.partial``\\ s and the CLI's class paths, including a checkpoint of a user's own script."""

import subprocess
import sys
import textwrap
from functools import partial

import pytest
import torch

from lightning_gans.gan_modules import WGANGP, GAN, OptimizerSpec, load_generator
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator
from tiny import LinearDiscriminator, LinearGenerator, loader, make_trainer


def train_and_save(module, path):
    trainer = make_trainer(max_steps=6)
    trainer.fit(module, loader(4))
    trainer.save_checkpoint(path)
    return path


def same_samples(a, b, n=16):
    torch.manual_seed(7)
    first = a.sample(n)
    torch.manual_seed(7)
    return torch.equal(first, b.sample(n))


def test_networks_given_as_instances_load_when_passed_again(tmp_path):
    module = WGANGP(LinearGenerator(), LinearDiscriminator(), generator_optimizer=OptimizerSpec(lr=3e-4))
    path = train_and_save(module, tmp_path / "instances.ckpt")
    assert torch.load(path)["hyper_parameters"]["generator_optimizer"]["lr"] == 3e-4  # plain data
    loaded = WGANGP.load_from_checkpoint(path, generator=LinearGenerator(), discriminator=LinearDiscriminator())
    assert loaded.generator_optimizer == OptimizerSpec(lr=3e-4)
    assert same_samples(module, loaded)
    with pytest.raises(ValueError, match=r"WGANGP\.load_from_checkpoint\(path, generator=\.\.\., discriminator=\.\.\.\)"):
        load_generator(path)
    with pytest.raises(TypeError, match=r"does not store how to build discriminator .* load with "
                                        r"WGANGP\.load_from_checkpoint\(path, discriminator=\.\.\.\)$"):
        WGANGP.load_from_checkpoint(path, generator=LinearGenerator())  # was Python's bare "missing 1 required ..."


def test_networks_given_as_instances_are_never_copied_into_the_hyperparameters(recwarn):
    from lightning_gans.gan_modules import AlphaGAN

    module = AlphaGAN(LinearGenerator(), LinearDiscriminator(), encoder=torch.nn.Linear(2, 2),
                      code_discriminator=LinearDiscriminator(), lambda_rec=2.0)
    assert not [w for w in recwarn if "is an instance of `nn.Module`" in str(w.message)]  # Lightning's warning
    assert not set(AlphaGAN.network_arguments) & (set(module.hparams) | set(module._hparams_initial))
    assert module.hparams["lambda_rec"] == 2.0


def test_networks_given_as_classes_and_partials_rebuild_from_the_checkpoint(tmp_path):
    module = GAN(partial(MLPGenerator, latent_dim=3, hidden=8, n_layers=2), MLPDiscriminator)
    path = train_and_save(module, tmp_path / "factories.ckpt")
    hparams = torch.load(path)["hyper_parameters"]
    assert hparams["generator"] == {"class_path": "lightning_gans.gan_modules.networks.mlp.MLPGenerator",
                                    "init_args": {"latent_dim": 3, "hidden": 8, "n_layers": 2}}
    for loaded in (GAN.load_from_checkpoint(path), load_generator(path)):
        assert isinstance(loaded, GAN) and loaded.latent_dim == 3
        assert same_samples(module, loaded)


def test_a_factory_without_a_class_path_is_named_in_the_error(tmp_path):
    module = GAN(lambda shape: LinearGenerator(shape), LinearDiscriminator)
    path = train_and_save(module, tmp_path / "lambda.ckpt")
    assert "generator" not in torch.load(path)["hyper_parameters"]
    with pytest.raises(ValueError, match=r"GAN\.load_from_checkpoint\(path, generator=\.\.\.\)"):
        load_generator(path)
    assert same_samples(module, GAN.load_from_checkpoint(path, generator=LinearGenerator()))


USER_NETWORKS = '''
from torch import nn

class RingGenerator(nn.Module):
    def __init__(self, data_shape, hidden=16):
        super().__init__()
        self.latent_dim = 4
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, data_shape[0]))

    def forward(self, z):
        return self.net(z)
'''

USER_SCRIPT = '''
import functools
import lightning.pytorch as pl
from torch import nn
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN, OptimizerSpec
from user_networks import RingGenerator

discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Flatten(0))
model = GAN(functools.partial(RingGenerator, hidden=12), discriminator, generator_loss="non_saturating",
            generator_optimizer=OptimizerSpec(lr=1e-3))
trainer = pl.Trainer(max_steps=20, default_root_dir="run", logger=False, enable_progress_bar=False,
                     enable_model_summary=False)
trainer.fit(model, RingOfGaussians(n_train=512, n_val=0, batch_size=64))
print(trainer.checkpoint_callback.best_model_path)
'''


def test_a_checkpoint_of_a_users_own_lightning_script(tmp_path, monkeypatch):
    (tmp_path / "user_networks.py").write_text(USER_NETWORKS)
    (tmp_path / "train_mine.py").write_text(USER_SCRIPT)
    result = subprocess.run([sys.executable, "train_mine.py"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    path = tmp_path / result.stdout.strip().splitlines()[-1]
    monkeypatch.syspath_prepend(str(tmp_path))
    import user_networks  # noqa: F401  (the user's classes are imported before loading, as with any checkpoint)

    with pytest.raises(ValueError, match=r"discriminator=\.\.\."):
        load_generator(path)
    discriminator = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1),
                                        torch.nn.Flatten(0))
    loaded = GAN.load_from_checkpoint(path, discriminator=discriminator)
    assert type(loaded.generator).__name__ == "RingGenerator" and loaded.generator.net[0].out_features == 12
    assert loaded.generator_optimizer.lr == 1e-3 and loaded.global_step == 0
    assert loaded.sample(5).shape == (5, 2)
    state = torch.load(path)["state_dict"]
    assert torch.equal(loaded.generator.net[0].weight, state["generator.net.0.weight"])


def test_a_class_that_is_not_imported_is_refused(tmp_path):
    module = GAN(LinearGenerator(), LinearDiscriminator())
    path = train_and_save(module, tmp_path / "renamed.ckpt")
    checkpoint = torch.load(path)
    checkpoint[GAN.CHECKPOINT_CLASS_KEY] = "some_unimported_package.Method"
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match="some_unimported_package.Method.*not an imported subclass"):
        load_generator(path)


def test_optimizer_settings_round_trip_through_plain_data():
    spec = OptimizerSpec(name="rmsprop", lr=5e-5, betas=(0.0, 0.9))
    assert OptimizerSpec.coerce(spec.as_dict()) == spec
    with pytest.raises(ValueError, match=r"unknown OptimizerSpec fields \['learning_rate'\]"):
        OptimizerSpec.coerce({"learning_rate": 1e-3})
