"""Evaluation time as a fraction of training time, with the Evaluation callback's defaults.

    OMP_NUM_THREADS=1 python benchmarks/eval_cost.py [--configs digits_nsgan mnist5k_nsgan] [--max-steps 2000]
        [--n-samples N] [--metrics fid kid]

Each config trains through the CLI with ``lightning_gans.callbacks.Evaluation`` appended at its
defaults (digits: the digits-classifier metrics every 1,000 steps on 10,000 samples; MNIST5k: the MNIST
classifier's, likewise), or with the metrics ``--metrics`` names (e.g. ``fid kid``: Inception on a CPU
evaluates at the end only, on 1,000 samples and 1,000 real images).  ``--n-samples`` overrides the sample
count (evaluation time grows linearly in it).  Prints, per config, the training seconds, the
evaluations' seconds and their ratio (``eval/time_fraction``, the callback's own clock).

The fit's callback caches into an empty temporary directory, so its evaluations cost what a first
run's do.  Then two fresh callbacks, configured as the fit's, evaluate the trained generator once
each, as the first evaluations of two new runs sharing another empty cache directory: the first
extracts the real images' features and caches them, the second loads them
(:mod:`lightning_gans.gan_modules.metrics.feature_cache`); the table ends with their seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lightning_gans.callbacks.evaluation import Evaluation  # noqa: E402
from lightning_gans.cli import main as cli_main  # noqa: E402


def measure(config: str, max_steps: int | None, n_samples: int | None, metrics: list[str] | None, root: Path,
            cache: Path) -> dict:
    args = ["fit", "--config", str(ROOT / "configs" / f"{config}.yaml"), f"--trainer.default_root_dir={root / config}",
            "--trainer.enable_progress_bar=false", "--trainer.logger=false",
            "--trainer.callbacks+=lightning_gans.callbacks.Evaluation",
            f"--trainer.callbacks.cache_dir={cache / 'fit'}"]
    if n_samples is not None:
        args.append(f"--trainer.callbacks.n_samples={n_samples}")
    if metrics:
        args.append(f"--trainer.callbacks.metrics=[{', '.join(metrics)}]")
    if max_steps is not None:
        args.append(f"--trainer.max_steps={max_steps}")
    cli = cli_main(args)
    (callback,) = [c for c in cli.trainer.callbacks if isinstance(c, Evaluation)]
    clock = callback.clock
    row = {"config": config, "steps": cli.trainer.global_step, "metrics": "+".join(callback.metrics),
           "n_samples": callback.n_samples, "every_n_steps": callback.every_n_steps,
           "train_s": clock.training(), "eval_s": clock.evaluating, "fraction": clock.fraction()}
    row["first_s"] = first_evaluation_seconds(cli.trainer, cli.model, n_samples, metrics, cache / "runs")  # caches
    row["second_s"] = first_evaluation_seconds(cli.trainer, cli.model, n_samples, metrics, cache / "runs")  # loads
    return row


def first_evaluation_seconds(trainer, module, n_samples: int | None, metrics: list[str] | None,
                             cache_dir: Path) -> float:
    """Seconds of the first evaluation of a fresh callback configured as the fit's, caching in ``cache_dir``."""
    callback = Evaluation(metrics=metrics, n_samples=n_samples, cache_dir=str(cache_dir))
    callback.setup(trainer, module, "fit")
    return callback.evaluate(trainer, module, to_loggers=False)["eval/seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["digits_nsgan", "mnist5k_nsgan"])
    parser.add_argument("--max-steps", type=int, default=None, help="default: each config's own")
    parser.add_argument("--n-samples", type=int, default=None, help="default: the callback's")
    parser.add_argument("--metrics", nargs="+", default=None, help="default: the callback's for the data")
    parser.add_argument("--root", default="runs/eval_cost")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="eval_cost_cache_") as cache:
        rows = [measure(config, args.max_steps, args.n_samples, args.metrics, Path(args.root), Path(cache) / config)
                for config in args.configs]
    print("| config | steps | metrics | N | every_n_steps | train s | eval s | eval / train "
          "| 1st run eval s | 2nd run eval s (cached real features) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['config']} | {row['steps']} | {row['metrics']} | {row['n_samples']} | {row['every_n_steps']} | "
              f"{row['train_s']:.3g} | {row['eval_s']:.3g} | {row['fraction']:.1%} | {row['first_s']:.3g} | "
              f"{row['second_s']:.3g} |")  # 3 significant digits: a cheap family's 0.146 s is not rounded to 0


if __name__ == "__main__":
    main()
