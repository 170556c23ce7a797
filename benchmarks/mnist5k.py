"""MNIST5k benchmark: every method with a ``configs/mnist5k_<method>.yaml``, 3 seeds, at each config's own budget.

    pip install -e ".[fid,mnist5k]"    # FID Inception weights and the 5,000 digits, no download
    OMP_NUM_THREADS=1 python benchmarks/mnist5k.py                       # all methods, seeds 0 1 2 (hours on CPU)
    OMP_NUM_THREADS=1 python benchmarks/mnist5k.py --methods nsgan wgan_gp --seeds 0 --resume
    python benchmarks/mnist5k.py --n 8 --max-steps 2 --methods nsgan --seeds 0 --out /tmp/mnist5k  # smoke test

Two processes side by side over disjoint methods (one torch thread each), then the table of both:

    OMP_NUM_THREADS=1 python benchmarks/mnist5k.py --resume --methods gan nsgan wgan wgan_gp &
    OMP_NUM_THREADS=1 python benchmarks/mnist5k.py --resume --methods nsgan_gp dragan_ns alpha_gan adagan &
    wait; python benchmarks/mnist5k.py --finished-only

Each run (method ``m``, seed ``s``, named ``mnist5k_<m>_s<s>``) is ``python train.py fit --config
configs/mnist5k_<m>.yaml`` with ``seed_everything: s``, trained in-process by :func:`quality.train_run` (the config
run is written to ``<out>/configs/``); ``--max-steps`` overrides the budget (``trainer.max_steps``; AdaGAN counts
epochs, sized as in ``quality.py``).  After training, ``--n`` (1,000) samples are drawn with a fixed sampling seed
(AdaGAN: its boosted mixture) and scored against the **1,000 held-out digits** (the MNIST5k datamodule's
``val_dataset``, the first ``--n`` of them in a seeded order):

* the MNIST classifier family (:class:`~lightning_gans.gan_modules.metrics.digits_classifier.DigitsMetrics`,
  ``data="mnist"``): classes covered (of 10), KL of the predicted-label histogram to uniform, mean top-1
  confidence, Frechet distance in the classifier's penultimate features;
* FID and KID with the real Inception-v3 weights
  (:class:`~lightning_gans.gan_modules.metrics.inception.InceptionMetrics`, torch-fidelity's resize, no download).

The held-out features are extracted once per process and cached on disk (``$LIGHTNING_GANS_CACHE/real_features/``,
:mod:`lightning_gans.gan_modules.metrics.feature_cache`), so a second process reads them instead.

The floor.  FID is biased upward at small N (Binkowski et al. 2018, Sec. 3; Chong & Forsyth 2020), so the table
also scores ``--n`` *training* digits (a seeded subset) against the same held-out set with the same metrics: what a
perfect generator would get at this N; column "FID / floor" divides by it.  KID is unbiased.

Outputs in ``--out`` (default ``benchmarks/results/mnist5k/``): ``records/<run>.json`` (the config and row; the
config also holds the evaluation settings under ``mnist5k_evaluation``, so ``--resume`` reuses a run only at the
same ``--n``) and ``records/<run>.pt`` (its first 64 samples, uint8 0..255), the floor as
``records/mnist5k_floor.*``; ``mnist5k.md`` (mean +- standard error over seeds), ``mnist5k.csv`` (one row per run,
then the floor) and ``mnist5k_samples.png`` (the first recorded seed of each method, and real held-out digits).
``--finished-only`` trains and scores nothing: it writes the table from the records, the same file whichever
process writes it (the table's command and date are those of the records, not of the call).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import (  # noqa: E402  (also puts the repository root on sys.path and selects matplotlib's Agg)
    METHODS,
    ROOT,
    SAMPLING_SEED,
    STANDARD_ERROR,
    config_for,
    datamodule_from,
    draw,
    load_finished,
    mean_se,
    patch_config,
    plt,
    save_finished,
    train_run,
)

from lightning_gans.gan_modules.metrics.digits_classifier import DigitsMetrics  # noqa: E402
from lightning_gans.gan_modules.metrics.feature_cache import RealFeatureCache, feed_real_examples  # noqa: E402
from lightning_gans.gan_modules.metrics.images import to_uint8  # noqa: E402
from lightning_gans.gan_modules.metrics.inception import InceptionMetrics, inception_weights_file  # noqa: E402

DATA = "mnist5k"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / DATA
DEFAULT_N, DEFAULT_SEEDS = 1_000, [0, 1, 2]
HELD_OUT_SEED = 0  # order of the held-out digits, whose first N are the real side
FLOOR_SEED = 0  # the seeded subset of training digits scored as the floor
FLOOR = f"{DATA}_floor"
BATCH = 100  # images a metric update
GRID = 64  # samples kept in a record (an 8 x 8 grid)
COLUMNS = 5  # panels a row of the sample figure


def methods_with_configs() -> list[str]:
    """Methods with a ``configs/mnist5k_<method>.yaml``, in :data:`quality.METHODS` order, then any others."""
    found = [path.stem.removeprefix(f"{DATA}_") for path in sorted((ROOT / "configs").glob(f"{DATA}_*.yaml"))]
    return [m for m in METHODS if m in found] + [m for m in found if m not in METHODS]


def display(method: str) -> str:
    return METHODS.get(method, method)


def evaluation_key(n: int) -> dict:
    """The evaluation settings a record was scored with; part of the compared config, so a record at
    another N (or another protocol) is not reused."""
    return {"n": n, "real": f"val_dataset, seeded order {HELD_OUT_SEED}", "sampling_seed": SAMPLING_SEED,
            "metrics": ["mnist classifier", "fid", "kid"]}


def keyed(config: dict, n: int) -> dict:
    return {**config, "mnist5k_evaluation": evaluation_key(n)}


def floor_config(n: int) -> dict:
    """The floor's record key (``portable`` needs a ``trainer`` section)."""
    return {"trainer": {}, "data": config_for(DATA, methods_with_configs()[0])["data"],
            "floor": f"train_dataset, seeded subset {FLOOR_SEED}", "mnist5k_evaluation": evaluation_key(n)}


