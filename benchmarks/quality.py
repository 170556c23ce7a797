"""Sample quality of every method on ring8, grid25 and digits, over seeds, with the repo's configs.

    python benchmarks/quality.py                       # 3 seeds, the configs' full step budgets (hours on CPU)
    python benchmarks/quality.py --quick               # 1 seed, 60 optimizer steps a run (~35 s)
    python benchmarks/quality.py --methods gan nsgan --data ring8 --seeds 0 1 --max-steps 2000
    python benchmarks/quality.py --max-steps digits=3000 --resume   # digits shortened; reuse finished runs

Every run is ``python train.py fit --config configs/<data>_<method>.yaml`` (run in-process through
:func:`train.main`) with ``seed_everything`` set to the seed; the config actually run is written to
``<out>/configs/`` (so any run can be repeated with ``train.py``).  The PacGAN rows (``gan_pack2`` .. ``gan_pack4``: the non-saturating GAN with ``packing`` 2-4,
Lin et al. 2018) have grid25 configs only; a method without a config for a data set is skipped there.

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
  the strict count (>= 10 high-quality samples), high-quality fraction, KL of the high-quality mode histogram
  to uniform (PacGAN's reverse KL);
* digits: ``PARZEN_SAMPLES`` (10,000) samples; the first ``DIGITS_SAMPLES`` (2,000) scored by
  :class:`lightning_gans.gan_modules.metrics.digits_classifier.DigitsMetrics` (classes covered, Frechet distance in
  the digits classifier's features against all 1,797 real digits), all 10,000 by the Parzen-window
  log-likelihood (Goodfellow et al. 2014 Table 1 protocol: [0, 1] pixel scale, sigma from
  ``logspace(-1, 0, 10)`` chosen on one half of the Digits datamodule's validation split, LL and its
  standard error over the other half).  A reference row scores the real training split the same way.

AdaGAN is evaluated on its boosted mixture (``AdaGAN.mixture``), the other methods with ``module.sample``.
Writes ``quality.md`` (mean +- standard error over seeds, training seconds a run, command, date, the
published PacGAN / VEEGAN toy rows),
``quality.csv`` (one row per run) and ``quality_toy.png`` / ``quality_digits.png`` (the first seed whose
samples are recorded).  Each finished run leaves a record, ``<out>/records/<run>.json`` (config and row) and
``.pt`` (samples), which ``--resume`` and ``--finished-only`` read; the toy records are in git
(``benchmarks/results/toys/records/``), so more seeds can be added to the committed table anywhere.
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
           "dragan_ns": "DRAGAN-NS", "alpha_gan": "alpha-GAN", "adagan": "AdaGAN",
           "gan_pack2": "NS-GAN, packing 2", "gan_pack3": "NS-GAN, packing 3", "gan_pack4": "NS-GAN, packing 4",
           "lsgan": "LSGAN", "rasgan": "RaSGAN", "ralsgan": "RaLSGAN", "rahinge": "RaHingeGAN"}
DATA = ("ring8", "grid25", "digits")
TOY_SAMPLES = 2_500  # VEEGAN / PacGAN protocol
DIGITS_SAMPLES = 2_000  # generated digits for the classifier metrics (CPU-sized)
PARZEN_SAMPLES = 10_000  # generated digits for the Parzen window (the GAN paper's parzen_ll.py default, -n 10000)
QUICK_STEPS = 60  # optimizer steps of a --quick run
QUICK_N_TRAIN = 4_096  # toy training points of a --quick run
QUICK_CLASSIFIER_STEPS = 20  # AdaGAN mixture-classifier steps of a --quick run
SAMPLING_SEED = 12_345
RECORDS = "records"  # <out>/records/<run>.json and .pt: a finished run, reused by --resume (record_paths)

#: Published toy results on the same mixtures and metric: (source, model, ring modes, ring high-quality %,
#: grid modes, grid high-quality %), read from the authors' tables: PacGAN Table 1 [Lin et al. 2018; mean over
#: 10 trials] and VEEGAN Table 1 [Srivastava et al. 2017].
PUBLISHED = (
    ("PacGAN Table 1", "GAN", "6.3", "98.2", "17.3", "94.8"),
    ("PacGAN Table 1", "PacGAN4", "7.8", "95.9", "24.8", "93.6"),
    ("VEEGAN Table 1", "GAN", "1", "99.3", "3.3", "0.5"),
    ("VEEGAN Table 1", "Unrolled GAN", "7.6", "35.6", "23.6", "16"),
    ("VEEGAN Table 1", "VEEGAN", "8", "52.9", "24.6", "40"),
)
#: How the published set-ups differ from this library's runs (the evaluation protocol is shared).
PUBLISHED_SETUPS = (
    "PacGAN [code: fjxmlzn/PacGAN, 2DGrid/2DRing configs]: generator 4x400 ReLU with batch norm, discriminator "
    "3 maxout layers of 200 units (5 pieces), Adam(1e-4, beta1 0.8), batches of 100 packs, 400 epochs of 100,000 "
    "points (about 400,000 updates of each player), GPU; PacGAN4 is its GAN with packing 4",
    "VEEGAN: the authors' own architectures and budgets (Srivastava et al. 2017, Sec. 5.1 and appendix)",
    "here: the configs' MLPs and a CPU budget of at most 10 minutes a run on one thread (`trainer.max_steps` "
    "in each config, or the command's override); fewer seeds than PacGAN's 10 trials",
)
STANDARD_ERROR = "mean ± standard error over seeds"


def config_for(data: str, method: str) -> dict | None:
    """The repo's config ``configs/<data>_<method>.yaml`` as a dict; ``None`` when there is none."""
    path = ROOT / "configs" / f"{data}_{method}.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


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
    """Write ``config`` to ``path``, train it in-process; return ``(sampler with sample(n), datamodule,
    wall seconds, CPU seconds)``.  The CPU seconds (this process's, all threads) are the budget that
    holds on a shared machine, where the wall time also counts the other users' turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cli = train.main(["fit", "--config", str(path)])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    adagan = next((c for c in cli.trainer.callbacks if isinstance(c, AdaGAN)), None)
    sampler = adagan.mixture if adagan is not None else cli.model
    return sampler.eval(), cli.trainer.datamodule, seconds, cpu_seconds


@torch.no_grad()
def draw(sampler, n: int) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SAMPLING_SEED)
        return sampler.sample(n).float().cpu()


def toy_metrics(samples: torch.Tensor, datamodule) -> dict:
    stats = mode_statistics(samples, datamodule.centres, datamodule.std)
    return {"modes": stats["modes_captured"], "modes_strict": stats["modes_captured_strict"],
            "n_modes": len(datamodule.centres),
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


def mean_se(values: list[float]) -> str:
    """``"mean ± s.e."`` of the finite ``values``, the standard error ``stdev / sqrt(n)``; one value bare."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "nan"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values) / math.sqrt(len(values)):.2g}"


