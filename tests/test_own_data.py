"""A user's own data: data_shape read from the data, batch formats, and the datamodule contract's errors."""

from functools import partial

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lightning_gans.callbacks import AdaGAN, Evaluation, SampleFigures
from lightning_gans.cli import main
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator
from tiny import make_trainer

IMAGE = (1, 8, 8)


class DictImages(Dataset):
    """Examples as dicts, ``{key: image, "label": 0}``."""

    def __init__(self, key: str = "x", n: int = 32) -> None:
        self.key, self.images = key, torch.rand(n, *IMAGE) * 2 - 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {self.key: self.images[i], "label": 0}


class UserImages(pl.LightningDataModule):
    """A user's datamodule: 8x8 images, no ``data_shape``, no ``train_dataset``; batches ``[x]`` or dicts."""

    def __init__(self, key: str = "", n: int = 32) -> None:
        super().__init__()
        self.key, self.n = key, n

    def train_dataloader(self) -> DataLoader:
        dataset = DictImages(self.key, self.n) if self.key else TensorDataset(torch.rand(self.n, *IMAGE) * 2 - 1)
        return DataLoader(dataset, batch_size=8, shuffle=True)


def image_gan(**options) -> GAN:
    """The user's networks, built for images, given as modules (so the module is not told the shape)."""
    return GAN(MLPGenerator(IMAGE, latent_dim=4, hidden=16, n_layers=1),
               MLPDiscriminator(IMAGE, hidden=16, n_layers=1), **options)


def test_data_shape_is_read_from_the_first_batch_and_sets_what_the_pictures_draw(tmp_path):
    module = image_gan()
    figures = SampleFigures(n_samples=1000, n_images=16, output_dir=str(tmp_path))
    drawn = []
    module.sample = lambda n: drawn.append(n) or GAN.sample(module, n)
    make_trainer(callbacks=[figures]).fit(module, datamodule=UserImages())
    assert module.data_shape == IMAGE
    assert drawn == [16]  # an image grid, not 1,000 samples drawn as for 2-D points


@pytest.mark.parametrize("key", ["x", "image"])
def test_dict_batches_train_with_a_configurable_key(key):
    module = image_gan(batch_key=key)
    before = [p.detach().clone() for p in module.discriminator.parameters()]
    trainer = make_trainer()
    trainer.fit(module, datamodule=UserImages(key=key))
    assert trainer.global_step == 8 and module.data_shape == IMAGE
    assert not all(torch.equal(a, b) for a, b in zip(before, module.discriminator.parameters()))


def test_a_dict_without_the_key_names_its_keys():
    with pytest.raises(ValueError, match=r"keys \['image', 'label'\] and no tensor under the module's batch_key 'x'"):
        make_trainer().fit(image_gan(), datamodule=UserImages(key="image"))


def test_factories_without_data_shape_stop_at_the_first_batch_of_other_data():
    module = GAN(partial(MLPGenerator, hidden=16), partial(MLPDiscriminator, hidden=16))
    with pytest.raises(ValueError, match=r"shape \(1, 8, 8\), but the module's data_shape is \(2,\), the default .*"
                                         r"pass data_shape=\(1, 8, 8\)"):
        make_trainer().fit(module, datamodule=UserImages())


def test_a_generator_that_does_not_make_the_data_is_named():
    module = GAN(MLPGenerator((1, 4, 4), hidden=16), MLPDiscriminator(IMAGE, hidden=16))
    with pytest.raises(ValueError, match=r"generator \(MLPGenerator\) makes samples of shape \(1, 4, 4\), but the data "
                                         r"have shape \(1, 8, 8\)"):
        make_trainer().fit(module, datamodule=UserImages())


def test_the_data_are_checked_before_lightnings_sanity_check_validates():
    module = GAN(MLPGenerator((3,), hidden=16), MLPDiscriminator((2,), hidden=16))
    data = RingOfGaussians(n_train=256, n_val=64, batch_size=32)  # a validation set: the sanity check runs first
    with pytest.raises(ValueError, match=r"generator \(MLPGenerator\) makes samples of shape \(3,\), but the data "
                                         r"have shape \(2,\)"):
        make_trainer(num_sanity_val_steps=2).fit(module, datamodule=data)
    assert module.global_step == 0


def test_the_cli_builds_the_networks_for_a_datamodule_without_data_shape(tmp_path):
    cli = main(["fit", "--model=GAN", "--model.generator=MLPGenerator", "--model.generator.hidden=16",
                "--model.discriminator=MLPDiscriminator", "--model.discriminator.hidden=16",
                "--data=test_own_data.UserImages", "--trainer.max_steps=4", "--trainer.logger=false",
                "--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false",
                f"--trainer.default_root_dir={tmp_path}"])
    assert cli.model.data_shape == IMAGE and cli.model.sample(3).shape == (3, *IMAGE)


# ------------------------------------------------------------------ the callbacks name what they miss
def test_adagan_names_the_missing_train_dataset():
    class WeightsOnly(UserImages):
        def set_sample_weights(self, weights):
            pass

    trainer = make_trainer(max_epochs=2, callbacks=[AdaGAN(stages=2, epochs_per_stage=1)])
    with pytest.raises(ValueError, match=r"AdaGAN\(weights='theory_star'\) needs the datamodule's `train_dataset`, "
                                         r"but WeightsOnly has none"):
        trainer.fit(image_gan(), datamodule=WeightsOnly())


def test_adagan_names_the_missing_set_sample_weights():
    class DatasetOnly(UserImages):
        train_dataset = TensorDataset(torch.zeros(32, *IMAGE))

    trainer = make_trainer(max_epochs=2, callbacks=[AdaGAN(stages=2, epochs_per_stage=1)])
    with pytest.raises(ValueError, match=r"needs the datamodule's `set_sample_weights`, but DatasetOnly has none"):
        trainer.fit(image_gan(), datamodule=DatasetOnly())


def test_evaluation_names_the_missing_val_dataset():
    trainer = make_trainer(callbacks=[Evaluation(metrics=["parzen"], every_n_steps=100)])
    with pytest.raises(ValueError, match=r"parzen metric needs the datamodule's `val_dataset`, but UserImages has none"):
        trainer.fit(image_gan(), datamodule=UserImages())


def test_sample_figures_says_why_the_scatter_has_no_data(tmp_path):
    class UserPoints(pl.LightningDataModule):
        def train_dataloader(self):
            return DataLoader(TensorDataset(torch.randn(16, 2)), batch_size=8)

    module = GAN(MLPGenerator((2,), hidden=16), MLPDiscriminator((2,), hidden=16))
    with pytest.warns(UserWarning, match="datamodule's `train_dataset`, and the run has none"):
        make_trainer(callbacks=[SampleFigures(output_dir=str(tmp_path))]).fit(module, datamodule=UserPoints())