def seeded_first(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The first ``n`` of ``images`` in a seeded random order (all of them if fewer)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[order]


def held_out_datamodule():
    """The MNIST5k datamodule of the configs (their ``data`` section), set up: ``val_dataset`` is the held-out set."""
    datamodule = datamodule_from(config_for(DATA, methods_with_configs()[0])["data"])
    datamodule.setup("fit")
    return datamodule


def grid_uint8(images: torch.Tensor) -> torch.Tensor:
    """The first :data:`GRID` images as uint8 0..255 (what a record keeps)."""
    return to_uint8(images[:GRID].clamp(-1, 1))


class Evaluator:
    """The MNIST classifier metrics and FID / KID against the first N held-out digits, fed once."""

    def __init__(self, datamodule, n: int) -> None:
        self.datamodule = datamodule
        self.weights = inception_weights_file(download=False)
        print(f"Inception weights: {self.weights}", flush=True)
        self.digits = DigitsMetrics(data="mnist")
        self.inception = InceptionMetrics(["fid", "kid"], self.weights, download=False)
        self.held_out = seeded_first(datamodule.val_dataset.tensors[0], n, HELD_OUT_SEED)
        cache, start = RealFeatureCache(), time.perf_counter()
        before = set(cache.directory.glob("*.pt"))
        feed_real_examples([self.digits, self.inception], lambda: iter(self.held_out.split(BATCH)), cache,
                           dataset=type(datamodule).__name__, split="val_dataset", n=len(self.held_out),
                           rows=(0, len(self.held_out)), device=torch.device("cpu"))
        extracted = len(set(cache.directory.glob("*.pt")) - before)
        print(f"held-out features of {len(self.held_out)} digits in {time.perf_counter() - start:.0f} s: "
              f"{2 - extracted} of 2 feature sets from the cache {cache.directory}", flush=True)

    def check_held_out(self, datamodule) -> None:
        """A trained run's datamodule must hold out the same digits (the configs' data sections agree)."""
        if not torch.equal(datamodule.val_dataset.tensors[0], self.datamodule.val_dataset.tensors[0]):
            raise SystemExit("a config's MNIST5k datamodule holds out other digits than the benchmark's real side")

    def __call__(self, images: torch.Tensor) -> dict:
        """The metrics of ``images`` in [-1, 1] (clamped) against the held-out digits."""
        for suite in (self.digits, self.inception):
            suite.reset()  # keeps the real statistics
        for batch in images.clamp(-1, 1).split(BATCH):
            self.digits.update(batch)
            self.inception.update(batch)
        digits, inception = self.digits.compute(), self.inception.compute()
        return {"classes": digits["mnist_classes_covered"], "label_kl": digits["mnist_label_kl_to_uniform"],
                "confidence": digits["mnist_mean_confidence"], "frechet": digits["mnist_frechet_distance"],
                "fid": inception["fid"], "kid_mean": inception["kid_mean"], "kid_std": inception["kid_std"],
                "n": len(images), "n_real": len(self.held_out), "weights": self.weights.name}


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def budget(config: dict) -> tuple[int, str]:
    """The run's budget: ``trainer.max_steps`` optimizer steps, or for AdaGAN ``max_epochs`` epochs (of
    ``limit_train_batches`` batches where ``--max-steps`` shortened them)."""
    trainer = config["trainer"]
    if trainer.get("max_steps") not in (None, -1):
        return trainer["max_steps"], "steps"
    limit = trainer.get("limit_train_batches")
    return trainer["max_epochs"], "epochs" if limit is None else f"epochs of {limit} batches"


def parse_args(argv=None) -> argparse.Namespace:
    methods = methods_with_configs()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=methods, choices=methods)
    parser.add_argument("--seeds", nargs="+", type=int, default=DEFAULT_SEEDS)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="samples a run, training digits of the floor, "
                        "and held-out digits of the real side (all 1,000 if fewer)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="optimizer steps a run, overriding every config's budget (AdaGAN: sized in epochs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (several runs share the machine)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs (and the floor) recorded under --out with the same config and --n")
    parser.add_argument("--finished-only", action="store_true",
                        help="train and score nothing: the table of the records under --out (as --resume)")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be at least 2 (a Frechet distance needs a covariance)")
    return args


