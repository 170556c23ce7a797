"""``validate``, ``test`` and ``predict`` of an AdaGAN run score and sample the mixture it trained, not the last component."""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402
from lightning_gans.datamodules import RingOfGaussians  # noqa: E402
from lightning_gans.gan_modules import load_generator  # noqa: E402


class Record(pl.Callback):
    def __init__(self):
        self.samples = {}

    def on_validation_end(self, trainer, pl_module):
        torch.manual_seed(5)
        self.samples["validate"] = pl_module.sample(64)


@pytest.fixture(scope="module")
def adagan_run(tmp_path_factory):
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("nsgan")
    trainer = scale_methods.trainer(max_epochs=2, callbacks=[scale_methods.adagan_callback()])
    trainer.fit(module, datamodule=scale_methods.ring())
    path = tmp_path_factory.mktemp("adagan") / "run.ckpt"
    trainer.save_checkpoint(path)
    return module, path


@pytest.mark.parametrize("with_callback", [False, True])
def test_validate_and_predict_draw_from_the_mixture(adagan_run, with_callback):
    module, path = adagan_run
    mixture = load_generator(path)
    assert len(mixture) == 2
    callbacks = [scale_methods.adagan_callback()] if with_callback else []
    record = Record()
    trainer = scale_methods.trainer(callbacks=[*callbacks, record])
    trainer.validate(module, datamodule=RingOfGaussians(n_train=96, n_val=32, batch_size=16), ckpt_path=path,
                     weights_only=False)
    torch.manual_seed(5)
    assert torch.equal(record.samples["validate"], mixture.sample(64))  # not the last component's samples
    torch.manual_seed(5)
    assert not torch.equal(module.sample(64), mixture.sample(64))  # after validate the module samples its generator

    indices = torch.arange(40)
    (predicted,) = trainer.predict(module, dataloaders=torch.utils.data.DataLoader(indices, batch_size=40),
                                   ckpt_path=path, weights_only=False)
    components = mixture.components_of_indices(indices)
    assert set(components.tolist()) == {0, 1}  # both components drawn
    assert torch.equal(predicted, mixture.sample_from(module.latent_codes(indices), components))
    (in_halves,) = [torch.cat(trainer.predict(module, dataloaders=torch.utils.data.DataLoader(indices, batch_size=20),
                                               ckpt_path=path, weights_only=False))]
    torch.testing.assert_close(in_halves, predicted, rtol=0, atol=1e-6)  # its index decides a sample (up to BLAS rounding)
