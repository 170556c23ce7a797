"""Sample quality of every method on ring8, grid25 and digits, over seeds, with the repo's configs.

    python benchmarks/quality.py                       # 3 seeds, the configs' full step budgets (hours on CPU)
    python benchmarks/quality.py --quick               # 1 seed, 60 optimizer steps a run (~35 s)
    python benchmarks/quality.py --methods gan nsgan --data ring8 --seeds 0 1 --max-steps 2000
    python benchmarks/quality.py --max-steps digits=3000 --resume   # digits shortened; reuse finished runs

Every run is ``python train.py fit --config configs/<data>_<method>.yaml`` (run in-process through
:func:`train.main`) with ``seed_everything`` set to the seed; the config actually run is written to
``<out>/configs/`` (so any run can be repeated with ``train.py``).  ``grid25`` has a config for every
method but alpha-GAN; for it the ``ring8`` config is used with the data section of
``configs/grid25_gan.yaml`` (VEEGAN/PacGAN grid: spacing 2, std 0.05) -- the table marks that row
"derived".

Budgets.  Non-AdaGAN runs count ``trainer.max_steps`` (optimizer steps; ``--max-steps`` overrides it,
for every data set or per data set).
AdaGAN counts *epochs* (``stages * epochs_per_stage``, callbacks/adagan.py), so ``--max-steps`` /
``--quick`` size an AdaGAN run (the configs' number of stages) so that its total optimizer steps match
the other methods' budget: one epoch a stage shortened by ``trainer.limit_train_batches`` where an
epoch holds more batches than a stage needs (the toy sets), else whole epochs, as many a stage as the
budget holds, rounded up (digits); quick mode also caps the mixture classifier at
``QUICK_CLASSIFIER_STEPS`` steps.

Evaluation (after training, fixed sampling seed):

* toy sets: 2,500 samples (VEEGAN/PacGAN protocol) scored by
  :func:`lightning_gans.gan_modules.metrics.mode_coverage.mode_statistics` -- modes captured (>= 1 sample within 3 std),
  high-quality fraction, KL of the mode histogram to uniform;
* digits: ``PARZEN_SAMPLES`` (10,000) samples; the first ``DIGITS_SAMPLES`` (2,000) scored by
  :class:`lightning_gans.gan_modules.metrics.digits_classifier.DigitsMetrics` (classes covered, Frechet distance in
  the digits classifier's features against all 1,797 real digits), all 10,000 by the Parzen-window
  log-likelihood (Goodfellow et al. 2014 Table 1 protocol: [0, 1] pixel scale, sigma from
  ``logspace(-1, 0, 10)`` chosen on one half of the Digits datamodule's validation split, LL and its
  standard error over the other half).  A reference row scores the real training split the same way.

AdaGAN is evaluated on its boosted mixture (``AdaGAN.mixture``), the other methods with ``module.sample``.
Writes ``quality.md`` (mean +- std over seeds, wall time, command, date, published toy rows),
``quality.csv`` (one row per run) and ``quality_toy.png`` / ``quality_digits.png`` (first seed).
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import yaml
from lightning.pytorch.cli import instantiate_class

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

import lightning_gans.cli as train  # noqa: E402
from lightning_gans.callbacks.adagan import AdaGAN  # noqa: E402
from lightning_gans.gan_modules.metrics.digits_classifier import DigitsMetrics, load_digits_tensors  # noqa: E402
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics  # noqa: E402
from lightning_gans.gan_modules.metrics.parzen import parzen_evaluation  # noqa: E402

METHODS = {"gan": "GAN", "nsgan": "NS-GAN", "wgan": "WGAN", "wgan_gp": "WGAN-GP", "nsgan_gp": "NS-GAN-GP",
           "dragan_ns": "DRAGAN-NS", "alpha_gan": "alpha-GAN", "adagan": "AdaGAN"}
DATA = ("ring8", "grid25", "digits")
TOY_SAMPLES = 2_500  # VEEGAN / PacGAN protocol
DIGITS_SAMPLES = 2_000  # generated digits for the classifier metrics (CPU-sized)
PARZEN_SAMPLES = 10_000  # generated digits for the Parzen window (the GAN paper's parzen_ll.py default, -n 10000)
QUICK_STEPS = 60  # optimizer steps of a --quick run
QUICK_N_TRAIN = 4_096  # toy training points of a --quick run
QUICK_CLASSIFIER_STEPS = 20  # AdaGAN mixture-classifier steps of a --quick run
SAMPLING_SEED = 12_345
RESULT_FILE, SAMPLES_FILE = "result.json", "samples.pt"  # a finished run, reused by --resume

#: Published toy results, (source, model, ring modes, grid modes).  PacGAN Table 1 [Lin et al. 2018]
#: (its GAN baseline and PacGAN4, as quoted in the brief) and VEEGAN Table 1 [Srivastava et al. 2017]
#: (transcribed from memory, not re-checked against the paper here).
PUBLISHED = (
    ("PacGAN Table 1", "GAN", "6.3", "17.3"),
    ("PacGAN Table 1", "PacGAN4", "7.8", "24.8"),
    ("VEEGAN Table 1 (unverified transcription)", "GAN", "1.0", "3.3"),
    ("VEEGAN Table 1 (unverified transcription)", "Unrolled GAN", "7.6", "23.6"),
    ("VEEGAN Table 1 (unverified transcription)", "VEEGAN", "8.0", "24.6"),
)


def config_for(data: str, method: str) -> tuple[dict, bool]:
    """The repo's config for ``data`` x ``method`` as a dict, and whether it was derived (module docstring)."""
    path = ROOT / "configs" / f"{data}_{method}.yaml"
    if path.is_file():
        return yaml.safe_load(path.read_text()), False
    if data != "grid25":
        raise FileNotFoundError(f"no config {path}")
    config = yaml.safe_load((ROOT / "configs" / f"ring8_{method}.yaml").read_text())
    config["data"] = yaml.safe_load((ROOT / "configs" / "grid25_gan.yaml").read_text())["data"]
    return config, True


