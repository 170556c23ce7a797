"""Training speed: the framework against a hand-written PyTorch loop of the same networks, in one run.

    python benchmarks/speed.py [--quick] [--methods nsgan,wgan_gp] [--compile] [--channels-last]
                               [--models dcgan,mlp] [--rounds 3] [--threads 2] [--device cpu]

Two models (issue 7): a DCGAN at 32x32, batch 64 (``DCGANGenerator``/``DCGANDiscriminator``,
``base_channels`` 64, latent 100) and the 2-D MLP GAN at batch 256 (``MLPGenerator``/
``MLPDiscriminator`` defaults).  For each method both sides train the same initial networks with the
same optimizers (the method's ``OptimizerSpec``s), the same loss functions
(:mod:`lightning_gans.gan_modules.losses`), the same ``n_critic`` schedule (one discriminator step a batch, a
generator step every ``n_critic`` batches) and the same requires-grad toggling (the frozen player
builds no weight gradients), on the same in-memory data:

* framework: the method's module in a ``Trainer`` (``logger=False``, no progress bar, no
  checkpointing: the training machinery itself), data from a
  :class:`~lightning_gans.datamodules.base.WeightedDataModule` over an :class:`~lightning_gans.datamodules.in_memory.InMemoryDataset`
  (as the toy and digits datamodules); a step is one batch of the fit loop (data fetch, hooks,
  logging included);
* hand-written: the framework's training step written out (:class:`HandWritten`; a test checks that
  it reaches the framework's weights bit for bit), fed by slicing a random permutation of the data
  tensor (the fastest input pipeline one writes by hand).

A third table times the input pipelines alone, per batch: the library's loader, the hand-written
slicing, and a ``DataLoader(TensorDataset, shuffle=True)``, which fetches and collates example by
example (what the library's loaders did before :class:`~lightning_gans.datamodules.in_memory.InMemoryDataset`).

On the CPU the two sides run interleaved step by step in one fit (:class:`PairedSteps`: a
hand-written step between every two framework batches, each timed on its own), so both meet the same
machine load; a round's statistic is each side's median step time, and of the rounds (3) the one
with the median ratio is reported.  On CUDA a per-step synchronize would stall the device queue, so
the sides run in alternating rounds (5), each timed between two ``synchronize()`` over its window,
and the best round of each side is reported.  ``ratio`` is framework time per step
over hand-written time per step (1.03 = the framework is 3% slower); targets: 1.05 for the DCGAN,
1.15 for the MLP GAN.  ``--compile`` (``torch.compile`` of both networks, on both sides) and
``--channels-last`` (networks in channels-last memory format; convolutions only) add rows, with
their effect as the speed-up of each side over its eager/default row.  Gradient-penalty methods
cannot be compiled (double backward is not supported by ``torch.compile``).
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Optional

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_gans.datamodules.base import WeightedDataModule  # noqa: E402
from lightning_gans.datamodules.in_memory import InMemoryDataset  # noqa: E402
from lightning_gans.gan_modules import losses  # noqa: E402
from lightning_gans.gan_modules.training.base import AdversarialModule  # noqa: E402
from lightning_gans.gan_modules.gan import GAN  # noqa: E402
from lightning_gans.gan_modules.nsgan_gp import NSGANGP  # noqa: E402
from lightning_gans.gan_modules.wgan import WGAN  # noqa: E402
from lightning_gans.gan_modules.wgan_gp import WGANGP  # noqa: E402
from lightning_gans.gan_modules.networks import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator  # noqa: E402


# ---------------------------------------------------------------------------------- what is timed
@dataclass
class Model:
    data_shape: tuple[int, ...]
    batch_size: int
    generator: Callable[..., nn.Module]
    discriminator: Callable[..., nn.Module]  # takes norm=
    target: float  # issue 7
    steps: int  # timed steps a round (full run)
    warmup: int


MODELS = {
    "dcgan": Model((3, 32, 32), 64, partial(DCGANGenerator, latent_dim=100, base_channels=64),
                   partial(DCGANDiscriminator, base_channels=64), target=1.05, steps=30, warmup=3),
    "mlp": Model((2,), 256, MLPGenerator, MLPDiscriminator, target=1.15, steps=1000, warmup=30),
}


@dataclass
class Method:
    """How to build the framework's module, and the same method's losses for the hand-written loop."""

    build: Callable[..., AdversarialModule]
    discriminator_loss: Callable[[AdversarialModule, nn.Module, Tensor, Tensor], Tensor]
    generator_loss: Callable[[nn.Module, Tensor], Tensor]
    penalty: bool = False  # a gradient penalty: no batch norm in the critic, no torch.compile
    clip: bool = False


def _gan_d(module, D, real, fake):
    return losses.non_saturating_loss(D(real), D(fake)).discriminator


def _wasserstein_d(module, D, real, fake):
    return losses.wasserstein_loss(D(real), D(fake)).discriminator


def _wgan_gp_d(module, D, real, fake):
    return _wasserstein_d(module, D, real, fake) + module.penalty_weight * losses.gradient_penalty(
        D, losses.interpolates(real, fake))


def _gan_gp_d(module, D, real, fake):
    return _gan_d(module, D, real, fake) + module.penalty_weight * losses.gradient_penalty(
        D, losses.interpolates(real, fake))


def _dragan_d(module, D, real, fake):
    return _gan_d(module, D, real, fake) + module.penalty_weight * losses.gradient_penalty(
        D, losses.dragan_perturbation(real, module.perturbation, module.perturbation_scale))


def _wasserstein_g(D, fake):
    return losses.wasserstein_loss(None, D(fake)).generator


METHODS = {
    "nsgan": Method(partial(GAN, generator_loss="non_saturating"), _gan_d,
                    lambda D, fake: losses.non_saturating_loss(None, D(fake)).generator),
    "gan": Method(partial(GAN, generator_loss="minimax"), _gan_d,
                  lambda D, fake: losses.minimax_loss(None, D(fake)).generator),
    "wgan": Method(WGAN, _wasserstein_d, _wasserstein_g, clip=True),
    "wgan_gp": Method(WGANGP, _wgan_gp_d, _wasserstein_g, penalty=True),
    "gan_gp": Method(partial(NSGANGP, penalty="interpolate"), _gan_gp_d,
                     lambda D, fake: losses.non_saturating_loss(None, D(fake)).generator, penalty=True),
    "dragan_ns": Method(partial(NSGANGP, penalty="dragan"), _dragan_d,
                        lambda D, fake: losses.non_saturating_loss(None, D(fake)).generator, penalty=True),
}


# ---------------------------------------------------------------------------------- the two sides
class InMemory(WeightedDataModule):
    """A fixed tensor as a library datamodule (reweightable sampler, resumable loader)."""

    def __init__(self, data: Tensor, batch_size: int) -> None:
        super().__init__(batch_size=batch_size)
        self.data = data
        self.train_dataset = InMemoryDataset(data, torch.zeros(len(data), dtype=torch.int64))

    @property
    def data_shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[1:])

    def setup(self, stage: Optional[str] = None) -> None:
        pass


class Clock:
    """Step timestamps; on CUDA only the window's ends, after a synchronize."""

    def __init__(self, device: torch.device, warmup: int) -> None:
        self.cuda, self.warmup = device.type == "cuda", warmup
        self.stamps: list[float] = []
        self.step = 0

    def tick(self) -> None:
        if self.step >= self.warmup:
            if self.cuda and self.step == self.warmup:
                torch.cuda.synchronize()
            if not self.cuda or self.step == self.warmup:
                self.stamps.append(time.perf_counter())
        self.step += 1

    def stop(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())

    def seconds_per_step(self, steps: int) -> float:
        if self.cuda:
            return (self.stamps[-1] - self.stamps[0]) / steps
        return statistics.median(b - a for a, b in zip(self.stamps, self.stamps[1:]))


