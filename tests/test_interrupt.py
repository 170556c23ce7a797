"""Ctrl-C during a fit: a resumable checkpoint, the closing summary and picture, and a resume to the same weights."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--config", "configs/ring8_nsgan.yaml", "--data.init_args.n_train=2048", "--data.init_args.n_val=0",
       "--model.init_args.generator.init_args.hidden=32", "--model.init_args.discriminator.init_args.hidden=32",
       "--trainer.enable_progress_bar=false", "--trainer.log_every_n_steps=1"]


def test_sigint_writes_a_checkpoint_that_resumes_to_the_uninterrupted_weights(tmp_path):
    interrupted_dir = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, "train.py", "fit", *RUN, "--trainer.max_steps=1000000",
                                f"--trainer.default_root_dir={interrupted_dir}", "--trainer.logger=CSVLogger",
                                f"--trainer.logger.save_dir={interrupted_dir}", "--trainer.logger.flush_logs_every_n_steps=10"],
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
    assert f"checkpoint:    {checkpoint.resolve()}" in stdout  # the summary names the checkpoint to resume from
    step = torch.load(checkpoint)["global_step"]
    assert (checkpoint.parents[1] / "samples" / f"step_{step:07d}.png").is_file()  # the closing picture

    total = step + 10  # 5 batches past the interruption; every run in its own process, as a user runs them
    final = {}
    for name, resume in (("resumed", ["--ckpt_path", str(checkpoint)]), ("whole", [])):
        run = subprocess.run([sys.executable, "train.py", "fit", *RUN, f"--trainer.max_steps={total}", *resume,
                              f"--trainer.default_root_dir={tmp_path / name}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        written = torch.load(next((tmp_path / name).rglob("last.ckpt")))
        assert written["global_step"] == total
        final[name] = written["state_dict"]
    assert [key for key in final["whole"] if not torch.equal(final["whole"][key], final["resumed"][key])] == []
