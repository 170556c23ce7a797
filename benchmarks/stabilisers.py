"""Do the stabilising techniques change mode coverage?  The plain GAN on the 25-mode grid, with and without them.

    python benchmarks/stabilisers.py [--variants plain instance_noise ...] [--seeds 0 1 2]
                                     [--generator-steps 2000] [--lr 1e-3] [--generator-loss minimax]

Every run is ``configs/grid25_gan.yaml``'s model and data (GAN, minimax generator loss, MLPs with 128
units, Adam with betas (0.5, 0.999), batches of 256 from the 5 x 5 grid with spacing 2 and std 0.05)
for ``--generator-steps`` generator steps (one discriminator step each), seeded with
``seed_everything(seed)``; only the option of the variant differs.  The learning rate defaults to
1e-3 instead of the config's 1e-4 so that a run fits in ~20 s of one CPU core (with 1e-4, 5000
generator steps leave under 4 % of the samples within 3 std of a mode).  Afterwards 2,500 samples
are scored with the VEEGAN/PacGAN protocol (:func:`lightning_gans.gan_modules.metrics.mode_coverage.mode_statistics`:
a mode is captured by >= 1 sample within 3 std of it; high-quality fraction; KL of the mode
histogram to uniform).

Variants (``variants()``): ``plain``; ``instance_noise`` (sigma_0 = 0.5, a quarter of the grid
spacing, annealed linearly to 0 over the first half of the generator steps); ``label_smoothing``
(real_label = 0.9); ``historical_averaging`` (weight 1e-3, an arbitrary small value: the paper gives
none); ``minibatch_discrimination`` (10 kernels of dimension 5; about 4x slower a step).  Prints one
line per run and the mean per variant.  Threads default to 1 (several runs share the machine).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from functools import partial
from typing import Any

import lightning.pytorch as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_gans.datamodules import GridOfGaussians  # noqa: E402
from lightning_gans.gan_modules import GAN, OptimizerSpec  # noqa: E402
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics  # noqa: E402
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator  # noqa: E402

N_SAMPLES = 2500  # VEEGAN / PacGAN


def variants(generator_steps: int) -> dict[str, dict[str, Any]]:
    """Per variant: GAN keyword arguments and discriminator keyword arguments."""
    return {
        "plain": {},
        "instance_noise": {"instance_noise": 0.5, "instance_noise_anneal_steps": generator_steps // 2},
        "label_smoothing": {"real_label": 0.9},
        "historical_averaging": {"historical_averaging": 1e-3},
        "minibatch_discrimination": {"discriminator": {"minibatch_kernels": 10}},
    }


def run(options: dict[str, Any], seed: int, generator_steps: int, lr: float, generator_loss: str) -> dict:
    pl.seed_everything(seed, verbose=False)
    options = dict(options)
    discriminator_kwargs = options.pop("discriminator", {})
    adam = OptimizerSpec(name="adam", lr=lr, betas=(0.5, 0.999))
    module = GAN(
        partial(MLPGenerator, latent_dim=2, hidden=128, n_layers=3),
        partial(MLPDiscriminator, hidden=128, n_layers=3, **discriminator_kwargs),
        data_shape=(2,), generator_loss=generator_loss, generator_optimizer=adam, discriminator_optimizer=adam, **options,
    )
    data = GridOfGaussians(grid_size=5, spacing=2.0, std=0.05, batch_size=256, n_val=0)
    trainer = pl.Trainer(
        max_steps=2 * generator_steps, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data)
    torch.manual_seed(10_000 + seed)
    return mode_statistics(module.sample(N_SAMPLES), data.centres, data.std)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["plain", "instance_noise", "label_smoothing", "historical_averaging"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--generator-steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--generator-loss", default="minimax", choices=["minimax", "non_saturating"])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    table = variants(args.generator_steps)
    unknown = set(args.variants) - set(table)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {sorted(table)}")
    results: dict[str, list[dict]] = {name: [] for name in args.variants}
    for seed in args.seeds:
        for name in args.variants:
            start = time.perf_counter()
            stats = run(table[name], seed, args.generator_steps, args.lr, args.generator_loss)
            results[name].append(stats)
            print(
                f"{name:26s} seed {seed}: modes {stats['modes_captured']:2d}/25  high-quality "
                f"{stats['high_quality_fraction']:.3f}  KL {stats['kl_to_uniform']:.3f}  "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    print(f"\nmeans over seeds {args.seeds}, {args.generator_steps} generator steps:")
    for name, runs in results.items():
        modes = statistics.mean(r["modes_captured"] for r in runs)
        quality = statistics.mean(r["high_quality_fraction"] for r in runs)
        kl = statistics.mean(r["kl_to_uniform"] for r in runs)
        print(f"{name:26s} modes {modes:5.1f}/25  high-quality {quality:.3f}  KL {kl:.3f}")


if __name__ == "__main__":
    main()
