"""Resuming from Python keeps the optimizer settings the checkpoint trained with (as plain Lightning does) and
says so when the module's differ; the CLI's command line decides; Lightning's ``--optimizer`` is one clear line."""

import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402
from lightning_gans.cli import main  # noqa: E402
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec  # noqa: E402

TRAINED = OptimizerSpec(lr=5e-4, betas=(0.5, 0.9))


class RecordSettings(pl.Callback):
    groups = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):  # after the module's on_train_start
        self.groups = self.groups or [(group["lr"], tuple(group["betas"])) for opt in trainer.optimizers for group in opt.param_groups]


def resume(checkpoint: Path, **module_settings) -> tuple[RecordSettings, pl.LightningModule]:
    module, record = scale_methods.build("nsgan"), RecordSettings()  # the module's defaults: lr 2e-4, betas (0.5, 0.999)
    for name, value in module_settings.items():
        setattr(module, name, value)
    scale_methods.trainer(max_steps=8, callbacks=[record]).fit(module, datamodule=scale_methods.ring(),
                                                               ckpt_path=checkpoint, weights_only=False)
    return record, module


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    trained = scale_methods.build("nsgan", generator_optimizer=TRAINED, discriminator_optimizer=TRAINED)
    trainer = scale_methods.trainer(max_steps=4)
    trainer.fit(trained, datamodule=scale_methods.ring())
    trainer.save_checkpoint(tmp_path / "trained.ckpt")
    return tmp_path / "trained.ckpt"


def test_a_resume_from_python_keeps_the_checkpoints_optimizer_settings_and_names_the_difference(checkpoint):
    with pytest.warns(UserWarning, match=r"the checkpoint's are kept \(module -> checkpoint\): generator_optimizer\.lr "
                                         r"0\.0002 -> 0\.0005, generator_optimizer\.betas \[0\.5, 0\.999\] -> \[0\.5, 0\.9\], "
                                         r"discriminator_optimizer\.lr"):
        record, module = resume(checkpoint)
    assert record.groups == [(5e-4, (0.5, 0.9))] * 2
    assert module.generator_optimizer == TRAINED and module.hparams["discriminator_optimizer"]["lr"] == 5e-4


def test_the_modules_settings_when_asked(checkpoint):
    record, _ = resume(checkpoint, resume_optimizer_settings="module")
    assert record.groups == [(OptimizerSpec().lr, tuple(OptimizerSpec().betas))] * 2


def test_lightnings_optimizer_flag_is_one_line_naming_the_players_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "configs/ring8_gan.yaml", "--optimizer=Adam", "--trainer.max_steps=2"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[0].endswith("--model.init_args.generator_optimizer and --model.init_args.discriminator_optimizer "
                             "(e.g. --model.init_args.generator_optimizer.lr=0.0002; alpha-GAN also has "
                             "encoder_optimizer and code_discriminator_optimizer)") and len(error) == 2
