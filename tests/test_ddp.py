"""Every method under plain DDP on two CPU processes (gloo): both ranks end with bit-identical weights.

One subprocess runs tests/scripts/ddp_methods.py, which trains each available method (and AdaGAN
around NS-GAN) on two ranks with plain ``DDPStrategy()`` (``--trainer.strategy ddp``, which stopped
with DDP's unused-parameters error before the module synced its players' gradients itself) and
writes what rank 0 gathered.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402

SCRIPT = Path(__file__).parent / "scripts" / "ddp_methods.py"


def test_every_method_keeps_the_two_ranks_identical(tmp_path):
    methods = list(scale_methods.METHODS) + ["adagan"]
    env = dict(os.environ, WANDB_MODE="offline", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), *methods], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results) == sorted(methods)
    for method, result in results.items():
        assert result["world_size"] == 2, method
        # the ranks trained on disjoint halves of the data (Lightning's distributed sampler around ours) ...
        assert result["points_per_rank"] == [48, 48], method
        assert not result["ranks_share_points"] and result["points_cover_training_set"], method
        # ... and still end bit-identical (gradients all-reduced), after training that moved the weights
        assert result["identical_weights"], (method, result["max_abs_difference"])
        assert result["weights_moved"], method
        # each rank draws its own latent noise (seed_everything seeds the ranks alike; the module decorrelates them)
        assert result["ranks_draw_different_noise"], method
        steps = result["global_steps"]
        assert steps[0] == steps[1] and result["generator_steps"][0] == result["generator_steps"][1], method
        assert result["generator_steps"][0] == (6 if method not in ("gan_k2", "wgan", "wgan_gp") else 3), method
    assert results["nsgan"]["resumed_equals_uninterrupted"]
    assert results["nsgan"]["same_weights_as_find_unused_parameters"]  # DDP's own sync: the same numbers
    assert results["adagan"]["adagan_stages"] == 2 and results["adagan"]["identical_adagan_weights"]


@pytest.mark.slow  # ~1 min on a busy 2-core CPU: two CLI processes; the test above covers every method
def test_the_cli_trains_under_plain_ddp_on_two_processes(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "train.py", "fit", "--config", "configs/ring8_nsgan.yaml",
                           "--trainer.strategy=ddp", "--trainer.devices=2", "--trainer.accelerator=cpu",
                           "--trainer.max_steps=8", "--data.init_args.n_train=2048", "--data.init_args.n_val=0",
                           "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unused parameters" not in done.stderr and list(tmp_path.rglob("last.ckpt"))
