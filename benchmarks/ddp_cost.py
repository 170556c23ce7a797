"""The cost per step of plain ``ddp`` (the module's own gradient sync) against ``ddp_find_unused_parameters_true``.

    python benchmarks/ddp_cost.py [--methods nsgan,wgan_gp] [--batches 200] [--rounds 3] [--quick]

Two CPU processes (gloo, one thread each, ``benchmarks/two_processes.py``) train the 2-D MLP GAN
(``MLPGenerator``/``MLPDiscriminator`` defaults, batch 256: the model where per-step overhead shows
most).  The two ways alternate batch by batch within one fit, so that the load of a shared machine
hits both alike (separate fits a few seconds apart differed by up to 3x on the project's busy
2-core CPU): the fit runs under ``DDPStrategy(find_unused_parameters=True)``, and on odd batches the
module's :class:`~lightning_gans.gan_modules.training.gradient_sync.PlayerGradientSync` is switched on -- the
path plain ``ddp`` takes: each backward pass inside ``block_backward_sync`` (DDP's reducer does
nothing, whatever its ``find_unused_parameters``) and the player's gradients all-reduced by the
module -- and on even batches off -- DDP's reducer, searching the autograd graph at every backward.
A side's statistic is its median time per batch (from one batch start to the next, the first 5
batches left out); the ratio is plain over find-unused; of the rounds (one fit each) the one with
the median ratio is reported.  Both ways end with bit-identical weights (``tests/test_ddp.py``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from datetime import date, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.strategies import DDPStrategy  # noqa: E402

from lightning_gans.datamodules import RingOfGaussians  # noqa: E402
from lightning_gans.gan_modules import GAN, WGANGP  # noqa: E402
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator  # noqa: E402
from two_processes import is_rank_zero, run_on_two_processes  # noqa: E402

BATCH_SIZE = 256
WARMUP_BATCHES = 5
METHODS = {"nsgan": ("NS-GAN", partial(GAN, generator_loss="non_saturating")), "wgan_gp": ("WGAN-GP", WGANGP)}


class AlternatingSync(pl.Callback):
    """Odd batches: the module's sync (plain ``ddp``'s path); even batches: DDP's reducer. Times each batch."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.starts.append(time.perf_counter())
        pl_module.gradient_sync.active = batch_idx % 2 == 1

    def median_steps(self) -> dict[str, float]:
        """Each side's median seconds per batch (a batch lasts until the next one starts)."""
        durations = [(i % 2 == 1, b - a) for i, (a, b) in enumerate(zip(self.starts, self.starts[1:]))]
        kept = durations[WARMUP_BATCHES:]
        return {"plain": statistics.median(d for plain, d in kept if plain),
                "find_unused": statistics.median(d for plain, d in kept if not plain)}


def paired_fit(method: str, batches: int) -> dict[str, float]:
    """One fit of ``batches`` batches on each of the two processes, the two ways alternating."""
    pl.seed_everything(0, verbose=False)
    module = METHODS[method][1](partial(MLPGenerator), partial(MLPDiscriminator), data_shape=(2,))
    timing = AlternatingSync()
    strategy = DDPStrategy(find_unused_parameters=True, process_group_backend="gloo", timeout=timedelta(seconds=300))
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy=strategy, max_epochs=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timing])
    trainer.fit(module, datamodule=RingOfGaussians(n_train=2 * BATCH_SIZE * batches, n_val=0, batch_size=BATCH_SIZE))
    return timing.median_steps()


def measure(methods: list[str], batches: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    """Per method, per round: each way's median seconds per batch."""
    return {method: [paired_fit(method, batches) for _ in range(rounds)] for method in methods}


def report(results: dict[str, list[dict[str, float]]], command: str) -> str:
    lines = [f"Command: `{command}` ({date.today().isoformat()}, {platform.machine()}, 2 CPU processes, gloo, "
             f"1 thread each, torch {torch.__version__}, lightning {pl.__version__})", "",
             "| method | plain ddp ms/step | find_unused ms/step | ratio (plain / find_unused) | ratios per round |",
             "|---|---|---|---|---|"]
    for method, rounds in results.items():
        ratios = [r["plain"] / r["find_unused"] for r in rounds]
        median_round = rounds[sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]]
        lines.append(f"| MLP 2-D {METHODS[method][0]}, batch {BATCH_SIZE} | {1000 * median_round['plain']:.2f} | "
                     f"{1000 * median_round['find_unused']:.2f} | "
                     f"{statistics.median(ratios):.3f} | {' '.join(f'{r:.3f}' for r in ratios)} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="nsgan,wgan_gp", help=f"comma-separated, of {sorted(METHODS)}")
    parser.add_argument("--batches", type=int, default=200, help="batches a fit, on each process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round of 20 batches: checks the pipeline")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or args.batches <= WARMUP_BATCHES + 1 or args.rounds < 1:
        parser.error(f"methods must be of {sorted(METHODS)} (got {unknown}), --batches above {WARMUP_BATCHES + 1}, "
                     "--rounds at least 1")
    batches, rounds = (20, 1) if args.quick else (args.batches, args.rounds)

    def work() -> None:
        warnings.filterwarnings("ignore")
        torch.set_num_threads(1)
        results = measure(methods, batches, rounds)
        if is_rank_zero():
            print(report(results, " ".join(["python benchmarks/ddp_cost.py", *argv])))

    return run_on_two_processes(__file__, argv, work, partner_timeout=600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
