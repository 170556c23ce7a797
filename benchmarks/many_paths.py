"""Fedus et al. 2018 ("Many Paths to Equilibrium", arXiv:1710.08446) Sec. 3: learning a manifold with no JS gradient.

    python benchmarks/many_paths.py                 # 4 methods x 3 seeds, 300 + 1,500 optimizer steps (~2 min)
    python benchmarks/many_paths.py --quick         # 1 seed, 300 + 600 steps (~20 s)

Set-up (Fedus et al. 2018, Sec. 3, the 1-D line experiment; sizes are ours, the paper's exact ones were not available):

* data: a 1-D line segment ``{(t, 0): t ~ U[-1, 1]}`` embedded in the plane (a low-dimensional manifold);
* generator: a small MLP from a 1-D normal prior to the plane whose output layer is initialised so
  that every sample lies on the parallel line ``y = OFFSET`` -- the supports are disjoint, the JS
  divergence is constant (log 2) and gives the generator no useful gradient;
* discriminator: a small MLP (one logit), Adam(1e-3, betas (0.5, 0.999));
* generator: plain SGD (``--lr`` 0.01), so that its update is proportional to its gradient -- the
  setting of Goodfellow et al.'s saturation argument.  Adam (``--optimizer adam``) rescales the
  gradient by its running RMS, so a uniformly small (saturated) gradient moves the generator as fast
  as a large one and the minimax GAN does not stall;
* a warm-up of ``--warmup`` (300) discriminator steps before the first generator step, in which D
  learns to separate the disjoint supports confidently; then one D step a G step;
* methods: minimax GAN and non-saturating GAN (``lightning_gans.gan_modules.GAN``), NS-GAN-GP and DRAGAN-NS
  (``lightning_gans.gan_modules.NSGANGP``, lambda = 10 [Fedus et al. 2018, Sec. 4]), trained with ``lightning.pytorch.Trainer``.

Recorded every ``--eval-every`` optimizer steps: the mean Euclidean distance of 1,000 samples to the
segment.  Fedus et al. report that the non-saturating GAN learns such a manifold while divergence
minimisation would predict no progress; the minimax loss ``log(1 - D(G(z)))`` has gradient
``-sigmoid(l) * grad l``, which vanishes when D rejects the fakes confidently (``l << 0``), while the
non-saturating loss has ``-(1 - sigmoid(l)) * grad l``.  Prints a table (initial / final distance,
mean over seeds) and saves ``many_paths.png`` (distance vs step per method; final samples of the
first seed).
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

from lightning_gans.gan_modules import GAN, NSGANGP, OptimizerSpec  # noqa: E402

OFFSET = 1.0  # distance of the generator's initial line from the data segment (ours)
HIDDEN = 32  # MLP width (ours: "small MLPs")
LR = 0.01  # the generator's SGD learning rate (ours, CPU-sized)
N_DATA = 8_192  # training points on the segment
BATCH_SIZE = 128
WARMUP = 300  # discriminator steps before the first generator step (ours)
OPTIMIZER = "sgd"  # the generator's
DISCRIMINATOR_LR = 1e-3  # Adam, betas (0.5, 0.999)
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


def with_discriminator_warmup(method_class: type, warmup: int) -> type:
    """``method_class`` whose first generator step waits for ``warmup`` discriminator steps.

    The discriminator first learns to separate the two disjoint supports (the regime in which the JS
    divergence is saturated at log 2 and the minimax generator loss ``log(1 - D(G(z)))`` has a vanishing
    gradient); afterwards the method's own schedule (``n_critic``) applies.
    """

    class WarmedUp(method_class):
        def discriminator_steps_per_generator_step(self) -> int:
            return warmup if self.generator_steps == 0 else super().discriminator_steps_per_generator_step()

    WarmedUp.__name__ = f"{method_class.__name__}WithDiscriminatorWarmup"
    return WarmedUp


def optimizer_spec(name: str, lr: float) -> OptimizerSpec:
    """Plain SGD (the update is proportional to the gradient, as in Goodfellow et al.'s argument) or Adam."""
    if name == "sgd":
        return OptimizerSpec(name="sgd", lr=lr)
    if name == "adam":
        return OptimizerSpec(name="adam", lr=lr, betas=(0.5, 0.999))
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def build(method: str, lr: float = LR, warmup: int = WARMUP, optimizer: str = OPTIMIZER) -> pl.LightningModule:
    common = dict(generator_optimizer=optimizer_spec(optimizer, lr),
                  discriminator_optimizer=optimizer_spec("adam", DISCRIMINATOR_LR))
    if method in ("minimax", "non_saturating"):
        return with_discriminator_warmup(GAN, warmup)(OffManifoldGenerator(), discriminator(),
                                                      generator_loss=method, **common)
    if method in ("nsgan_gp", "dragan_ns"):
        penalty = "interpolate" if method == "nsgan_gp" else "dragan"
        return with_discriminator_warmup(NSGANGP, warmup)(OffManifoldGenerator(), discriminator(), penalty=penalty,
                                                          **common)
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
        if trainer.global_step // self.every > self.steps[-1] // self.every:  # a batch may take 2 optimizer steps
            self._record(trainer, pl_module)


def run(method: str, seed: int, steps: int, every: int, lr: float = LR, warmup: int = WARMUP,
        optimizer: str = OPTIMIZER) -> tuple[DistanceTracker, Tensor]:
    """Train one method; returns the distance curve and the final samples."""
    pl.seed_everything(seed, verbose=False)
    model = build(method, lr, warmup, optimizer)
    tracker = DistanceTracker(every)
    trainer = pl.Trainer(max_steps=warmup + steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[tracker], accelerator="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, segment_loader(seed))
    if tracker.steps[-1] != trainer.global_step:
        tracker._record(trainer, model)
    return tracker, model.sample(EVAL_SAMPLES).float()


def plot(curves: dict, samples: dict, path: Path, warmup: int) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for method, trackers in curves.items():
        for i, tracker in enumerate(trackers):
            left.plot(tracker.steps, tracker.distances, color=f"C{METHODS.index(method)}", alpha=0.8,
                      label=method if i == 0 else None)
    if warmup:
        left.axvline(warmup, color="gray", linestyle=":", label="end of D warm-up")
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
    parser.add_argument("--quick", action="store_true", help="1 seed, 600 steps after the warm-up")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (--quick: 0)")
    parser.add_argument("--steps", type=int, default=None,
                        help="optimizer steps a run after the warm-up (default 1500; --quick 600)")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--optimizer", default=OPTIMIZER, choices=("sgd", "adam"),
                        help="the generator's optimizer (Adam rescales the gradient, which hides saturation)")
    parser.add_argument("--lr", type=float, default=LR, help="the generator's learning rate")
    parser.add_argument("--warmup", type=int, default=WARMUP,
                        help="discriminator steps before the first generator step (0: none)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    steps = args.steps if args.steps is not None else (600 if args.quick else 1500)
    if steps < 1 or args.eval_every < 1:
        parser.error("--steps and --eval-every must be positive")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    curves, samples, finals = {}, {}, {}
    start = time.perf_counter()
    for method in args.methods:
        for seed in seeds:
            tracker, points = run(method, seed, steps, args.eval_every, args.lr, args.warmup, args.optimizer)
            curves.setdefault(method, []).append(tracker)
            samples.setdefault(method, points)
            finals.setdefault(method, []).append(tracker.distances[-1])
    plot(curves, samples, args.out / "many_paths.png", args.warmup)
    print(f"\n{args.warmup} discriminator warm-up steps, then {steps} optimizer steps, {args.optimizer} lr {args.lr}, "
          f"seeds {seeds}, {time.perf_counter() - start:.0f} s")
    window = steps // 3
    print(f"{'method':<16}{'initial distance':>18}{'final distance (mean)':>24}"
          f"{f'median over last {window} steps (mean)':>36}  final per seed")
    for method in args.methods:
        initial = statistics.mean(t.distances[0] for t in curves[method])
        final = finals[method]
        late = statistics.mean(statistics.median(d for s, d in zip(t.steps, t.distances) if s >= t.steps[-1] - window)
                               for t in curves[method])
        print(f"{method:<16}{initial:>18.4f}{statistics.mean(final):>24.4f}{late:>36.4f}  "
              + " ".join(f"{d:.4f}" for d in final))
    print(f"figure: {args.out / 'many_paths.png'}")
    return finals


if __name__ == "__main__":
    main()
