"""Fedus et al. 2018 ("Many Paths to Equilibrium", arXiv:1710.08446) Sec. 3: learning a manifold with no JS gradient.

    python benchmarks/many_paths.py                 # 4 methods x 3 seeds, 600 optimizer steps each (~1-2 min)
    python benchmarks/many_paths.py --quick         # 1 seed, 300 steps (~20 s)

Set-up (algorithms.md Sec. 4, "Experiments"; sizes are ours, the paper's exact ones were not available):

* data: a 1-D line segment ``{(t, 0): t ~ U[-1, 1]}`` embedded in the plane (a low-dimensional manifold);
* generator: a small MLP from a 1-D normal prior to the plane whose output layer is initialised so
  that every sample lies on the parallel line ``y = OFFSET`` -- the supports are disjoint, the JS
  divergence is constant (log 2) and gives the generator no useful gradient;
* discriminator: a small MLP (one logit);
* methods: minimax GAN and non-saturating GAN (``gan_modules.GAN``), NS-GAN-GP and DRAGAN-NS
  (``gan_modules.NSGANGP``, lambda = 10 [algorithms.md Sec. 4]); all with Adam(lr, betas (0.5, 0.999)),
  one D step a G step, trained with ``lightning.pytorch.Trainer``.

Recorded every ``--eval-every`` optimizer steps: the mean Euclidean distance of 1,000 samples to the
segment.  Fedus et al. report that the non-saturating GAN learns such a manifold while divergence
minimisation would predict no progress; the minimax loss saturates when D rejects the fakes
confidently.  Prints a table (initial / final distance, mean over seeds) and saves
``many_paths.png`` (distance vs step per method; final samples of the first seed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

from gan_modules import GAN, NSGANGP, OptimizerSpec  # noqa: E402

OFFSET = 1.0  # distance of the generator's initial line from the data segment (ours)
HIDDEN = 32  # MLP width (ours: "small MLPs")
LR = 1e-3  # Adam learning rate of both players (ours, CPU-sized)
N_DATA = 8_192  # training points on the segment
BATCH_SIZE = 128
EVAL_SAMPLES = 1_000
METHODS = ("minimax", "non_saturating", "nsgan_gp", "dragan_ns")


def distance_to_segment(points: Tensor) -> Tensor:
    """Euclidean distance of ``(N, 2)`` points to the segment ``[-1, 1] x {0}``."""
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2), got {tuple(points.shape)}")
    overshoot = (points[:, 0].abs() - 1).clamp(min=0)
    return torch.sqrt(overshoot**2 + points[:, 1] ** 2)


class OffManifoldGenerator(nn.Module):
    """1-D prior -> plane MLP whose samples start on the line ``y = offset`` (parallel to the data)."""

    latent_dim = 1

    def __init__(self, offset: float = OFFSET, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))
        with torch.no_grad():
            last = self.net[-1]
            last.weight[1].zero_()  # y does not depend on z ...
            last.bias[1] = offset  # ... and sits at the offset: disjoint supports

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def discriminator(hidden: int = HIDDEN) -> nn.Module:
    return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, 1), nn.Flatten(0))


def build(method: str, lr: float = LR) -> pl.LightningModule:
    optimizer = OptimizerSpec(name="adam", lr=lr, betas=(0.5, 0.999))
    common = dict(generator_optimizer=optimizer, discriminator_optimizer=optimizer)
    if method in ("minimax", "non_saturating"):
        return GAN(OffManifoldGenerator(), discriminator(), generator_loss=method, **common)
    if method == "nsgan_gp":
        return NSGANGP(OffManifoldGenerator(), discriminator(), penalty="interpolate", **common)
    if method == "dragan_ns":
        return NSGANGP(OffManifoldGenerator(), discriminator(), penalty="dragan", **common)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def segment_loader(seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(N_DATA, generator=generator) * 2 - 1
    points = torch.stack([t, torch.zeros_like(t)], dim=1)
    return DataLoader(TensorDataset(points, torch.zeros(N_DATA, dtype=torch.int64)), batch_size=BATCH_SIZE,
                      shuffle=True, generator=generator)


class DistanceTracker(pl.Callback):
    """Mean distance of ``EVAL_SAMPLES`` samples to the segment at step 0 and every ``every`` optimizer steps."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.steps: list[int] = []
        self.distances: list[float] = []

    def _record(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            distance = distance_to_segment(pl_module.sample(EVAL_SAMPLES).float())
        self.steps.append(trainer.global_step)
        self.distances.append(float(distance.mean()))

    def on_train_start(self, trainer, pl_module) -> None:
        self._record(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0 and trainer.global_step != self.steps[-1]:
            self._record(trainer, pl_module)


def run(method: str, seed: int, steps: int, every: int, lr: float = LR) -> tuple[DistanceTracker, Tensor]:
    """Train one method; returns the distance curve and the final samples."""
    pl.seed_everything(seed, verbose=False)
    model = build(method, lr)
    tracker = DistanceTracker(every)
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[tracker], accelerator="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, segment_loader(seed))
    if tracker.steps[-1] != trainer.global_step:
        tracker._record(trainer, model)
    return tracker, model.sample(EVAL_SAMPLES).float()


def plot(curves: dict, samples: dict, path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for method, trackers in curves.items():
        for i, tracker in enumerate(trackers):
            left.plot(tracker.steps, tracker.distances, color=f"C{METHODS.index(method)}", alpha=0.8,
                      label=method if i == 0 else None)
    left.set_xlabel("optimizer step")
    left.set_ylabel("mean distance of samples to the data segment")
    left.set_yscale("log")
    left.legend()
    right.plot([-1, 1], [0, 0], color="black", linewidth=3, label="data")
    for method, points in samples.items():
        right.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color=f"C{METHODS.index(method)}", label=method)
    right.axhline(OFFSET, color="gray", linestyle=":", label="generator at init")
    right.set_title("final samples (first seed)")
    right.legend(fontsize=7, markerscale=4)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 300 steps")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (--quick: 0)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps a run (default 600; --quick 300)")
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--lr", type=float, default=LR, help="Adam learning rate of both players")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    steps = args.steps if args.steps is not None else (300 if args.quick else 600)
    if steps < 1 or args.eval_every < 1:
        parser.error("--steps and --eval-every must be positive")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    curves, samples, finals = {}, {}, {}
    start = time.perf_counter()
    for method in args.methods:
        for seed in seeds:
            tracker, points = run(method, seed, steps, args.eval_every, args.lr)
            curves.setdefault(method, []).append(tracker)
            samples.setdefault(method, points)
            finals.setdefault(method, []).append(tracker.distances[-1])
    plot(curves, samples, args.out / "many_paths.png")
    print(f"\n{steps} optimizer steps, lr {args.lr}, seeds {seeds}, {time.perf_counter() - start:.0f} s")
    print(f"{'method':<16}{'initial distance':>18}{'final distance (mean)':>24}  per seed")
    for method in args.methods:
        initial = statistics.mean(t.distances[0] for t in curves[method])
        final = finals[method]
        print(f"{method:<16}{initial:>18.4f}{statistics.mean(final):>24.4f}  "
              + " ".join(f"{d:.4f}" for d in final))
    print(f"figure: {args.out / 'many_paths.png'}")
    return finals


if __name__ == "__main__":
    main()
