"""Fault injection: kill training N times at random moments, resume from disk, compare bit for bit.

    python benchmarks/faults.py [--kills 10] [--signals mixed] [--seed 0] [--out runs/faults]
                                [--runs max_steps,max_epochs,adagan] [--quick] [--ties interrupted]
                                [--reseed] [--jobs 2]

Like the crash tests of databases.  For each run kind the real CLI (``python train.py fit --config
configs/ring8_*.yaml`` with small networks and budgets on the command line, ``--seed_everything``)
trains once without interruption (the reference) and once under fire: the training subprocess is
killed ``--kills`` times at random (seeded) moments with SIGKILL, SIGINT or SIGTERM (``--signals``;
``mixed``: the three in turn), and after each kill the same command is started again with
``--ckpt_path`` on the newest readable checkpoint on disk (the largest ``global_step``; at equal steps
``interrupted.ckpt``, the file the CLI says to resume from, else the file written last; ``--ties
newest``: always the file written last; none readable: start over).  A checkpoint that ``torch.load``
(``weights_only=True``) cannot read is counted as unreadable.

At the end the two runs' final checkpoints (the newest of the epoch-end ``ModelCheckpoint``, below)
are compared bit for bit: weights and moving averages (``state_dict``), optimizer states, the RNG
state (``rng_state``, :mod:`lightning_gans.gan_modules.training.rng`), ``global_step``, ``epoch``, the
module's counters, the datamodule's sampler and, for AdaGAN, the callback's state (mixture components
and weights, data weights, stage, history).  Lightning's loop counters (``loops``) are compared and
reported apart (:data:`INFORMATIONAL`).  Every process prints a hash of the module's tensors and the
RNG state after every batch (:class:`StepBeacon`), so the report also names the first batch at which
the run under fire left the reference run, and the kill and checkpoint that led there.

Run kinds (ring8, networks 2 x 32, one torch thread a process, 2 processes side by side):

* ``max_steps``:  configs/ring8_nsgan.yaml (GAN, non-saturating loss, EMA), ``trainer.max_steps``;
* ``max_epochs``: configs/ring8_wgan_gp.yaml (WGAN-GP, n_critic 2: one or two optimizer steps a
  batch), ``trainer.max_epochs`` with a validation set (a validation epoch after every training epoch);
* ``adagan``:     configs/ring8_adagan.yaml (NS-GAN-GP components), 3 stages of 2 epochs (``--quick``:
  2 stages), a short data-vs-mixture classifier.

Every process of a run gets the same ``--trainer.default_root_dir`` and ``--trainer.logger false``; the
config's ``ModelCheckpoint`` is replaced by two: one with ``save_last`` every ``K`` optimizer steps
(``last.ckpt``; SaveOnInterrupt writes ``interrupted.ckpt`` beside it) and one at every epoch end
(``<run>/checkpoints/epoch_end/``: the state after an AdaGAN stage's end, and the final state).  Every
``*.ckpt`` under the run's directory is a candidate to resume from.  Each process's stdout and stderr go
to ``<run>/logs/``.

Kill moments: the reference run's timeline (the wall time of every batch from its first to its last)
is the clock; ``--kills`` moments are drawn uniformly over it and sorted.  A process is killed when its
progress, read on that clock (the reference time of its last finished batch plus the time since that
batch), reaches the next moment: at once when the moment lies in the steps it re-does, else at a
random point inside a batch, a checkpoint write or an AdaGAN stage's end.

Reported per run kind: kills by signal, kills survived (the next process resumed and trained on, or
found the run finished), whether the final checkpoints are bit-identical (and which keys differ),
checkpoints that could not be read, resumes from a mid-run checkpoint, work lost per kill (optimizer
steps the killed process had finished beyond the checkpoint the next process resumes from: mean, max,
and the mean over SIGKILLs) and wall times.  Exit status 1 when a run is not bit-identical, a
checkpoint was unreadable or a run failed.  The table, the notes and every kill go to
``<out>/faults.md`` and ``<out>/faults.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import lightning.pytorch as pl
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(__file__).resolve().parent
BEACON = "faults-beacon"
SIGNALS = {"sigkill": signal.SIGKILL, "sigint": signal.SIGINT, "sigterm": signal.SIGTERM}
SIGNAL_NAMES = {number: name for name, number in SIGNALS.items()}
EXPECTED_EXIT = {signal.SIGKILL: -signal.SIGKILL, signal.SIGINT: 128 + signal.SIGINT,
                 signal.SIGTERM: 128 + signal.SIGTERM}


# ---------------------------------------------------------------------------------- in the training process
def state_hash(pl_module: pl.LightningModule) -> str:
    """A digest of the module's tensors (weights, moving averages) and torch's CPU RNG state, bit for bit."""
    digest = hashlib.blake2b(digest_size=8)
    for name, tensor in pl_module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    digest.update(torch.get_rng_state().numpy().tobytes())
    return digest.hexdigest()


class StepBeacon(pl.Callback):
    """Print ``faults-beacon <global_step> <epoch> <state hash>`` after every training batch (flushed), and
    one line with the torch thread count when training starts.  It only reads the trainer and the module;
    the hashes tell at which step a resumed run left the uninterrupted one (:func:`state_hash`)."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        print(f"{BEACON}-threads {torch.get_num_threads()}", flush=True)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        print(f"{BEACON} {trainer.global_step} {trainer.current_epoch} {state_hash(pl_module)}", flush=True)


