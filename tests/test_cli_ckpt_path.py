"""``--ckpt_path`` on the command line: the run uses the command line's model, never silently the checkpoint's."""

from pathlib import Path

import pytest
import yaml

from lightning_gans.cli import main

SMALL_RING = ["--data.init_args.n_train=2048", "--data.init_args.n_val=256", "--trainer.enable_progress_bar=false"]


@pytest.fixture(scope="module")
def wgan_gp_checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wgan_gp")
    cli = main(["fit", "--config", "configs/ring8_wgan_gp.yaml", "--trainer.max_steps=12",
                f"--trainer.default_root_dir={root}", *SMALL_RING])
    return Path(cli.trainer.checkpoint_callback.last_model_path)


def test_a_checkpoint_of_another_method_stops_before_training(wgan_gp_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit, match=r"holds a WGANGP checkpoint, but the command line's model is GAN"):
        main(["fit", "--config", "configs/ring8_nsgan.yaml", "--ckpt_path", str(wgan_gp_checkpoint),
              f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    assert not any(tmp_path.iterdir())  # nothing was built or written


def test_a_changed_hyperparameter_is_used_and_named_in_a_warning(wgan_gp_checkpoint, tmp_path):
    model = yaml.safe_load(Path("configs/ring8_wgan_gp.yaml").read_text())["model"]["init_args"]
    config_lr = model["generator_optimizer"]["lr"]
    assert config_lr != 0.05 and model["discriminator_optimizer"]["lr"] == config_lr
    with pytest.warns(UserWarning, match=rf"uses the command line's .*generator_optimizer\.lr: {config_lr} -> 0\.05$"):
        cli = main(["fit", "--config", "configs/ring8_wgan_gp.yaml", "--ckpt_path", str(wgan_gp_checkpoint),
                    "--model.init_args.generator_optimizer.lr=0.05", "--trainer.max_steps=18",
                    f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    assert cli.trainer.global_step == 18  # resumed from step 12
    generator_optimizer, discriminator_optimizer = cli.trainer.optimizers
    assert generator_optimizer.param_groups[0]["lr"] == 0.05
    assert discriminator_optimizer.param_groups[0]["lr"] == config_lr
