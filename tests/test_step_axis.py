"""One step axis: losses, evaluations and the progress bar all count optimizer steps (``global_step``)."""

import csv

from lightning_gans.callbacks import StepProgressBar
from lightning_gans.cli import main

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