# ---------------------------------------------------------------------------------- the runs
NETWORKS = ["--model.init_args.generator.init_args.hidden=32", "--model.init_args.generator.init_args.n_layers=2",
            "--model.init_args.discriminator.init_args.hidden=32",
            "--model.init_args.discriminator.init_args.n_layers=2"]


@dataclass
class RunKind:
    name: str
    config: str
    overrides: list[str]  # trainer budget and data
    quick_overrides: list[str]
    every_n_train_steps: int  # the ModelCheckpoint writing last.ckpt
    callback_args: dict[str, dict[str, Any]] = field(default_factory=dict)  # class name -> init_args updates


RUN_KINDS = {
    "max_steps": RunKind(
        "max_steps", "configs/ring8_nsgan.yaml",
        ["--trainer.max_steps=4000", "--data.init_args.n_train=2000", "--data.init_args.n_val=0"],
        ["--trainer.max_steps=1200", "--data.init_args.n_train=2000", "--data.init_args.n_val=0"],
        every_n_train_steps=20,
        callback_args={"SampleFigures": {"every_n_steps": 1500, "n_samples": 500}}),
    "max_epochs": RunKind(
        "max_epochs", "configs/ring8_wgan_gp.yaml",
        ["--trainer.max_steps=-1", "--trainer.max_epochs=60", "--data.init_args.n_train=2000",
         "--data.init_args.n_val=200"],
        ["--trainer.max_steps=-1", "--trainer.max_epochs=20", "--data.init_args.n_train=2000",
         "--data.init_args.n_val=200"],
        every_n_train_steps=15,
        callback_args={"SampleFigures": {"every_n_steps": 1000, "n_samples": 500}}),
    "adagan": RunKind(
        "adagan", "configs/ring8_adagan.yaml",
        ["--trainer.max_epochs=6", "--data.init_args.n_train=8000", "--data.init_args.n_val=0"],
        ["--trainer.max_epochs=4", "--data.init_args.n_train=3000", "--data.init_args.n_val=0"],
        every_n_train_steps=20,
        callback_args={"AdaGAN": {"stages": 3, "epochs_per_stage": 2, "classifier_steps": 200, "eval_samples": 500},
                       "SampleFigures": {"every_n_steps": 1000, "n_samples": 500}}),
}
QUICK_CALLBACK_ARGS = {"adagan": {"AdaGAN": {"stages": 2, "epochs_per_stage": 2, "classifier_steps": 100}}}