def _callbacks_named(config: dict, name: str) -> list[dict]:
    return [c for c in config["trainer"].get("callbacks", []) if c["class_path"].split(".")[-1] == name]


def patch_config(config: dict, seed: int, root: Path, max_steps: int | None, quick: bool) -> dict:
    """Seed, output directory and (optionally) the step budget of one run; returns a new dict."""
    config = copy.deepcopy(config)
    config["seed_everything"] = seed
    trainer = config["trainer"]
    trainer.update(default_root_dir=str(root), enable_progress_bar=False, enable_model_summary=False)
    if quick:
        trainer["logger"] = False
        trainer["callbacks"] = [c for c in trainer.get("callbacks", [])
                                if c["class_path"].split(".")[-1] != "SampleFigures"]
        if "n_train" in config["data"].get("init_args", {}):
            config["data"]["init_args"]["n_train"] = QUICK_N_TRAIN
            config["data"]["init_args"]["n_val"] = 0
    adagan = _callbacks_named(config, "AdaGAN")
    if max_steps is not None:
        if adagan:
            args = adagan[0]["init_args"]
            steps_per_batch = 2  # the AdaGAN configs' base GAN: one D and one G step a batch (n_critic 1)
            batches_per_stage = max(1, max_steps // (steps_per_batch * args["stages"]))
            batches_per_epoch = train_batches_per_epoch(config["data"])
            if batches_per_stage <= batches_per_epoch:  # one shortened epoch a stage
                trainer["limit_train_batches"] = batches_per_stage
                args["epochs_per_stage"] = 1
            else:  # a small data set (digits): whole epochs, as many as the budget holds
                trainer.pop("limit_train_batches", None)
                args["epochs_per_stage"] = math.ceil(batches_per_stage / batches_per_epoch)
            trainer["max_epochs"] = args["stages"] * args["epochs_per_stage"]
            if quick:
                args["classifier_steps"] = QUICK_CLASSIFIER_STEPS
        else:
            trainer["max_steps"] = max_steps
    return config


def datamodule_from(data: dict):
    """The datamodule a config's ``data`` section describes (``class_path`` and ``init_args``), not set up."""
    return instantiate_class((), data)


def train_batches_per_epoch(data: dict) -> int:
    """Training batches an epoch of the datamodule ``data`` (a config section) gives: full batches only."""
    datamodule = datamodule_from(data)
    if hasattr(datamodule, "n_train"):  # the toy mixtures: no need to draw the data
        return datamodule.n_train // datamodule.batch_size
    datamodule.setup("fit")
    return len(datamodule.train_dataset) // datamodule.batch_size


def train_run(config: dict, path: Path):
    """Write ``config`` to ``path``, train it in-process, return ``(sampler with sample(n), seconds)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cli = train.main(["fit", "--config", str(path)])
    seconds = time.perf_counter() - start
    adagan = next((c for c in cli.trainer.callbacks if isinstance(c, AdaGAN)), None)
    sampler = adagan.mixture if adagan is not None else cli.model
    return sampler.eval(), cli.trainer.datamodule, seconds


@torch.no_grad()
def draw(sampler, n: int) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SAMPLING_SEED)
        return sampler.sample(n).float().cpu()


def toy_metrics(samples: torch.Tensor, datamodule) -> dict:
    stats = mode_statistics(samples, datamodule.centres, datamodule.std)
    return {"modes": stats["modes_captured"], "n_modes": len(datamodule.centres),
            "hq_fraction": stats["high_quality_fraction"], "kl_uniform": stats["kl_to_uniform"]}


class DigitsEvaluator:
    """Classifier metrics and Parzen LL for generated digits (module docstring); real statistics computed once."""

    def __init__(self) -> None:
        images, _ = load_digits_tensors()
        self.metrics = DigitsMetrics()
        self.metrics.update(images, real=True)
        from lightning_gans.datamodules import Digits

        datamodule = Digits()
        datamodule.setup("fit")
        val = datamodule.val_dataset.tensors[0].flatten(1)
        val = (val + 1) / 2  # the Parzen protocol's [0, 1] pixel scale
        half = len(val) // 2
        self.parzen_validation, self.parzen_test = val[:half], val[half:]
        self.training_images = datamodule.train_dataset.tensors[0]

    def __call__(self, samples: torch.Tensor) -> dict:
        """Metrics of ``samples`` in [-1, 1]: classifier metrics on the first ``DIGITS_SAMPLES``, Parzen on all."""
        samples = samples.clamp(-1, 1)
        self.metrics.reset()  # keeps the real statistics
        self.metrics.update(samples[:DIGITS_SAMPLES])
        result = self.metrics.compute()
        parzen = parzen_evaluation(((samples + 1) / 2).flatten(1), self.parzen_validation, self.parzen_test)
        return {"classes": result["digits_classes_covered"], "frechet": result["digits_frechet_distance"],
                "parzen_ll": parzen["log_likelihood"], "parzen_se": parzen["standard_error"],
                "parzen_sigma": parzen["sigma"]}

    def reference(self) -> dict:
        """The same metrics with the real training split in place of generated samples."""
        return {**self(self.training_images), "n": len(self.training_images)}


def mean_std(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "nan"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values):.2g}"


def write_markdown(rows: list[dict], path: Path, command: str, total_seconds: float, seeds: list[int],
                   quick: bool, reference: dict | None = None, budgets: dict[str, int] | None = None) -> None:
    toy = [r for r in rows if r["data"] != "digits"]
    digits = [r for r in rows if r["data"] == "digits"]
    lines = ["# Sample quality of every method", "",
             f"Command: `{command}`  ", f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}  ",
             f"Seeds: {seeds}; training time summed over the {len(rows)} runs {sum(r['seconds'] for r in rows):.0f} s "
             f"(1 torch thread a run); this invocation's wall time {total_seconds:.0f} s"
             + (" (--quick: scores mean little)" if quick else ""), "",
             "Step budgets: " + "; ".join(f"{d}: {budgets[d]:,} optimizer steps a run (overriding the config)"
                                          if d in (budgets or {}) else f"{d}: the config's own"
                                          for d in dict.fromkeys(r["data"] for r in rows)) + ".", ""]

    def groups(subset):
        keys = list(dict.fromkeys((r["data"], r["method"]) for r in subset))
        return [(d, m, [r for r in subset if (r["data"], r["method"]) == (d, m)]) for d, m in keys]

    if toy:
        lines += ["## Toy mixtures (2,500 samples, VEEGAN/PacGAN protocol)", "",
                  "| data | method | modes captured | high-quality fraction | KL to uniform | train s/run | config |",
                  "|---|---|---|---|---|---|---|"]
        for data, method, runs in groups(toy):
            lines.append(f"| {data} | {METHODS[method]} | {mean_std([r['modes'] for r in runs])} / "
                         f"{runs[0]['n_modes']} | {mean_std([r['hq_fraction'] for r in runs])} | "
                         f"{mean_std([r['kl_uniform'] for r in runs])} | {mean_std([r['seconds'] for r in runs])} | "
                         f"{runs[0]['config']} |")
        lines += ["", "Published toy results (modes captured; ring 8 modes, grid 25 modes):", "",
                  "| source | model | ring8 modes | grid25 modes |", "|---|---|---|---|"]
        lines += [f"| {s} | {m} | {r} | {g} |" for s, m, r, g in PUBLISHED]
        lines += ["", "Set-ups differ: our step budgets are CPU-minutes (configs' `trainer.max_steps`, or the "
                  "override in the command), while PacGAN trains 400 epochs of 100,000 points with its own "
                  "4x400 ReLU MLPs and VEEGAN its own architectures; their networks, learning rates, batch sizes "
                  "and number of runs are theirs, not this library's configs.  Only the evaluation protocol "
                  "(2,500 samples, 3 std, >= 1 sample a mode) is shared.", ""]
    if digits:
        lines += ["## Digits (8x8, scikit-learn)", "",
                  f"Classes covered and Frechet distance in the digits classifier's features from {DIGITS_SAMPLES} "
                  "samples (comparable between runs of this library only); Parzen-window log-likelihood from "
                  f"{PARZEN_SAMPLES} samples, the GAN paper's Table 1 protocol (legacy metric; [0, 1] pixel scale, "
                  "64 dimensions; mean +- std over seeds, then the mean standard error over test digits and the "
                  "sigmas chosen).", "",
                  "| method | classes covered | digits Frechet distance | Parzen LL (nats) | Parzen s.e. | sigma | "
                  "train s/run | config |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, method, runs in groups(digits):
            sigmas = sorted({f"{r['parzen_sigma']:.3g}" for r in runs})
            lines.append(f"| {METHODS[method]} | {mean_std([r['classes'] for r in runs])} / 10 | "
                         f"{mean_std([r['frechet'] for r in runs])} | {mean_std([r['parzen_ll'] for r in runs])} | "
                         f"{statistics.mean(r['parzen_se'] for r in runs):.2g} | {', '.join(sigmas)} | "
                         f"{mean_std([r['seconds'] for r in runs])} | {runs[0]['config']} |")
        if reference:
            lines.append(f"| *real training digits ({reference['n']}), for reference* | {reference['classes']} / 10 | "
                         f"{reference['frechet']:.3g} | {reference['parzen_ll']:.3g} | {reference['parzen_se']:.2g} | "
                         f"{reference['parzen_sigma']:.3g} | | |")
        lines += ["", "For context only, a different data set: Goodfellow et al. 2014, Table 1, Parzen LL of "
                  "adversarial nets on MNIST (28x28, 784 dimensions) 225 +- 2, on TFD 2057 +- 26.  Log-likelihoods "
                  "in 64 and 784 dimensions are not comparable."]
    path.write_text("\n".join(lines) + "\n")


def write_csv(rows: list[dict], path: Path) -> None:
    fields = ["data", "method", "seed", "seconds", "modes", "n_modes", "hq_fraction", "kl_uniform", "classes",
              "frechet", "parzen_ll", "parzen_se", "parzen_sigma", "config"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def plot_toy(samples: dict, data_modules: dict, path: Path) -> None:
    data = [d for d in DATA if d != "digits" and any(k[0] == d for k in samples)]
    methods = list(dict.fromkeys(m for _, m in samples))
    figure, axes = plt.subplots(len(data), len(methods), figsize=(2.2 * len(methods), 2.2 * len(data)),
                                squeeze=False)
    for i, d in enumerate(data):
        for j, m in enumerate(methods):
            ax = axes[i][j]
            if (d, m) in samples:
                centres = data_modules[d].centres
                points = samples[(d, m)]
                ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4)
                ax.scatter(centres[:, 0], centres[:, 1], s=8, c="red", marker="x")
                lim = float(centres.abs().max()) * 1.5
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{d} {METHODS[m]}", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_digits(samples: dict, path: Path) -> None:
    methods = list(samples)
    figure, axes = plt.subplots(1, len(methods), figsize=(2.2 * len(methods), 2.4), squeeze=False)
    for ax, method in zip(axes[0], methods):
        images = samples[method][:64, 0].clamp(-1, 1)  # (64, 8, 8)
        tiled = images.reshape(8, 8, 8, 8).permute(0, 2, 1, 3).reshape(64, 64)
        ax.imshow(tiled, cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(METHODS[method], fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"1 seed, {QUICK_STEPS} steps a run, {QUICK_N_TRAIN} toy points, no sample pictures")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (--quick: 0)")
    parser.add_argument("--max-steps", nargs="+", default=None, metavar="[DATA=]STEPS",
                        help="optimizer steps a run, overriding the configs' budgets: STEPS for every data set, "
                             "or DATA=STEPS for one (e.g. digits=3000) (--quick: %d)" % QUICK_STEPS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (several runs share the machine)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs finished earlier under --out whose config is unchanged (their "
                             "rows and samples), train the others; lets a long run be split or restarted")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2]
    try:
        args.max_steps = parse_budgets(args.max_steps or ([str(QUICK_STEPS)] if args.quick else []))
    except ValueError as error:
        parser.error(f"--max-steps: {error}")
    return args


def parse_budgets(values: list[str]) -> dict[str, int]:
    """``["2000"]`` -> every data set 2000 steps; ``["digits=3000"]`` -> digits only; later values win."""
    budgets: dict[str, int] = {}
    for value in values:
        data, _, steps = value.rpartition("=")
        if data and data not in DATA:
            raise ValueError(f"unknown data set {data!r} in {value!r}; one of {', '.join(DATA)}")
        if not steps.isdigit() or int(steps) < 1:
            raise ValueError(f"steps must be a positive integer, got {value!r}")
        budgets.update({d: int(steps) for d in ([data] if data else DATA)})
    return budgets


def load_finished(run_dir: Path, config: dict):
    """``(row, samples)`` of a run finished earlier in ``run_dir`` with this exact ``config``, else ``None``."""
    result, samples = run_dir / RESULT_FILE, run_dir / SAMPLES_FILE
    if not (result.is_file() and samples.is_file()):
        return None
    saved = json.loads(result.read_text())
    if saved.get("config") != config:
        return None
    return saved["row"], torch.load(samples)


def save_finished(run_dir: Path, config: dict, row: dict, samples: torch.Tensor) -> None:
    """Keep a finished run's row and samples so that ``--resume`` can reuse it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.save(samples, run_dir / SAMPLES_FILE)
    (run_dir / RESULT_FILE).write_text(json.dumps({"config": config, "row": row}, indent=1))


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    command = "python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    evaluator = DigitsEvaluator() if "digits" in args.data else None
    rows, toy_samples, digit_samples, data_modules = [], {}, {}, {}
    start = time.perf_counter()
    for data in args.data:
        for method in args.methods:
            base, derived = config_for(data, method)
            for seed in args.seeds:
                name = f"{data}_{method}_s{seed}"
                run_dir = args.out / "runs" / name
                config = patch_config(base, seed, run_dir, args.max_steps.get(data), args.quick)
                finished = load_finished(run_dir, config) if args.resume else None
                if finished is not None:
                    row, samples = finished
                else:
                    sampler, datamodule, seconds = train_run(config, args.out / "configs" / f"{name}.yaml")
                    row = {"data": data, "method": method, "seed": seed, "seconds": round(seconds, 2),
                           "config": f"configs/ring8_{method}.yaml + grid25 data (derived)" if derived
                           else f"configs/{data}_{method}.yaml"}
                    samples = draw(sampler, PARZEN_SAMPLES if data == "digits" else TOY_SAMPLES)
                    row.update(evaluator(samples) if data == "digits" else toy_metrics(samples, datamodule))
                    save_finished(run_dir, config, row, samples)
                if data == "digits":
                    digit_samples.setdefault(method, samples)
                else:
                    toy_samples.setdefault((data, method), samples)
                    data_modules.setdefault(data, datamodule_from(config["data"]))  # centres and std
                rows.append(row)
                print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    total = time.perf_counter() - start
    reference = evaluator.reference() if evaluator is not None else None
    write_markdown(rows, args.out / "quality.md", command, total, args.seeds, args.quick, reference, args.max_steps)
    write_csv(rows, args.out / "quality.csv")
    if toy_samples:
        plot_toy(toy_samples, data_modules, args.out / "quality_toy.png")
    if digit_samples:
        plot_digits(digit_samples, args.out / "quality_digits.png")
    print(f"wrote {args.out / 'quality.md'} in {total:.0f} s")
    return rows


if __name__ == "__main__":
    main()