def canonical_command(args: argparse.Namespace) -> str:
    """The command that trains what the table shows: the flags that decide the records, not --resume,
    --finished-only or --threads, so that every process of a split run writes the same table."""
    parts = ["python benchmarks/mnist5k.py"]
    if args.methods != methods_with_configs():
        parts += ["--methods", *args.methods]
    if args.seeds != DEFAULT_SEEDS:
        parts += ["--seeds", *map(str, args.seeds)]
    if args.n != DEFAULT_N:
        parts += ["--n", str(args.n)]
    if args.max_steps is not None:
        parts += ["--max-steps", str(args.max_steps)]
    if args.out.resolve() != DEFAULT_OUT.resolve():
        out = args.out.resolve()
        parts += ["--out", str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)]
    return " ".join(parts)


def rounded(row: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    reuse = args.resume or args.finished_only
    if not args.finished_only:
        inception_weights_file(download=False)  # fail now, not after the first run, when the weights are missing
    datamodule = held_out_datamodule()
    evaluator = None

    def scorer() -> Evaluator:
        nonlocal evaluator
        if evaluator is None:
            evaluator = Evaluator(datamodule, args.n)
        return evaluator

    floor = None
    finished = load_finished(args.out, FLOOR, floor_config(args.n)) if reuse else None
    if finished is not None:
        floor = finished[0]
    elif not args.finished_only:
        images = seeded_first(datamodule.train_dataset.tensors[0], args.n, FLOOR_SEED)
        start = time.perf_counter()
        floor = {"method": "floor", "seed": "", **scorer()(images)}
        floor.update(eval_seconds=round(time.perf_counter() - start, 2), date=now())
        save_finished(args.out, FLOOR, floor_config(args.n), floor, grid_uint8(images))
    if floor is not None:
        print(rounded(floor), flush=True)

    rows, samples = [], {}
    for method in args.methods:
        base = config_for(DATA, method)
        for seed in args.seeds:
            name = f"{DATA}_{method}_s{seed}"
            config = patch_config(base, seed, args.out / "runs" / name, args.max_steps, quick=False)
            finished = load_finished(args.out, name, keyed(config, args.n)) if reuse else None
            if finished is not None:
                row, grid = finished
            elif args.finished_only:
                continue
            else:
                sampler, trained_data, seconds, cpu = train_run(config, args.out / "configs" / f"{name}.yaml")
                steps, unit = budget(config)
                row = {"method": method, "seed": seed, "steps": steps, "budget_unit": unit,
                       "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                       "config": f"configs/{DATA}_{method}.yaml"}
                start = time.perf_counter()
                images = draw(sampler, args.n)
                evaluation = scorer()
                evaluation.check_held_out(trained_data)
                row.update(evaluation(images))
                row.update(eval_seconds=round(time.perf_counter() - start, 2), date=now())
                grid = grid_uint8(images)
                save_finished(args.out, name, keyed(config, args.n), row, grid)
            if grid is not None:
                samples.setdefault(method, (seed, grid))
            rows.append(row)
            print(rounded(row), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    write_markdown(rows, floor, args, args.out / f"{DATA}.md", len(datamodule.val_dataset))
    write_csv(rows, floor, args.out / f"{DATA}.csv")
    if samples:
        plot_samples(samples, seeded_first(datamodule.val_dataset.tensors[0], GRID, HELD_OUT_SEED),
                     args.out / f"{DATA}_samples.png")
    print((args.out / f"{DATA}.md").read_text(), flush=True)
    return rows


def fid_over_floor(row: dict, floor: dict | None) -> float:
    return row["fid"] / floor["fid"] if floor is not None and floor["fid"] > 0 else math.nan


def write_markdown(rows: list[dict], floor: dict | None, args: argparse.Namespace, path: Path, held_out: int) -> None:
    """The table of ``rows`` (records only: the same bytes whichever process writes it); ``held_out``: the
    size of the held-out split."""
    n, n_real = args.n, min(args.n, held_out)
    dates = [r["date"] for r in rows + ([floor] if floor else []) if "date" in r]
    weights = sorted({r["weights"] for r in rows + ([floor] if floor else []) if "weights" in r})
    budgets = ("`--max-steps` " + f"{args.max_steps:,}" + " overriding every config (AdaGAN: sized in epochs)"
               if args.max_steps is not None else "each config's own")
    lines = [f"# MNIST5k: sample quality of every method, N = {n:,}", "",
             f"Each run: `configs/{DATA}_<method>.yaml` at the seed, budget {budgets}; then {n:,} samples (AdaGAN: "
             f"its boosted mixture) against the first {n_real:,} of the {held_out:,} held-out digits (MNIST5k "
             "`val_dataset`, seeded order).  MNIST classifier metrics: classes covered of 10, KL of the predicted-"
             "label histogram to uniform, mean top-1 confidence, Frechet distance in the classifier's features.  "
             f"FID and KID on Inception-v3 pool3 features; {STANDARD_ERROR}.", "",
             "| method | classes covered | label KL | confidence | classifier Fréchet | FID | FID / floor | "
             "KID x1e3 | budget | CPU min/run | seeds |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for method in dict.fromkeys(r["method"] for r in rows):
        runs = [r for r in rows if r["method"] == method]
        budget_cells = ", ".join(dict.fromkeys(f"{r['steps']:,} {r['budget_unit']}" for r in runs))
        lines.append(
            f"| {display(method)} | {mean_se([r['classes'] for r in runs])} / 10 | "
            f"{mean_se([r['label_kl'] for r in runs])} | {mean_se([r['confidence'] for r in runs])} | "
            f"{mean_se([r['frechet'] for r in runs])} | {mean_se([r['fid'] for r in runs])} | "
            f"{mean_se([fid_over_floor(r, floor) for r in runs])} | {mean_se([1e3 * r['kid_mean'] for r in runs])} | "
            f"{budget_cells} | {mean_se([r['cpu_seconds'] / 60 for r in runs])} | "
            f"{', '.join(str(r['seed']) for r in runs)} |")
    if floor is not None:
        lines.append(
            f"| *floor: {floor['n']:,} training digits* | {floor['classes']} / 10 | {floor['label_kl']:.3g} | "
            f"{floor['confidence']:.3g} | {floor['frechet']:.3g} | {floor['fid']:.3g} | 1 | "
            f"{1e3 * floor['kid_mean']:.3g} | | | |")
    else:
        lines.append("| *floor: not recorded at this N* | | | | | | | | | | |")
    lines += ["",
              f"Command: `{canonical_command(args)}` (add `--finished-only` to rewrite this table from the records)  ",
              f"Date: {max(dates) if dates else 'no runs recorded'} (the latest recorded run)  ",
              f"N = {n:,} samples a run against {n_real:,} held-out digits; Inception weights: "
              f"{', '.join(weights) if weights else 'none recorded'}  ",
              f"Seeds requested: {' '.join(map(str, args.seeds))}; each row over the seeds it has (column 'seeds').",
              "",
              f"These FIDs compare only with each other, at N = {n:,} against the held-out {n_real:,} "
              "(FID is biased upward at small N, hence the floor at the same N; Binkowski et al. 2018, Chong & "
              "Forsyth 2020); grayscale 28 px digits are not the RGB data behind published FIDs, so they are not "
              "comparable with published numbers."]
    path.write_text("\n".join(lines) + "\n")


def write_csv(rows: list[dict], floor: dict | None, path: Path) -> None:
    fields = ["method", "seed", "steps", "budget_unit", "seconds", "cpu_seconds", "eval_seconds", "n", "n_real",
              "classes", "label_kl", "confidence", "frechet", "fid", "fid_over_floor", "kid_mean", "kid_std",
              "weights", "config", "date"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "fid_over_floor": fid_over_floor(row, floor)})
        if floor is not None:
            writer.writerow({**floor, "fid_over_floor": 1.0})


def tile(images: torch.Tensor) -> torch.Tensor:
    """64 uint8 images ``(64, 1, 28, 28)`` (fewer are padded black) as one 8 x 8 grid."""
    images = images[:GRID, 0]
    side = images.shape[-1]
    if len(images) < GRID:
        images = torch.cat([images, images.new_zeros(GRID - len(images), side, side)])
    return images.reshape(8, 8, side, side).permute(0, 2, 1, 3).reshape(8 * side, 8 * side)


def plot_samples(samples: dict, real: torch.Tensor, path: Path) -> None:
    """One grid per method (its first recorded seed) and one of real held-out digits."""
    panels = [(f"{display(m)}, seed {seed}", grid) for m, (seed, grid) in samples.items()]
    panels.append(("held-out digits", to_uint8(real)))
    columns = min(COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.7 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (title, grid) in zip(axes.flat, panels):
        ax.imshow(tile(grid).float() / 255 * 2 - 1, cmap="gray", vmin=-1, vmax=1)  # uint8 back to [-1, 1]
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