def write_markdown(rows: list[dict], path: Path, command: str, total_seconds: float, seeds: list[int],
                   quick: bool, reference: dict | None = None, budgets: dict[str, int] | None = None) -> None:
    toy = [r for r in rows if r["data"] != "digits"]
    digits = [r for r in rows if r["data"] == "digits"]
    lines = ["# Sample quality of every method", "",
             f"Command: `{command}`  ", f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}  ",
             f"Seeds: {seeds} (each row over those it has, column 'seeds'; {STANDARD_ERROR}); training time summed over the {len(rows)} runs "
             f"{sum(r['seconds'] for r in rows):.0f} s "
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
                  "Modes captured: >= 1 high-quality sample (within 3 std; PacGAN, VEEGAN); strict: >= 10 "
                  "(a blur over the square passes the first, not this); KL: of the high-quality mode histogram "
                  f"to uniform (PacGAN's reverse KL); {STANDARD_ERROR}.", "",
                  "| data | method | modes captured | modes, >= 10 samples | high-quality % | KL to uniform | "
                  "train CPU s/run | train wall s/run | seeds | config |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for data, method, runs in groups(toy):
            lines.append(f"| {data} | {METHODS[method]} | {mean_se([r['modes'] for r in runs])} / "
                         f"{runs[0]['n_modes']} | {mean_se([r['modes_strict'] for r in runs])} | "
                         f"{mean_se([100 * r['hq_fraction'] for r in runs])} | "
                         f"{mean_se([r['kl_uniform'] for r in runs])} | {mean_se(cpu_seconds(runs))} | "
                         f"{mean_se([r['seconds'] for r in runs])} | {len(runs)} | {runs[0]['config']} |")
        lines += ["", "Published results on the same mixtures and metric (read from the authors' tables):", "",
                  "| source | model | ring8 modes | ring8 high-quality % | grid25 modes | grid25 high-quality % |",
                  "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in PUBLISHED]
        lines += ["", "Set-ups differ (only the evaluation protocol, 2,500 samples and 3 std, is shared):", ""]
        lines += [f"* {setup}." for setup in PUBLISHED_SETUPS]
        lines += [""]
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
            lines.append(f"| {METHODS[method]} | {mean_se([r['classes'] for r in runs])} / 10 | "
                         f"{mean_se([r['frechet'] for r in runs])} | {mean_se([r['parzen_ll'] for r in runs])} | "
                         f"{statistics.mean(r['parzen_se'] for r in runs):.2g} | {', '.join(sigmas)} | "
                         f"{mean_se([r['seconds'] for r in runs])} | {runs[0]['config']} |")
        if reference:
            lines.append(f"| *real training digits ({reference['n']}), for reference* | {reference['classes']} / 10 | "
                         f"{reference['frechet']:.3g} | {reference['parzen_ll']:.3g} | {reference['parzen_se']:.2g} | "
                         f"{reference['parzen_sigma']:.3g} | | |")
        lines += ["", "For context only, a different data set: Goodfellow et al. 2014, Table 1, Parzen LL of "
                  "adversarial nets on MNIST (28x28, 784 dimensions) 225 +- 2, on TFD 2057 +- 26.  Log-likelihoods "
                  "in 64 and 784 dimensions are not comparable."]
    path.write_text("\n".join(lines) + "\n")


def cpu_seconds(runs: list[dict]) -> list[float]:
    """The runs' training CPU seconds (``nan`` for rows saved before they were measured)."""
    return [r.get("cpu_seconds", math.nan) for r in runs]


def write_csv(rows: list[dict], path: Path) -> None:
    fields = ["data", "method", "seed", "seconds", "cpu_seconds", "modes", "modes_strict", "n_modes", "hq_fraction",
              "kl_uniform", "classes",
              "frechet", "parzen_ll", "parzen_se", "parzen_sigma", "config"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def data_limits(centres: torch.Tensor) -> tuple[float, float]:
    """Axis range of a toy panel: the modes' extent plus a quarter of it each side, whatever the samples do
    (a stray sample must not shrink the learned modes to a dot)."""
    low, high = float(centres.min()), float(centres.max())
    margin = 0.25 * (high - low)
    return low - margin, high + margin


def plot_toy(samples: dict, data_modules: dict, path: Path) -> None:
    data = [d for d in DATA if d != "digits" and any(k[0] == d for k in samples)]
    methods = list(dict.fromkeys(m for _, m in samples))
    figure, axes = plt.subplots(len(data), len(methods), figsize=(2.2 * len(methods), 2.2 * len(data)),
                                squeeze=False)
    for i, d in enumerate(data):
        for j, m in enumerate(methods):
            ax, title = axes[i][j], f"{d} {METHODS[m]}"
            if (d, m) in samples:
                centres = data_modules[d].centres
                seed, points = samples[(d, m)]
                ax.scatter(centres[:, 0], centres[:, 1], s=30, facecolors="none", edgecolors="red", linewidths=0.5)
                ax.scatter(points[:, 0], points[:, 1], s=0.5, alpha=0.5, c="black", linewidths=0)
                low, high = data_limits(centres)
                ax.set_xlim(low, high)
                ax.set_ylim(low, high)
                ax.set_aspect("equal")
                title += f", seed {seed}"
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
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
    parser.add_argument("--finished-only", action="store_true",
                        help="train nothing: the table of the runs finished earlier under --out with unchanged "
                             "configs (as --resume), each row over the seeds it has (column 'seeds')")
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


def portable(config: dict) -> dict:
    """``config`` without ``trainer.default_root_dir`` (where the run wrote, which differs between
    checkouts): the part of a run's config that decides its result, as records compare it."""
    config = copy.deepcopy(config)
    config["trainer"].pop("default_root_dir", None)
    return config


def record_paths(out: Path, name: str) -> tuple[Path, Path]:
    """A finished run's record under ``out``: ``records/<name>.json`` (its config and row) and
    ``records/<name>.pt`` (its samples).  The toy records are small and kept in git, so that the table
    can be regenerated, or extended by more seeds, in another checkout."""
    return out / RECORDS / f"{name}.json", out / RECORDS / f"{name}.pt"


def load_finished(out: Path, name: str, config: dict):
    """``(row, samples)`` of the run ``name`` recorded under ``out`` with this ``config`` (compared
    :func:`portable`), else ``None``.  ``samples`` is ``None`` for a record kept without them (the
    row still counts in the table; the figure takes another seed)."""
    result, samples = record_paths(out, name)
    if not result.is_file():
        return None
    saved = json.loads(result.read_text())
    if saved.get("config") != portable(config):
        return None
    return saved["row"], (torch.load(samples) if samples.is_file() else None)


def save_finished(out: Path, name: str, config: dict, row: dict, samples: torch.Tensor) -> None:
    """Record a finished run's config, row and samples so that ``--resume`` can reuse it."""
    result, samples_path = record_paths(out, name)
    result.parent.mkdir(parents=True, exist_ok=True)
    torch.save(samples, samples_path)
    result.write_text(json.dumps({"config": portable(config), "row": row}, indent=1) + "\n")


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
            base = config_for(data, method)
            if base is None:
                continue
            for seed in args.seeds:
                name = f"{data}_{method}_s{seed}"
                run_dir = args.out / "runs" / name
                config = patch_config(base, seed, run_dir, args.max_steps.get(data), args.quick)
                finished = load_finished(args.out, name, config) if args.resume or args.finished_only else None
                if finished is not None:
                    row, samples = finished
                elif args.finished_only:
                    continue
                else:
                    sampler, datamodule, seconds, cpu = train_run(config, args.out / "configs" / f"{name}.yaml")
                    row = {"data": data, "method": method, "seed": seed, "seconds": round(seconds, 2),
                           "cpu_seconds": round(cpu, 2),
                           "config": f"configs/{data}_{method}.yaml"}
                    samples = draw(sampler, PARZEN_SAMPLES if data == "digits" else TOY_SAMPLES)
                    row.update(evaluator(samples) if data == "digits" else toy_metrics(samples, datamodule))
                    save_finished(args.out, name, config, row, samples)
                if data == "digits" and samples is not None:
                    digit_samples.setdefault(method, samples)
                elif samples is not None:  # a record kept without samples is in the table, not in the figure
                    toy_samples.setdefault((data, method), (seed, samples))
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
