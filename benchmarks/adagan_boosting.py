"""Does boosting work?  AdaGAN vs one GAN vs bagging on the 25-mode grid, mode coverage over seeds.

    python benchmarks/adagan_boosting.py            # 3 seeds, the full setting (~6.5 min on 2 idle CPU cores)
    python benchmarks/adagan_boosting.py --quick    # 1 seed, 3 stages (~1.5 min)

For every seed, three runs with the same deliberately weak base GAN (small MLPs, short stages; the
earlier setting of ``configs/grid25_adagan.yaml``, which now boosts the strong GAN-GP of the quality table) and the same total number of training epochs/steps:

* ``single``:  one GAN trained for ``stages * epochs_per_stage`` epochs;
* ``bagging``: ``stages`` GANs trained independently (fresh networks, uniform data), mixed
  uniformly -- the AdaGAN callback with ``weights="uniform"`` (the reference code's ``is_bagging``);
* ``adagan``:  the AdaGAN callback, ``beta="uniform"``, ``weights="theory_star"``.

Each model draws 2,500 samples (VEEGAN/PacGAN protocol) scored by
:func:`lightning_gans.gan_modules.metrics.mode_coverage.mode_statistics` (a mode is captured by at least one sample
within 3 standard deviations); a stricter column counts modes with at least 10 such samples (a
diffuse generator scatters one or two points near most modes).  Prints one row per run, the
mixture's modes after each stage (logged by the callback), and the mean/std per method.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import lightning.pytorch as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_gans.callbacks.adagan import AdaGAN  # noqa: E402
from lightning_gans.datamodules import GridOfGaussians  # noqa: E402
from lightning_gans.gan_modules import GAN, OptimizerSpec  # noqa: E402
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics  # noqa: E402
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator  # noqa: E402

METHODS = ("single", "bagging", "adagan")
EVAL_SAMPLES = 2_500  # VEEGAN / PacGAN protocol
BATCH_SIZE = 128
#: A stricter count, robust to a diffuse "spray" of samples that puts one or two points near every mode.
STRICT_MIN_PER_MODE = 10


def weak_gan() -> GAN:
    """The weak base GAN: a 2x32 MLP generator against a 2x128 MLP
    discriminator with a 4x larger learning rate, NS-GAN loss."""
    return GAN(
        partial(MLPGenerator, latent_dim=2, hidden=32, n_layers=2),
        partial(MLPDiscriminator, hidden=128, n_layers=2),
        data_shape=(2,),
        generator_loss="non_saturating",
        generator_optimizer=OptimizerSpec(name="adam", lr=1e-3, betas=(0.5, 0.999)),
        discriminator_optimizer=OptimizerSpec(name="adam", lr=4e-3, betas=(0.5, 0.999)),
    )


def run(method: str, seed: int, stages: int, epochs_per_stage: int, n_train: int,
        classifier_steps: int) -> dict:
    pl.seed_everything(seed, verbose=False)
    datamodule = GridOfGaussians(n_train=n_train, n_val=0, seed=0, batch_size=BATCH_SIZE)
    module = weak_gan()
    callbacks = []
    if method != "single":
        adagan = AdaGAN(stages=stages, epochs_per_stage=epochs_per_stage, beta="uniform",
                        weights="uniform" if method == "bagging" else "theory_star",
                        classifier_steps=classifier_steps)
        callbacks.append(adagan)
    trainer = pl.Trainer(max_epochs=stages * epochs_per_stage, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=callbacks)
    start = time.perf_counter()
    trainer.fit(module, datamodule)
    seconds = time.perf_counter() - start
    model = module if method == "single" else adagan.mixture
    with torch.random.fork_rng():
        torch.manual_seed(10_000 + seed)
        samples = model.sample(EVAL_SAMPLES).float().cpu()
    stats = mode_statistics(samples, datamodule.centres, datamodule.std)
    return {"method": method, "seed": seed, "modes": stats["modes_captured"],
            "modes10": int((stats["counts"] >= STRICT_MIN_PER_MODE).sum()),
            "hq": stats["high_quality_fraction"], "kl": stats["kl_to_uniform"], "steps": trainer.global_step,
            "seconds": seconds,
            "per_stage": [] if method == "single" else [int(r["mixture_modes_captured"]) for r in adagan.history]}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--stages", type=int, default=4)
    parser.add_argument("--epochs-per-stage", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=BATCH_SIZE * 3500, help="one epoch = n_train / 128 batches")
    parser.add_argument("--classifier-steps", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="1 seed, 4 stages")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.stages = 1, 3
    torch.set_num_threads(1)  # tiny networks: one thread is faster on a shared 2-core machine
    warnings.filterwarnings("ignore", module="lightning")
    print(f"grid25, weak NS-GAN (G 2x32, D 2x128), {args.stages} stages x {args.epochs_per_stage} epoch(s) of "
          f"{args.n_train // BATCH_SIZE} batches, classifier {args.classifier_steps} steps, {EVAL_SAMPLES} samples")
    print(f"{'method':<8} {'seed':>4} {'modes/25':>8} {'>=10 hq':>7} {'hq frac':>8} {'KL(U)':>7} {'steps':>6} "
          f"{'sec':>6}  "
          "mixture modes after each stage")
    rows = []
    for seed in range(args.seeds):
        for method in METHODS:
            row = run(method, seed, args.stages, args.epochs_per_stage, args.n_train, args.classifier_steps)
            rows.append(row)
            print(f"{row['method']:<8} {row['seed']:>4} {row['modes']:>8} {row['modes10']:>7} {row['hq']:>8.3f} "
                  f"{row['kl']:>7.3f} "
                  f"{row['steps']:>6} {row['seconds']:>6.1f}  {row['per_stage'] or ''}", flush=True)
    print("\nmean over seeds (std)")
    for method in METHODS:
        modes = [r["modes"] for r in rows if r["method"] == method]
        strict = [r["modes10"] for r in rows if r["method"] == method]
        hq = [r["hq"] for r in rows if r["method"] == method]
        spread = statistics.stdev(modes) if len(modes) > 1 else 0.0
        print(f"{method:<8} modes {statistics.mean(modes):5.1f} ({spread:.1f})  modes with >=10 hq samples "
              f"{statistics.mean(strict):5.1f}  hq fraction {statistics.mean(hq):.3f}  per seed {modes}")
    return rows


if __name__ == "__main__":
    main()