class ClockCallback(pl.Callback):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.clock.tick()

    def on_train_end(self, trainer, pl_module):
        self.clock.stop()


class PairedSteps(pl.Callback):
    """CPU: one hand-written step between every two framework batches, each side timed on its own.

    The framework's time of a batch runs from the end of the hand-written step before it to the start
    of the next batch (data fetch, hooks, logging included).  Interleaving step by step exposes both
    sides to the same machine load, so the ratio holds still on a shared machine where two separate
    runs drift apart by 10-20%.
    """

    def __init__(self, hand: "HandWritten", batch_size: int) -> None:
        self.hand, self.batch_size = hand, batch_size
        self.framework: list[float] = []
        self.handwritten: list[float] = []
        self._framework_started: Optional[float] = None
        self.batches: Optional[Iterator[Tensor]] = None  # the hand-written side's, made when training starts

    def on_train_start(self, trainer, pl_module):
        self.batches = shuffled_batches(self.hand.data, self.batch_size)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        start = time.perf_counter()
        if self._framework_started is not None:
            self.framework.append(start - self._framework_started)
        self.hand.step(next(self.batches))
        self._framework_started = time.perf_counter()
        self.handwritten.append(self._framework_started - start)


def time_paired(module: AdversarialModule, data: InMemory, hand: "HandWritten", steps: int, warmup: int
                ) -> tuple[float, float]:
    """Median seconds a step of the framework and of the hand-written loop, interleaved on the CPU."""
    paired = PairedSteps(hand, data.batch_size)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=warmup + steps + 1,
                         logger=False, enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=[paired])
    trainer.fit(module, datamodule=data)
    return statistics.median(paired.framework[warmup:]), statistics.median(paired.handwritten[warmup:])