def callbacks_for(kind: RunKind, run_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """The config's callbacks (its ModelCheckpoint left out, the others' budgets shrunk), the beacon and
    two ``ModelCheckpoint``s: ``last.ckpt`` every ``K`` optimizer steps, and one at every epoch end."""
    config = yaml.safe_load((ROOT / kind.config).read_text())
    updates = {name: dict(args) for name, args in kind.callback_args.items()}
    if quick:
        for name, args in QUICK_CALLBACK_ARGS.get(kind.name, {}).items():
            updates.setdefault(name, {}).update(args)
    callbacks = []
    for callback in config["trainer"].get("callbacks", []):
        name = callback["class_path"].rsplit(".", 1)[-1]
        if name == "ModelCheckpoint":
            continue
        callbacks.append({"class_path": callback["class_path"],
                          "init_args": {**callback.get("init_args", {}), **updates.get(name, {})}})
    checkpoint = "lightning.pytorch.callbacks.ModelCheckpoint"
    callbacks += [
        {"class_path": "faults.StepBeacon"},
        {"class_path": checkpoint, "init_args": {"save_last": True, "every_n_train_steps": kind.every_n_train_steps}},
        {"class_path": checkpoint, "init_args": {"dirpath": str(run_dir / "checkpoints" / "epoch_end"),
                                                 "every_n_epochs": 1}},
    ]
    return callbacks


def command(kind: RunKind, run_dir: Path, seed: int, quick: bool, ckpt_path: Optional[Path] = None) -> list[str]:
    args = [sys.executable, "train.py", "fit", "--config", kind.config, *(kind.quick_overrides if quick else
                                                                          kind.overrides), *NETWORKS,
            f"--trainer.callbacks={json.dumps(callbacks_for(kind, run_dir, quick))}",
            f"--trainer.default_root_dir={run_dir}", "--trainer.logger=false", "--trainer.enable_progress_bar=false",
            f"--seed_everything={seed}"]
    if ckpt_path is not None:
        args += ["--ckpt_path", str(ckpt_path)]
    return args


def environment() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", WANDB_MODE="offline", WANDB_SILENT="true")
    env["PYTHONPATH"] = os.pathsep.join([str(BENCHMARKS), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


# ---------------------------------------------------------------------------------- checkpoints on disk
@dataclass
class Checkpoint:
    path: Path
    global_step: Optional[int]  # None: unreadable
    mtime_ns: int
    size: int
    error: str = ""

    @property
    def readable(self) -> bool:
        return self.global_step is not None


def scan_checkpoints(directory: Path) -> list[Checkpoint]:
    """Every ``*.ckpt`` under ``directory`` (any depth), read with ``torch.load`` (``weights_only=True``, as the README
    promises); one that fails to load is kept with ``global_step=None``."""
    found = []
    for path in sorted(directory.rglob("*.ckpt")) if directory.is_dir() else []:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        try:
            step = int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
            found.append(Checkpoint(path, step, stat.st_mtime_ns, stat.st_size))
        except Exception as error:  # noqa: BLE001 -- any failure to read is what is counted
            message = f"{type(error).__name__}: {error}"[:300]
            found.append(Checkpoint(path, None, stat.st_mtime_ns, stat.st_size, message))
    return found


def newest_checkpoint(checkpoints: Sequence[Checkpoint], ties: str = "interrupted") -> Optional[Checkpoint]:
    """The checkpoint to resume from: the readable one with the largest ``global_step``; ``None`` when none
    is readable (start over).  Of several at that step, ``ties="interrupted"`` takes ``interrupted.ckpt``
    (the one the CLI says to resume from), else the file written last (as ``ties="newest"`` does for all:
    an epoch-end checkpoint is written after the batch-end one of the same step)."""
    readable = [c for c in checkpoints if c.readable]
    if ties == "interrupted":
        return max(readable, key=lambda c: (c.global_step, c.path.name == "interrupted.ckpt", c.mtime_ns), default=None)
    return max(readable, key=lambda c: (c.global_step, c.mtime_ns), default=None)


def final_checkpoint(run_dir: Path) -> Optional[Checkpoint]:
    """The state at the end of a run: the newest checkpoint of the epoch-end ``ModelCheckpoint``
    (``checkpoints/epoch_end/``, written after every epoch's end: after an AdaGAN stage's end, and when
    ``max_steps`` stops the run), the same in the reference run and in the run under fire."""
    return newest_checkpoint(scan_checkpoints(run_dir / "checkpoints" / "epoch_end"), ties="newest")


def misnamed(checkpoints: Sequence[Checkpoint]) -> list[str]:
    """Checkpoints whose file name says ``step=N`` for another ``global_step``."""
    wrong = []
    for c in checkpoints:
        match = re.search(r"step=(\d+)", c.path.name)
        if c.readable and match and int(match.group(1)) != c.global_step:
            wrong.append(f"{c.path.name} holds global_step {c.global_step}")
    return wrong


# ---------------------------------------------------------------------------------- comparing states
#: compared and reported, but not part of "bit-identical": Lightning's progress counters (a resume from an
#: epoch-end checkpoint replays the epoch's end, which Lightning counts again: ``_batches_that_stepped``,
#: ``epoch_progress.*.processed``), which set the logging cadence and nothing of the training itself
INFORMATIONAL = ("loops",)

def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where ``a`` and ``b`` differ, bit for bit (tensors: dtype, shape and every value; NaN = NaN)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return [path]
        if a.dtype != b.dtype or a.shape != b.shape:
            return [path]
        if torch.equal(a, b):
            return []
        if a.is_floating_point() and torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(0.0),
                                                                                       b.nan_to_num(0.0)):
            return []
        return [path]
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                out.append(f"{path}.{key}" if path else str(key))
            else:
                out += differences(a[key], b[key], f"{path}.{key}" if path else str(key))
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [path]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return []
    return [] if type(a) is type(b) and a == b else [path]


def comparable(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint less what names its directory (the states of checkpoint callbacks: their paths), with
    each other callback's state as a key of its own (``callbacks:AdaGAN``: the mixture)."""
    state = {key: value for key, value in checkpoint.items() if key != "callbacks"}
    for name, value in checkpoint.get("callbacks", {}).items():
        if not (isinstance(value, dict) and "dirpath" in value):
            state[f"callbacks:{name.split('{')[0]}"] = value
    return state


def compare(reference: Path, resumed: Path) -> dict[str, list[str]]:
    """Top-level key -> differing paths, for the two checkpoints (empty: bit-identical)."""
    a = comparable(torch.load(reference, map_location="cpu", weights_only=True))
    b = comparable(torch.load(resumed, map_location="cpu", weights_only=True))
    out = {}
    for key in list(a) + [k for k in b if k not in a]:
        diff = differences(a.get(key, "<missing>"), b.get(key, "<missing>"), key)
        if diff:
            out[key] = diff
    return out


# ---------------------------------------------------------------------------------- one training process
class Process:
    """A training subprocess whose stdout (a file in ``logs/``) is read for the beacon's lines."""

    def __init__(self, args: list[str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = log.with_suffix(".out"), log.with_suffix(".err")
        self._out, self._err = self.out_path.open("wb"), self.err_path.open("wb")
        self.started = time.monotonic()
        self.popen = subprocess.Popen(args, cwd=ROOT, env=environment(), stdout=self._out, stderr=self._err,
                                      start_new_session=True)
        self.steps: list[tuple[float, int]] = []  # (monotonic time it was read, global_step)
        self.hashes: list[tuple[int, int, str]] = []  # (global_step, epoch, state hash) after every batch
        self.threads: Optional[int] = None
        self._offset, self._partial = 0, b""

    def read(self) -> None:
        with self.out_path.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        now = time.monotonic()
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if line.startswith(BEACON.encode() + b" "):
                _, step, epoch, digest = line.decode().split()
                self.steps.append((now, int(step)))
                self.hashes.append((int(step), int(epoch), digest))
            elif line.startswith(BEACON.encode() + b"-threads "):
                self.threads = int(line.split()[1])

    @property
    def last_step(self) -> Optional[int]:
        return self.steps[-1][1] if self.steps else None

    def wait_for(self, condition, timeout: float) -> bool:
        """Poll (10 ms) until ``condition()`` or the process exits or ``timeout``; True when condition held."""
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if condition():
                return True
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.read()
                return condition()
            time.sleep(0.01)

    def finish(self, timeout: float) -> int:
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait()
        self.read()
        self._out.close()
        self._err.close()
        return code

    def stderr_tail(self, n: int = 2000) -> str:
        return self.err_path.read_text(errors="replace")[-n:]


# ---------------------------------------------------------------------------------- one run kind
@dataclass
class Kill:
    number: int
    signal: str
    process: int
    resumed_from_step: int  # the checkpoint this process started from (0: from scratch)
    planned_at_s: float  # the moment on the reference timeline
    delay_s: float  # after the process's first batch
    step_at_kill: Optional[int]  # last finished batch's global_step when the signal went out
    exit_code: Optional[int] = None
    expected_exit: Optional[int] = None
    last_step: Optional[int] = None  # the process's last finished batch
    checkpoint: str = ""  # what the next process resumes from
    checkpoint_step: int = 0
    work_lost: Optional[int] = None
    survived: bool = False
    note: str = ""


@dataclass
class Result:
    kind: str
    kills: list[Kill] = field(default_factory=list)
    reference_wall_s: float = 0.0
    faults_wall_s: float = 0.0
    final_step: Optional[int] = None
    reference_checkpoint: str = ""
    final_checkpoint: str = ""
    differences: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    misnamed: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  # where the processes of the run wrote config.yaml
    divergence: str = ""  # the first batch at which the run under fire left the reference run
    resumes: list[int] = field(default_factory=list)  # steps of the checkpoints every process started from
    processes: int = 0
    threads: list[int] = field(default_factory=list)
    failure: str = ""

    @property
    def state_differences(self) -> list[str]:
        """The differing keys of the training state: everything but Lightning's loop counters (``loops``)."""
        return sorted(key for key in self.differences if key not in INFORMATIONAL)

    @property
    def identical(self) -> bool:
        return not self.failure and not self.state_differences and bool(self.final_checkpoint)

    @property
    def mid_run_resumes(self) -> int:
        return sum(1 for step in self.resumes if 0 < step < (self.final_step or 0))


class Runner:
    def __init__(self, kind: RunKind, args: argparse.Namespace, log_lock: threading.Lock) -> None:
        self.kind, self.args, self.lock = kind, args, log_lock
        self.root = Path(args.out) / kind.name
        self.result = Result(kind.name)
        self.reference_timeline: list[tuple[float, int]] = []  # (s since first batch, global_step)
        self.reference_hashes: dict[int, tuple[int, str]] = {}  # global_step -> (epoch, state hash)
        self.launched: list[tuple[int, int, str, Process]] = []  # (process, resumed from step, checkpoint, process)
        self.reference_span = 0.0
        self._unreadable_seen: set[tuple[str, int, int]] = set()

    def say(self, message: str) -> None:
        with self.lock:
            print(f"[{self.kind.name}] {message}", flush=True)

    def timeout(self) -> float:
        return 600.0 if not self.reference_wall_s else 10 * self.reference_wall_s + 300.0

    @property
    def reference_wall_s(self) -> float:
        return self.result.reference_wall_s

    # ------------------------------------------------------------------ the uninterrupted run
    def reference(self) -> None:
        run_dir = self.root / "reference"
        start = time.monotonic()
        process = Process(command(self.kind, run_dir, self.args.seed, self.args.quick), run_dir / "logs" / "p00")
        process.wait_for(lambda: False, timeout=self.timeout())  # read the beacon as it comes: the timeline
        code = process.finish(timeout=self.timeout())
        end = time.monotonic()
        self.result.reference_wall_s = end - start
        if code != 0 or not process.steps:
            self.result.failure = f"reference run exited {code}: {process.stderr_tail()}"
            self.say(self.result.failure)
            return
        first = process.steps[0][0]
        self.reference_timeline = [(t - first, step) for t, step in process.steps]
        self.reference_hashes = {step: (epoch, digest) for step, epoch, digest in process.hashes}
        self.reference_span = self.reference_timeline[-1][0]  # first to last batch: kill moments lie in it
        if process.threads is not None:
            self.result.threads.append(process.threads)
        final = final_checkpoint(run_dir)
        self.result.reference_checkpoint = str(final.path) if final else ""
        self.result.final_step = final.global_step if final else None
        self.say(f"reference: {self.result.reference_wall_s:.1f} s, training {self.reference_span:.1f} s, "
                 f"final global_step {self.result.final_step}")

    def reference_time_of(self, step: int) -> float:
        """When the reference run finished the batch that reached ``step`` (seconds after its first batch)."""
        for t, s in self.reference_timeline:
            if s >= step:
                return t
        return self.reference_span

    # ------------------------------------------------------------------ the run under fire
    def plan(self) -> list[tuple[float, int]]:
        """(moment on the reference timeline, signal) of every kill, in order."""
        rng = random.Random(f"{self.args.seed}-{self.kind.name}")
        moments = sorted(rng.uniform(0.0, self.reference_span) for _ in range(self.args.kills))
        names = self.args.signals
        if names == ["mixed"]:  # the three in turn, each run kind one further on: all three even at 2 kills a kind
            shift = list(RUN_KINDS).index(self.kind.name)
            names = list(SIGNALS)[shift % 3:] + list(SIGNALS)[:shift % 3]
        return [(moment, SIGNALS[names[i % len(names)]]) for i, moment in enumerate(moments)]

    def scan(self, run_dir: Path) -> Optional[Checkpoint]:
        checkpoints = scan_checkpoints(run_dir)
        for c in checkpoints:
            identity = (str(c.path), c.mtime_ns, c.size)
            if not c.readable and identity not in self._unreadable_seen:
                self._unreadable_seen.add(identity)
                self.result.unreadable.append(f"{c.path.name} ({c.size} bytes): {c.error}")
                self.say(f"UNREADABLE checkpoint {c.path}: {c.error}")
        return newest_checkpoint(checkpoints, self.args.ties)

    def faults(self) -> None:
        run_dir = self.root / "faults"
        start = time.monotonic()
        plan = self.plan()
        process_number = 0
        while True:
            on_disk = self.scan(run_dir)
            resume_step = on_disk.global_step if on_disk else 0
            self.result.resumes.append(resume_step)
            process = Process(command(self.kind, run_dir, self.seed_for(process_number), self.args.quick,
                                      on_disk.path if on_disk else None), run_dir / "logs" / f"p{process_number:02d}")
            self.launched.append((process_number, resume_step,
                                  str(on_disk.path.relative_to(run_dir)) if on_disk else "(start)", process))
            process_number += 1
            if not plan:  # no kill left: run to the end
                code = process.finish(timeout=self.timeout())
                self.note_threads(process)
                self.mark_survival(process, code)
                if code != 0:
                    self.result.failure = f"the last process (from step {resume_step}) exited {code}: " \
                                          f"{process.stderr_tail()}"
                    self.say(self.result.failure)
                break
            moment, number = plan[0]
            if not process.wait_for(lambda: bool(process.steps), timeout=self.timeout()):
                code = process.finish(timeout=self.timeout())
                self.mark_survival(process, code)
                if code == 0:
                    self.say(f"process {process_number - 1} had nothing left to train (from step {resume_step})")
                    break
                self.result.failure = f"process {process_number - 1} (from step {resume_step}) exited {code} " \
                                      f"before its first batch: {process.stderr_tail()}"
                self.say(self.result.failure)
                break
            self.mark_survival(process, None)
            first_time = process.steps[0][0]

            def due() -> bool:  # the reference run's clock, read at this process's progress
                seen, step = process.steps[-1]
                return self.reference_time_of(step) + (time.monotonic() - seen) >= moment

            process.wait_for(due, timeout=self.timeout())
            delay = time.monotonic() - first_time
            if process.popen.poll() is not None:  # it finished first: the run is done
                code = process.finish(timeout=self.timeout())
                self.note_threads(process)
                self.say(f"process {process_number - 1} finished (exit {code}) before the kill planned at "
                         f"{moment:.2f} s of the reference timeline; {len(plan)} kill(s) not made")
                if code != 0:
                    self.result.failure = f"process {process_number - 1} exited {code}: {process.stderr_tail()}"
                break
            process.read()
            step_at_kill = process.last_step
            process.popen.send_signal(number)
            plan.pop(0)
            code = process.finish(timeout=self.timeout())
            self.note_threads(process)
            kill = Kill(len(self.result.kills) + 1, SIGNAL_NAMES[number], process_number - 1, resume_step,
                        round(moment, 3), round(delay, 3), step_at_kill, code, EXPECTED_EXIT[number], process.last_step)
            if step_at_kill == self.result.final_step:
                kill.note = "after the last batch"
            elif code != EXPECTED_EXIT[number]:
                kill.note = f"exit {code}, expected {EXPECTED_EXIT[number]}: {process.stderr_tail(600)}"
            after = self.scan(run_dir)
            kill.checkpoint = str(after.path.relative_to(run_dir)) if after else "(none: start over)"
            kill.checkpoint_step = after.global_step if after else 0
            kill.work_lost = (process.last_step or 0) - kill.checkpoint_step
            self.result.kills.append(kill)
            self.say(f"kill {kill.number}: {kill.signal} {delay:.2f} s after the first batch of process "
                     f"{kill.process} (from step {resume_step}), at step {step_at_kill}; exit {code}; "
                     f"last step {process.last_step}; on disk: {kill.checkpoint} @ {kill.checkpoint_step}; "
                     f"lost {kill.work_lost}" + (f"; NOTE {kill.note}" if kill.note else ""))
        self.result.processes = process_number
        self.result.divergence = self.first_divergence()
        if self.result.divergence:
            self.say(f"first divergence from the reference run: {self.result.divergence}")
        self.result.faults_wall_s = time.monotonic() - start
        checkpoints = scan_checkpoints(run_dir)
        self.result.misnamed = misnamed(checkpoints)
        self.result.directories = sorted(str(p.parent.relative_to(run_dir)) for p in run_dir.rglob("config.yaml"))
        self.scan(run_dir)  # counts what is unreadable at the end
        final = final_checkpoint(run_dir)
        if final is not None:
            self.result.final_checkpoint = str(final.path)
        if self.result.reference_checkpoint and final is not None and not self.result.failure:
            self.result.differences = compare(Path(self.result.reference_checkpoint), final.path)
        verdict = "bit-identical" if self.result.identical else f"DIFFERENT: {self.result.state_differences}"
        verdict += f" (loop counters {'differ' if 'loops' in self.result.differences else 'same'})"
        self.say(f"done: {len(self.result.kills)} kills, {process_number} processes, {verdict}")

    def first_divergence(self) -> str:
        """Where the run under fire first left the reference run: the first batch (in the order the
        processes ran) whose ``global_step``, epoch or state hash (:func:`state_hash`) the reference run
        does not have, with the process and the checkpoint it had resumed from."""
        for number, resume_step, checkpoint, process in self.launched:
            for step, epoch, digest in process.hashes:
                expected = self.reference_hashes.get(step)
                if expected is None:
                    what = "a global_step the reference run never reached"
                elif expected[1] != digest:
                    what = "the weights or the RNG state"
                elif expected[0] != epoch:
                    what = f"the epoch ({epoch}, reference {expected[0]})"
                else:
                    continue
                kill = next((k for k in self.result.kills if k.process == number - 1), None)
                after = f", after kill {kill.number} ({kill.signal} at step {kill.step_at_kill})" if kill else ""
                return (f"step {step}: {what} differ in process {number}, resumed from {checkpoint} @ {resume_step}"
                        f"{after}")
        final = max((step for *_, process in self.launched for step, _, _ in process.hashes), default=0)
        if self.launched and final != self.result.final_step:
            number, resume_step, checkpoint, process = self.launched[-1]
            return (f"no batch differed, but the run stopped at step {final}, the reference run at "
                    f"{self.result.final_step}; the last process ({number}) resumed from {checkpoint} @ {resume_step} "
                    f"and trained {len(process.hashes)} batch(es)")
        return ""

    def seed_for(self, process_number: int) -> int:
        """``--seed_everything`` of a process: the run's seed, or with ``--reseed`` another one for every resume
        (only what the checkpoint restores can then make the run match)."""
        return self.args.seed + 1000 * process_number if self.args.reseed else self.args.seed

    def note_threads(self, process: Process) -> None:
        if process.threads is not None:
            self.result.threads.append(process.threads)

    def mark_survival(self, process: Process, code: Optional[int]) -> None:
        """The previous kill was survived when this process, resumed from what the kill left, trained a
        batch or finished cleanly."""
        if self.result.kills and (process.steps or code == 0):
            self.result.kills[-1].survived = True

    def run(self) -> Result:
        if not self.result.failure:
            self.faults()
        return self.result


# ---------------------------------------------------------------------------------- report
def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def table(results: list[Result]) -> str:
    rows = ["| run | kills (KILL/INT/TERM) | survived | bit-identical | differing keys | loop counters | "
            "unreadable ckpts | mid-run resumes | work lost/kill mean | max | SIGKILL mean | reference s | "
            "under fire s | processes |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        by = [sum(1 for k in r.kills if k.signal == name) for name in SIGNALS]
        lost = [k.work_lost for k in r.kills if k.work_lost is not None]
        lost_kill = [k.work_lost for k in r.kills if k.work_lost is not None and k.signal == "sigkill"]
        differing = ", ".join(r.state_differences) or ("run failed" if r.failure else "-")
        cells = [r.kind, f"{len(r.kills)} ({by[0]}/{by[1]}/{by[2]})",
                 f"{sum(k.survived for k in r.kills)}/{len(r.kills)}", "yes" if r.identical else "NO", differing,
                 "differ" if "loops" in r.differences else "same", len(r.unreadable), r.mid_run_resumes,
                 f"{mean(lost):.1f}", max(lost, default=0), f"{mean(lost_kill):.1f}", f"{r.reference_wall_s:.1f}",
                 f"{r.faults_wall_s:.1f}", r.processes]
        rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(rows)


def main(argv: Optional[list[str]] = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=None, help="kills per run kind (default 10; --quick 2)")
    parser.add_argument("--signals", default="mixed", help="comma-separated: sigkill, sigint, sigterm, or mixed")
    parser.add_argument("--seed", type=int, default=0, help="--seed_everything of the runs and the kill moments")
    parser.add_argument("--out", default="runs/faults", help="where the runs, faults.md and faults.json go")
    parser.add_argument("--runs", default=",".join(RUN_KINDS), help=f"comma-separated: {', '.join(RUN_KINDS)}")
    parser.add_argument("--quick", action="store_true", help="small budgets and 2 kills a run kind (the test suite)")
    parser.add_argument("--reseed", action="store_true",
                        help="every resumed process gets another --seed_everything "
                             "(the checkpoint alone must restore the run)")
    parser.add_argument("--ties", choices=("interrupted", "newest"), default="interrupted",
                        help="of checkpoints at the same global_step resume from interrupted.ckpt (the CLI's advice; "
                             "default) or from the file written last")
    parser.add_argument("--jobs", type=int, default=2, help="training subprocesses side by side (at most 2 on 2 cores)")
    args = parser.parse_args(argv)
    args.kills = args.kills if args.kills is not None else (2 if args.quick else 10)
    args.signals = [s.strip().lower() for s in args.signals.split(",")]
    if args.signals != ["mixed"] and not set(args.signals) <= set(SIGNALS):
        parser.error(f"--signals takes {', '.join(SIGNALS)} or mixed, got {','.join(args.signals)}")
    kinds = [RUN_KINDS[name] for name in args.runs.split(",")]
    out = Path(args.out)
    if any(p.exists() for k in kinds for p in ((out / k.name),)):
        parser.error(f"{out} already holds runs of {', '.join(k.name for k in kinds if (out / k.name).exists())}: "
                     "choose another --out (every run must start in an empty directory)")
    out.mkdir(parents=True, exist_ok=True)

    lock = threading.Lock()
    runners = [Runner(kind, args, lock) for kind in kinds]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        references = {runner.kind.name: pool.submit(runner.reference) for runner in runners}

        def under_fire(runner: Runner) -> Result:
            references[runner.kind.name].result()
            return runner.run()

        results = list(pool.map(under_fire, runners))
    wall = time.monotonic() - start

    given = argv if argv is not None else sys.argv[1:]
    invocation = "python benchmarks/faults.py " + " ".join(shlex.quote(a) for a in given)
    threads = sorted({t for r in results for t in r.threads})
    lines = [f"Command: `{invocation.strip()}`; {sum(len(r.kills) for r in results)} kills, wall time {wall:.0f} s "
             f"({args.jobs} training processes side by side, torch threads a process: {threads or '?'}).", "",
             table(results), ""]
    for r in results:
        if r.divergence:
            lines.append(f"- {r.kind}: first divergence at {r.divergence}")
        if len(r.directories) > 1:  # a resumed run is a run of its own: the CLI gives it its own directory
            shown = ", ".join(r.directories[:4]) + (", ..." if len(r.directories) > 4 else "")
            lines.append(f"- {r.kind}: each of the {len(r.directories)} processes of the run under fire wrote its "
                         f"config.yaml into a directory of its own ({shown}); none overwrote another's")
        if r.misnamed:
            lines.append(f"- {r.kind}: {len(r.misnamed)} checkpoint file name(s) with a step that is not their "
                         f"global_step, e.g. {r.misnamed[0]}")
        for key, paths in sorted(r.differences.items()):
            lines.append(f"- {r.kind}: `{key}` differs at {len(paths)} place(s), e.g. {', '.join(paths[:3])}")
        if r.failure:
            lines.append(f"- {r.kind}: FAILED: {r.failure[-1500:]}")
        for k in r.kills:
            if k.note:
                lines.append(f"- {r.kind} kill {k.number} ({k.signal}): {k.note[:300]}")
        for u in r.unreadable:
            lines.append(f"- {r.kind}: unreadable {u}")
    report = "\n".join(lines)
    print("\n" + report)
    (out / "faults.md").write_text(report + "\n")
    (out / "faults.json").write_text(json.dumps(
        {"command": invocation, "wall_s": wall,
         "results": [{**asdict(r), "identical": r.identical, "mid_run_resumes": r.mid_run_resumes} for r in results]},
        indent=1, default=str))
    return results


def exit_status(results: list[Result]) -> int:
    return 0 if all(r.identical and not r.unreadable for r in results) else 1


if __name__ == "__main__":
    sys.exit(exit_status(main()))
