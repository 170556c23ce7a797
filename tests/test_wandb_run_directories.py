"""Two W&B runs of one config: each keeps its own pictures and its own config.yaml (offline)."""

from pathlib import Path

from lightning_gans.cli import main


def wandb_run(root: Path, seed: int):
    """One CLI run, finished as its process would end (a live wandb.run is reused by the next WandbLogger)."""
    import wandb

    cli = main(["fit", "--config", "configs/ring8_gan_wandb.yaml", "--trainer.max_steps=4", f"--seed_everything={seed}",
                 f"--trainer.default_root_dir={root}", f"--trainer.logger.init_args.save_dir={root}",
                 "--trainer.logger.init_args.offline=true", "--data.init_args.n_train=2048",
                 "--data.init_args.n_val=256", "--trainer.enable_progress_bar=false"])
    wandb.finish()
    return cli


def test_each_wandb_run_has_its_own_pictures_and_config(tmp_path):
    runs = [wandb_run(tmp_path, seed) for seed in (1, 2)]
    directories = [tmp_path / "lightning-gans" / cli.trainer.logger.version for cli in runs]
    assert directories[0] != directories[1]
    for directory, seed in zip(directories, (1, 2)):
        assert [p.name for p in (directory / "samples").glob("step_*.png")] == ["step_0000004.png"]
        assert f"seed_everything: {seed}" in (directory / "config.yaml").read_text()  # not overwritten by the other
        assert list((directory / "checkpoints").glob("*.ckpt"))  # beside the run's checkpoints
    assert not (tmp_path / "samples").exists() and not (tmp_path / "config.yaml").exists()