def time_framework(module: AdversarialModule, data: InMemory, steps: int, warmup: int, device: torch.device) -> float:
    clock = Clock(device, warmup)
    trainer = pl.Trainer(accelerator=device.type, devices=1, max_epochs=1, limit_train_batches=warmup + steps,
                         logger=False, enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=[ClockCallback(clock)])
    trainer.fit(module, datamodule=data)
    return clock.seconds_per_step(steps)


class HandWritten:
    """The framework's ``training_step`` written out: same losses, ``n_critic`` schedule and toggling."""

    def __init__(self, module: AdversarialModule, method: Method, data: Tensor, variant: str,
                 device: torch.device) -> None:
        generator, discriminator = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
        self.opt_g = module.generator_optimizer.build(generator.parameters())
        self.opt_d = module.discriminator_optimizer.build(discriminator.parameters())
        self.G, self.D = prepare(generator, variant), prepare(discriminator, variant)
        self.module, self.method, self.device = module, method, device  # the module: hyper-parameters only
        self.latent_dim, self.n_critic = module.latent_dim, module.n_critic
        self.data = data
        self.since_generator_step = 0

    def run(self, batch_size: int, steps: int, warmup: int) -> float:
        clock = Clock(self.device, warmup)
        batches = shuffled_batches(self.data, batch_size)
        for _ in range(warmup + steps):
            clock.tick()
            self.step(next(batches).to(self.device, non_blocking=True))
        clock.stop()
        return clock.seconds_per_step(steps)

    def step(self, real: Tensor) -> None:
        G, D, method = self.G, self.D, self.method
        G.requires_grad_(False)
        fake = G(torch.randn(real.size(0), self.latent_dim, device=self.device)).detach()
        loss = method.discriminator_loss(self.module, D, real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        G.requires_grad_(True)
        if method.clip:
            losses.clip_weights_(D, self.module.clip_value)
        self.since_generator_step += 1
        if self.since_generator_step < self.n_critic:
            return
        D.requires_grad_(False)
        loss = method.generator_loss(D, G(torch.randn(real.size(0), self.latent_dim, device=self.device)))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)
        self.since_generator_step = 0


def shuffled_batches(data: Tensor, batch_size: int) -> Iterator[Tensor]:
    """One epoch of ``data`` in random order, ``batch_size`` rows a batch (the last partial batch dropped)."""
    order = torch.randperm(len(data))
    return (data[order[start:start + batch_size]] for start in range(0, len(data) - batch_size + 1, batch_size))


# ---------------------------------------------------------------------------------- one table row
def prepare(network: nn.Module, variant: str) -> nn.Module:
    if variant == "channels_last":
        return network.to(memory_format=torch.channels_last)
    if variant == "compile":
        return torch.compile(network)
    return network


