"""Ctrl-C during a fit: a resumable checkpoint, the closing summary and picture, and a resume to the same weights."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from lightning_gans.cli import main

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--config", "configs/ring8_nsgan.yaml", "--data.init_args.n_train=2048", "--data.init_args.n_val=0",
       "--trainer.enable_progress_bar=false", "--trainer.log_every_n_steps=1"]


def test_sigint_writes_a_checkpoint_that_resumes_to_the_uninterrupted_weights(tmp_path):
    interrupted_dir = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, "train.py", "fit", *RUN, "--trainer.max_steps=1000000",
                                f"--trainer.default_root_dir={interrupted_dir}"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(interrupted_dir.rglob("metrics.csv")):  # the CSV logger's first flush: training is under way
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGINT, stderr[-3000:]
    checkpoint = next(interrupted_dir.rglob("interrupted.ckpt"))
    assert f"checkpoint {checkpoint.resolve()}" in stdout and "run directory:" in stdout
    step = torch.load(checkpoint)["global_step"]
    assert (checkpoint.parents[1] / "samples" / f"step_{step:07d}.png").is_file()  # the closing picture

    total = step + 10  # 5 batches past the interruption
    resumed = main(["fit", *RUN, f"--trainer.max_steps={total}", "--ckpt_path", str(checkpoint),
                    f"--trainer.default_root_dir={tmp_path / 'resumed'}"])
    uninterrupted = main(["fit", *RUN, f"--trainer.max_steps={total}", f"--trainer.default_root_dir={tmp_path / 'whole'}"])
    assert resumed.trainer.global_step == uninterrupted.trainer.global_step == total
    expected, actual = uninterrupted.model.state_dict(), resumed.model.state_dict()
    assert [name for name in expected if not torch.equal(expected[name], actual[name])] == []
