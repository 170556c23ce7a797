"""Every available method trained by two CPU processes (gloo DDP); each rank reports its weights and data.

    python tests/scripts/ddp_methods.py OUTPUT_DIR [METHOD ...]

Run as one subprocess by tests/test_ddp.py.  This process is rank 0 and starts rank 1 itself
(``benchmarks/two_processes.py``), which lets one script run several fits in a row on one process
group.

For each method both ranks fit 6 batches (2 epochs of 3 batches of 16 from their half of 96 ring
points) with plain DDP, ``strategy=DDPStrategy()`` (``--trainer.strategy ddp``: DDP does not search for
unused parameters, and the module averages each player's gradients itself,
:mod:`lightning_gans.gan_modules.training.gradient_sync`).  Rank 0 all-gathers each rank's final parameters
and buffers and the points each rank trained on in epoch 0, and writes ``OUTPUT_DIR/results.json``:
per method whether the weights are bit-identical, whether they moved from the initial ones, whether
the ranks' data were disjoint and together the whole training set, whether the ranks draw different
noise, the global steps and generator steps; for NS-GAN also whether a run checkpointed after epoch 0 (and one after its first batch)
and resumed ends with the uninterrupted run's weights, and whether the same run under
``DDPStrategy(find_unused_parameters=True)`` (DDP's own gradient sync) ends with the same weights.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.strategies import DDPStrategy  # noqa: E402

import scale_methods  # noqa: E402
from two_processes import is_rank_zero, run_on_two_processes  # noqa: E402

N_TRAIN, BATCH_SIZE, EPOCHS = 96, 16, 2  # 3 batches per rank and epoch


class RecordEpochZero(pl.Callback):
    """The real points this rank trained on in epoch 0, and the next draws of its noise stream at the first batch."""

    def __init__(self) -> None:
        self.points: list[torch.Tensor] = []
        self.first_noise: torch.Tensor | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == 0:
            self.points.append(batch[0].detach().clone())
        if self.first_noise is None:
            with torch.random.fork_rng(devices=[]):  # what the training step is about to draw, undisturbed
                self.first_noise = torch.randn(8)


def flat_state(module: pl.LightningModule) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in module.state_dict().values()])


def ddp_strategy(find_unused_parameters: bool = False) -> DDPStrategy:
    return DDPStrategy(find_unused_parameters=find_unused_parameters, process_group_backend="gloo",
                       timeout=timedelta(seconds=120))


def train(method: str, output_dir: Path, find_unused_parameters: bool = False) -> dict:
    """Fit ``method`` on both ranks; rank 0's view of what the ranks ended with."""
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("nsgan" if method == "adagan" else method)
    initial = flat_state(module)
    record = RecordEpochZero()
    callbacks: list[pl.Callback] = [record]
    if method == "adagan":  # AdaGAN around NS-GAN: two stages of one epoch
        callbacks.append(scale_methods.adagan_callback())
    trainer = scale_methods.trainer(devices=2, strategy=ddp_strategy(find_unused_parameters), max_epochs=EPOCHS,
                                    callbacks=callbacks)
    started = time.perf_counter()
    trainer.fit(module, datamodule=scale_methods.ring(batch_size=BATCH_SIZE, n_train=N_TRAIN))
    seconds = time.perf_counter() - started
    gather = trainer.strategy.all_gather
    states = gather(flat_state(module))
    points = gather(torch.cat(record.points))
    noise = gather(record.first_noise)
    steps = gather(torch.tensor([trainer.global_step, module.generator_steps]))
    result = {
        "world_size": trainer.world_size,
        "identical_weights": bool(torch.equal(states[0], states[1])),
        "max_abs_difference": float((states[0] - states[1]).abs().max()),
        "weights_moved": bool(not torch.equal(states[0], initial)),
        "ranks_draw_different_noise": bool(not torch.equal(noise[0], noise[1])),
        "points_per_rank": [len(p) for p in points],
        "ranks_share_points": bool((points[0][:, None, :] == points[1][None, :, :]).all(-1).any()),
        "points_cover_training_set": bool(torch.unique(points.reshape(-1, 2), dim=0).shape[0] == N_TRAIN),
        "global_steps": steps[:, 0].tolist(),
        "generator_steps": steps[:, 1].tolist(),
        "fit_seconds": round(seconds, 2),
        "final_state": states[0],
    }
    if method == "nsgan" and not find_unused_parameters:
        result["resumed_equals_uninterrupted"] = resumed_equals(method, states[0], output_dir)
        with_ddp_sync = train(method, output_dir, find_unused_parameters=True)["final_state"]
        result["same_weights_as_find_unused_parameters"] = bool(torch.equal(with_ddp_sync, states[0]))
    if method == "adagan":
        adagan = callbacks[1]
        mixture_and_data_weights = gather(torch.cat([adagan.mixture.weights, adagan.data_weights.to(torch.float64)]))
        result["adagan_stages"] = adagan.stage
        result["identical_adagan_weights"] = bool(torch.equal(*mixture_and_data_weights))
    return result


def resumed_equals(method: str, uninterrupted: torch.Tensor, output_dir: Path) -> bool:
    """Train epoch 0, checkpointing after its first batch and at its end; resume from each checkpoint in a new
    trainer for the rest of ``EPOCHS``: both end with the weights of ``train``'s uninterrupted run."""
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build(method)
    checkpoint, mid_epoch = output_dir / f"{method}_epoch0.ckpt", output_dir / f"{method}_batch1.ckpt"

    class SaveAfterFirstBatch(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if trainer.fit_loop.total_batch_idx == 0:
                trainer.save_checkpoint(mid_epoch)  # every rank takes part, rank 0 writes

    def fit(epochs: int, ckpt_path=None, callbacks=()) -> pl.Trainer:
        trainer = scale_methods.trainer(devices=2, strategy=ddp_strategy(), max_epochs=epochs, callbacks=list(callbacks))
        # weights_only=False: the hyper-parameters hold functools.partial network factories
        trainer.fit(module, datamodule=scale_methods.ring(batch_size=BATCH_SIZE, n_train=N_TRAIN), ckpt_path=ckpt_path,
                    weights_only=False)
        return trainer

    fit(1, callbacks=[SaveAfterFirstBatch()]).save_checkpoint(checkpoint)  # per-rank RNG states gathered
    same = []
    for resume_from in (checkpoint, mid_epoch):
        torch.randn(1000)  # the resumed run must not depend on the RNG state it starts with ...
        module = scale_methods.build(method)  # ... nor on its initial weights
        # (the seed itself stays: Lightning's DistributedSampler shards with PL_GLOBAL_SEED + epoch, as a relaunch would)
        trainer = fit(EPOCHS, ckpt_path=resume_from)
        resumed = trainer.strategy.all_gather(flat_state(module))
        same.append(bool(torch.equal(resumed[0], uninterrupted) and torch.equal(resumed[1], uninterrupted)))
    return all(same)


def run(output_dir: Path, methods: list[str]) -> None:
    warnings.filterwarnings("ignore")
    results = {method: train(method, output_dir) for method in methods}
    for result in results.values():
        del result["final_state"]
    if is_rank_zero():
        (output_dir / "results.json").write_text(json.dumps(results, indent=1))


def main(output_dir: Path, methods: list[str]) -> int:
    return run_on_two_processes(__file__, [str(output_dir), *methods], lambda: run(output_dir, methods))


if __name__ == "__main__":
    names = sys.argv[2:] or list(scale_methods.METHODS) + ["adagan"]
    sys.exit(main(Path(sys.argv[1]), names))