def measure(model_name: str, method_name: str, variant: str, rounds: int, quick: bool, device: torch.device) -> dict:
    """Best-round seconds per step of both sides for one (model, method, variant)."""
    model, method = MODELS[model_name], METHODS[method_name]
    steps = max(model.steps // 4, 8) if quick else model.steps
    torch.manual_seed(0)
    norm = {"norm": "layer"} if method.penalty and model_name == "dcgan" else {}  # no batch norm under a penalty
    module = method.build(generator=model.generator, discriminator=partial(model.discriminator, **norm),
                          data_shape=model.data_shape).to(device)
    # data for every step of a round without a second epoch: both sides iterate a fresh loader a round
    data = torch.rand(model.batch_size * (model.warmup + steps + 1), *model.data_shape) * 2 - 1
    hand = HandWritten(module, method, data, variant, device)
    module.generator, module.discriminator = prepare(module.generator, variant), prepare(module.discriminator, variant)
    datamodule = InMemory(data, model.batch_size)
    row = {"model": model_name, "method": method_name, "variant": variant, "target": model.target, "steps": steps,
           "rounds": rounds}
    if device.type == "cpu":  # interleaved step by step; the round with the median ratio
        paired = sorted((time_paired(module, datamodule, hand, steps, model.warmup) for _ in range(rounds)),
                        key=lambda times: times[0] / times[1])
        framework_time, hand_time = paired[len(paired) // 2]
        return {**row, "framework": framework_time, "hand": hand_time, "ratio": framework_time / hand_time}
    framework, handwritten = [], []
    for round_ in range(rounds):
        sides = ("framework", "hand") if round_ % 2 == 0 else ("hand", "framework")
        for side in sides:
            if side == "framework":
                framework.append(time_framework(module, datamodule, steps, model.warmup, device))
            else:
                handwritten.append(hand.run(model.batch_size, steps, model.warmup))
    return {**row, "framework": min(framework), "hand": min(handwritten), "ratio": min(framework) / min(handwritten)}


def measure_input_pipelines(model_name: str, rounds: int, quick: bool) -> dict:
    """Best-round median seconds a batch of each input pipeline alone (CPU), on the model's data shape and batch."""
    model = MODELS[model_name]
    batches = max(model.steps // 4, 8) if quick else model.steps
    data = torch.rand(model.batch_size * batches, *model.data_shape)
    labels = torch.zeros(len(data), dtype=torch.int64)
    pipelines = {
        "library loader": lambda: iter(InMemory(data, model.batch_size).train_dataloader()),
        "hand-written slicing": lambda: shuffled_batches(data, model.batch_size),
        "DataLoader(TensorDataset)": lambda: iter(DataLoader(TensorDataset(data, labels), batch_size=model.batch_size,
                                                             shuffle=True, drop_last=True)),
    }
    seconds = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, start in pipelines.items():
            clock = Clock(torch.device("cpu"), warmup=1)
            for _ in start():
                clock.tick()
            clock.stop()
            seconds[name].append(clock.seconds_per_step(batches - 1))
    return {"model": model_name, **{name: min(times) for name, times in seconds.items()}}


# ---------------------------------------------------------------------------------- the report
def table(rows: list[dict]) -> str:
    lines = ["| model | method | variant | framework steps/s | hand-written steps/s | ratio (time/step) | target |"
             " variant's speed-up (framework / hand-written) |",
             "|---|---|---|---|---|---|---|---|"]
    baseline = {(r["model"], r["method"]): r for r in rows if r["variant"] == "default"}
    for r in rows:
        base = baseline.get((r["model"], r["method"]))
        effect = "" if r["variant"] == "default" or base is None else (
            f"{base['framework'] / r['framework']:.2f}x / {base['hand'] / r['hand']:.2f}x")
        verdict = "ok" if r["ratio"] <= r["target"] else "over"
        lines.append(f"| {r['model']} | {r['method']} | {r['variant']} | {1 / r['framework']:.1f} | "
                     f"{1 / r['hand']:.1f} | {r['ratio']:.3f} | {r['target']:.2f} ({verdict}) | {effect} |")
    return "\n".join(lines)


def pipeline_table(rows: list[dict]) -> str:
    names = [name for name in rows[0] if name != "model"]
    lines = ["| model | " + " | ".join(f"{name} ms/batch" for name in names) + " |",
             "|---|" + "---|" * len(names)]
    lines += [f"| {r['model']} | " + " | ".join(f"{1e3 * r[name]:.3f}" for name in names) + " |" for r in rows]
    return "\n".join(lines)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return (f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads, "
            f"torch {torch.__version__}, lightning {pl.__version__}")


def main(argv: Optional[list[str]] = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="dcgan,mlp", help="comma-separated: dcgan, mlp")
    parser.add_argument("--methods", default="nsgan", help=f"comma-separated: {', '.join(METHODS)}")
    parser.add_argument("--compile", action="store_true", help="add rows with torch.compile'd networks")
    parser.add_argument("--channels-last", action="store_true", help="add DCGAN rows in channels-last format")
    parser.add_argument("--quick", action="store_true", help="a quarter of the steps, fewer rounds")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds (default: CPU 3 paired runs, quick 1; CUDA 5 alternating runs, quick 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: OpenMP threads stall when other processes share the cores)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.rounds is not None:
        rounds = args.rounds
    elif device.type == "cpu":  # paired runs
        rounds = 1 if args.quick else 3
    else:  # alternating runs
        rounds = 2 if args.quick else 5
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    rows = []
    for model_name in args.models.split(","):
        for method_name in args.methods.split(","):
            variants = ["default"]
            if args.channels_last and model_name == "dcgan":
                variants.append("channels_last")
            if args.compile and not METHODS[method_name].penalty:
                variants.append("compile")
            for variant in variants:
                row = measure(model_name, method_name, variant, rounds, args.quick, device)
                rows.append(row)
                print(f"{model_name} {method_name} {variant}: framework {1e3 * row['framework']:.2f} ms/step, "
                      f"hand-written {1e3 * row['hand']:.2f} ms/step, ratio {row['ratio']:.3f}", flush=True)
    statistic = ("steps interleaved one by one, median step time, the round with the median ratio"
                 if device.type == "cpu" else "alternating runs, best-round mean step time")
    print(f"\nmachine: {machine(device)}; {rounds} rounds, {statistic}\n")
    print(table(rows))
    if device.type == "cpu":
        pipelines = [measure_input_pipelines(model_name, rounds, args.quick) for model_name in args.models.split(",")]
        print("\ninput pipelines alone (CPU, best-round median time a batch):\n")
        print(pipeline_table(pipelines))
    return rows


if __name__ == "__main__":
    main()
