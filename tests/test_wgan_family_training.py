"""Training the Wasserstein, gradient-penalty and hinge + R1 configs: mode coverage on the toy mixtures.

The CI runs (a few hundred steps) assert a clear improvement over the untrained generator; the slow runs use each
config's full step budget and assert the targets at seed 0 (ring8, issue 17: 8/8 modes, each with >= 10
high-quality samples, and at least 90 % of 2,500 samples high-quality -- half for hinge + R1, whose config is
older; grid25, issue 17: at least 24 of 25 modes, each of them with >= 10 high-quality samples, and at
least 90 % of the samples high-quality on the mean over seeds; the slow test's bounds are seed 0's).  The full table over seeds is ``benchmarks/quality.py``, not a test.
"""

import time

import pytest
import torch

from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics
from lightning_gans.cli import main

N_SAMPLES = 2500  # VEEGAN / PacGAN protocol
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def train(config, tmp_path, *overrides):
    """Train with ``config`` (plus command-line overrides); return (mode statistics of 2,500 samples, wall seconds)."""
    start = time.perf_counter()
    cli = main(["fit", "--config", config, f"--trainer.default_root_dir={tmp_path}", *QUIET, *overrides])
    seconds = time.perf_counter() - start
    torch.manual_seed(2500)
    samples = cli.model.cpu().sample(N_SAMPLES)
    stats = mode_statistics(samples, cli.datamodule.centres, cli.datamodule.std)
    nearest = torch.cdist(samples, cli.datamodule.centres).min(dim=1).values
    stats["median_distance"] = nearest.median().item()
    print(f"{config}: {stats['modes_captured']} modes ({stats['modes_captured_strict']} with >= 10 samples), "
          f"{stats['high_quality_fraction']:.3f} high-quality, median distance {stats['median_distance']:.4f}, "
          f"{seconds:.0f} s")
    return stats, seconds


@pytest.fixture(scope="module")
def untrained_ring8(tmp_path_factory):
    """The generator after one critic step (no generator step yet): the same initial generator for every config,
    since each config seeds 0 and the module builds its generator first."""
    stats, _ = train("configs/ring8_wgan_gp.yaml", tmp_path_factory.mktemp("untrained"), "--trainer.max_steps=1")
    assert stats["median_distance"] > 0.5  # the untrained MLP generator sits near the ring's centre
    return stats


# steps: a few percent of each config's budget; the generator itself is sampled (no EMA: the configs' average,
# decay 0.999, trails the generator by about a thousand steps)
@pytest.mark.parametrize("method, steps", [("wgan", 600), ("wgan_gp", 600), ("nsgan_gp", 1200), ("dragan_ns", 1200),
                                           ("hinge_r1", 600)])
def test_short_ring8_run_improves_on_the_untrained_generator(method, steps, untrained_ring8, tmp_path):
    stats, _ = train(f"configs/ring8_{method}.yaml", tmp_path, f"--trainer.max_steps={steps}",
                     "--data.init_args.n_train=20000", "--model.init_args.ema_decay=null")
    assert stats["median_distance"] < 0.5 * untrained_ring8["median_distance"]


@pytest.mark.slow
@pytest.mark.parametrize("method, high_quality", [("wgan_gp", 0.9), ("nsgan_gp", 0.9), ("dragan_ns", 0.9),
                                                  ("hinge_r1", 0.5)])
def test_ring8_config_captures_all_modes_at_the_target_quality(method, high_quality, tmp_path):
    stats, _ = train(f"configs/ring8_{method}.yaml", tmp_path)
    assert stats["modes_captured_strict"] == 8
    assert stats["high_quality_fraction"] >= high_quality


@pytest.mark.slow
@pytest.mark.parametrize("method, high_quality", [("wgan_gp", 0.83), ("nsgan_gp", 0.9), ("dragan_ns", 0.87)])
def test_grid25_config_reaches_the_target(method, high_quality, tmp_path):
    """Seed 0 of each GP config, 25 strict modes and a high-quality bound a little under what seed 0 measured
    (benchmarks/results/toys/records/grid25_<method>_s0.json): WGAN-GP 85.2 %, NS-GAN-GP 91.4 %, DRAGAN-NS 88.9 %.
    The 90 % target is one of means over 5 seeds (benchmarks/results/toys/quality.md), which seed 0 of WGAN-GP
    and DRAGAN-NS alone does not reach."""
    stats, _ = train(f"configs/grid25_{method}.yaml", tmp_path)
    assert stats["modes_captured_strict"] >= 24
    assert stats["high_quality_fraction"] >= high_quality


@pytest.mark.slow
def test_grid25_hinge_r1_config_captures_at_least_20_modes(tmp_path):
    """The hinge + R1 example (one seed measured 23/25, README) is held to the earlier grid target."""
    stats, _ = train("configs/grid25_hinge_r1.yaml", tmp_path)
    assert stats["modes_captured"] >= 20
