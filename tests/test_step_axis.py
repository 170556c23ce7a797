"""One step axis: losses, evaluations and the progress bar all count optimizer steps (``global_step``)."""

import csv
from functools import partial

import lightning.pytorch as pl

from lightning_gans.callbacks import StepProgressBar
from lightning_gans.cli import main
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator

SMALL_RING = ["--data.init_args.n_train=2048", "--data.init_args.n_val=0"]


def test_losses_and_evaluations_share_the_optimizer_step_axis_and_the_bar_ends_at_max_steps(tmp_path):
    # n_critic=1: two optimizer steps a batch; the old axis counted batches, so losses ended at step 19
    cli = main(["fit", "--config", "configs/ring8_nsgan.yaml", "--trainer.max_steps=40",
                "--trainer.log_every_n_steps=5", "--trainer.logger=CSVLogger", f"--trainer.logger.save_dir={tmp_path}",
                "--trainer.callbacks+=lightning_gans.callbacks.Evaluation", "--trainer.callbacks.every_n_steps=20",
                "--trainer.callbacks.n_samples=200", f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    with open(next(tmp_path.rglob("metrics.csv"))) as file:
        rows = list(csv.DictReader(file))
    loss_steps = [int(row["step"]) for row in rows if row.get("loss/generator")]
    eval_steps = [int(row["step"]) for row in rows if row.get("eval/modes_captured")]
    assert loss_steps == [10, 20, 30, 40]  # every 5 batches = every 10 optimizer steps
    assert eval_steps == [20, 40]
    assert set(eval_steps) <= set(loss_steps)

    bar = cli.trainer.progress_bar_callback
    assert isinstance(bar, StepProgressBar)
    assert bar.train_progress_bar.total == bar.train_progress_bar.n == 40


def test_the_bar_is_one_bar_for_the_fit_with_a_rate_of_optimizer_steps():
    """Lightning's bar restarted every epoch (22 batches on the digits) and showed rates such as 155016 it/s."""
    class Watch(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            bar = trainer.progress_bar_callback.train_progress_bar
            self.starts = getattr(self, "starts", set()) | {bar.start_t}

    watch, bar = Watch(), StepProgressBar()
    trainer = pl.Trainer(max_steps=60, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=[bar, watch])
    module = GAN(partial(MLPGenerator, hidden=16), partial(MLPDiscriminator, hidden=16))
    trainer.fit(module, RingOfGaussians(n_train=400, n_val=0, batch_size=100))  # 4 batches an epoch: 8 epochs
    tqdm = bar.train_progress_bar
    assert trainer.current_epoch >= 7 and len(watch.starts) == 1  # never restarted
    assert tqdm.n == tqdm.total == 60 and tqdm.initial == 0
    elapsed = tqdm.format_dict["elapsed"]
    assert 0 < 60 / elapsed < 5000  # optimizer steps a second, not the 10^5 of a count that jumped
