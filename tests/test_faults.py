"""The fault-injection benchmark (benchmarks/faults.py): training killed at random moments resumes bit for bit.

The short run (``--quick``) kills each of the three runs (max_steps, max_epochs, AdaGAN) twice, the
signals (SIGKILL, SIGINT, SIGTERM) in turn, resumes each time from the newest checkpoint on disk and
compares the final checkpoint with an uninterrupted run's: 1-2 minutes on two cores.  The tests after
the helpers' are what the benchmark found, reduced to a few seconds each, on the library's checkpoint writers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import os
import signal

import lightning.pytorch as pl
import pytest
import torch

from lightning_gans.callbacks import SaveOnInterrupt, StepCheckpoint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "scripts"))

import faults  # noqa: E402
import scale_methods  # noqa: E402


def test_killed_runs_resume_to_the_uninterrupted_runs_bit_for_bit(tmp_path):
    results = faults.main(["--quick", "--signals", "mixed", "--out", str(tmp_path)])
    assert [r.kind for r in results] == ["max_steps", "max_epochs", "adagan"]
    report = (tmp_path / "faults.md").read_text()
    for r in results:
        assert not r.failure, r.failure
        assert r.unreadable == [], r.unreadable
        assert r.identical, f"{r.kind}: {r.state_differences}; first divergence: {r.divergence}\n{report}"
        assert r.kills and all(k.survived for k in r.kills), r.kind
        # the kills came during training: after the process's first batch, before the run's last
        assert all(k.step_at_kill is not None for k in r.kills), r.kind
        assert any(k.step_at_kill < r.final_step for k in r.kills), r.kind
        assert {k.signal for k in r.kills} <= set(faults.SIGNALS)
        assert r.threads and set(r.threads) == {1}  # one torch thread a training process
    assert sum(len(r.kills) for r in results) >= 6
    assert {k.signal for r in results for k in r.kills} == set(faults.SIGNALS)  # mixed: every signal
    assert sum(r.mid_run_resumes for r in results) >= 1  # a resume from a checkpoint between start and end
    assert faults.exit_status(results) == 0
    assert "| max_steps |" in report and "| adagan |" in report


# ---------------------------------------------------------------------------------- the pure helpers
def _checkpoint(name: str, step, mtime: int) -> faults.Checkpoint:
    return faults.Checkpoint(Path("run/checkpoints") / name, step, mtime, 100)


def test_newest_checkpoint_is_the_largest_readable_global_step():
    last = _checkpoint("last.ckpt", 40, mtime=5)
    interrupted = _checkpoint("interrupted.ckpt", 43, mtime=3)
    broken = _checkpoint("epoch=1-step=50.ckpt", None, mtime=9)  # unreadable: never chosen
    assert faults.newest_checkpoint([last, interrupted, broken]) is interrupted
    assert faults.newest_checkpoint([last, broken]) is last
    assert faults.newest_checkpoint([broken]) is None and faults.newest_checkpoint([]) is None
    # the same step: interrupted.ckpt (the CLI's advice) unless ties="newest" (the file written last)
    late_last = _checkpoint("last.ckpt", 43, mtime=7)
    assert faults.newest_checkpoint([late_last, interrupted]) is interrupted
    assert faults.newest_checkpoint([late_last, interrupted], ties="newest") is late_last
    epoch_end = _checkpoint("epoch_end/epoch=1-step=43.ckpt", 43, mtime=8)
    assert faults.newest_checkpoint([late_last, epoch_end]) is epoch_end


def test_scan_reads_every_checkpoint_and_counts_a_truncated_one_as_unreadable(tmp_path):
    directory = tmp_path / "checkpoints"
    (directory / "epoch_end").mkdir(parents=True)
    torch.save({"global_step": 12, "state_dict": {}}, directory / "last.ckpt")
    torch.save({"global_step": 20}, directory / "epoch_end" / "epoch=0-step=20.ckpt")
    torch.save({"global_step": 30, "state_dict": {"w": torch.ones(1000)}}, directory / "interrupted.ckpt")
    data = (directory / "interrupted.ckpt").read_bytes()
    (directory / "interrupted.ckpt").write_bytes(data[: len(data) // 2])  # a write cut short
    found = {c.path.name: c for c in faults.scan_checkpoints(directory)}
    assert found["last.ckpt"].global_step == 12 and found["epoch=0-step=20.ckpt"].global_step == 20
    assert not found["interrupted.ckpt"].readable and found["interrupted.ckpt"].error
    assert faults.newest_checkpoint(list(found.values())).path.name == "epoch=0-step=20.ckpt"
    assert faults.misnamed(list(found.values())) == []
    torch.save({"global_step": 24}, directory / "epoch=0-step=22.ckpt")
    assert faults.misnamed(faults.scan_checkpoints(directory)) == ["epoch=0-step=22.ckpt holds global_step 24"]


def test_differences_name_every_place_that_is_not_bit_identical():
    a = {"state_dict": {"w": torch.tensor([1.0, float("nan")]), "b": torch.zeros(2)}, "global_step": 4,
         "rng_state": {"cpu": torch.arange(3, dtype=torch.uint8)}, "history": [{"beta": 0.5}]}
    assert faults.differences(a, a) == []
    b = {"state_dict": {"w": torch.tensor([1.0, float("nan")]), "b": torch.tensor([0.0, 1e-30])}, "global_step": 5,
         "rng_state": {"cpu": torch.arange(3, dtype=torch.uint8)}, "history": [{"beta": 0.5}, {"beta": 0.3}]}
    assert faults.differences(a, b) == ["state_dict.b", "global_step", "history"]
    assert faults.differences({"x": torch.zeros(2)}, {"x": torch.zeros(2, dtype=torch.float64)}) == ["x"]
    checkpoint = {"callbacks": {"ModelCheckpoint{'every_n_train_steps': 5}": {"dirpath": "/a"},
                                "AdaGAN{'stages': 2}": {"stage": 1}}, "epoch": 2}
    assert faults.comparable(checkpoint) == {"epoch": 2, "callbacks:AdaGAN": {"stage": 1}}  # paths left out


# ---------------------------------------------------------------------------------- what the benchmark found
# Lightning 2.6 resumes a checkpoint written at an epoch's last batch (``on_train_batch_end``) without that
# epoch's ``on_train_epoch_end`` and with its epoch counters one behind, and a checkpoint written at the end of
# an epoch that a stop cut short marks that epoch finished.  The library's writers avoid both.
class StopAfterBatch(pl.Callback):
    """Stop the fit after a batch, as SaveOnInterrupt does on Ctrl-C."""

    def __init__(self, batches: int) -> None:
        self.batches = batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx + 1 == self.batches:
            trainer.should_stop = True


class SignalAtBatch(pl.Callback):
    """Send this process SIGINT during a batch, as a user's Ctrl-C (SaveOnInterrupt handles it)."""

    def __init__(self, batches: int) -> None:
        self.batches = batches

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx + 1 == self.batches:
            os.kill(os.getpid(), signal.SIGINT)


def every_batch(directory: Path) -> StepCheckpoint:
    return StepCheckpoint(dirpath=directory, filename="{step}", every_n_train_steps=2, save_top_k=-1)  # NS-GAN: 2 a batch


def _fit(directory: Path, checkpoint: Path | None = None, callbacks=(), epochs: int = 3) -> pl.LightningModule:
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build("nsgan")
    scale_methods.trainer(max_epochs=epochs, callbacks=[*callbacks, every_batch(directory)], enable_checkpointing=True
                          ).fit(module, datamodule=scale_methods.ring(), ckpt_path=checkpoint)  # 6 batches an epoch
    return module


def _same_weights(expected: pl.LightningModule, actual: pl.LightningModule) -> bool:
    return all(torch.equal(value, actual.state_dict()[name]) for name, value in expected.state_dict().items())


def test_a_max_epochs_run_resumed_twice_from_step_checkpoints_ends_with_the_uninterrupted_weights(tmp_path):
    reference = _fit(tmp_path / "reference")
    _fit(tmp_path / "first", tmp_path / "reference" / "step=12.ckpt")  # due at the last batch of epoch 0
    resumed = _fit(tmp_path / "second", tmp_path / "first" / "step=16.ckpt")  # two batches into epoch 1
    assert _same_weights(reference, resumed)


def _adagan_fit(directory: Path, checkpoint: Path | None = None, callbacks=()):
    from lightning_gans.callbacks.adagan import AdaGAN

    adagan = AdaGAN(stages=2, epochs_per_stage=1, classifier_steps=5, eval_samples=200)
    module = _fit(directory, checkpoint, [adagan, *callbacks], epochs=2)
    return module, adagan


def test_an_adagan_stage_cut_short_by_an_interrupt_does_not_end(tmp_path):
    _, adagan = _adagan_fit(tmp_path, callbacks=[StopAfterBatch(3)])  # half of the first stage's only epoch
    assert adagan.stage == 0 and len(adagan.mixture) == 0 and adagan.data_weights is None


def test_adagan_resumed_from_the_step_checkpoint_of_a_stages_last_batch_ends_that_stage(tmp_path):
    module, reference = _adagan_fit(tmp_path / "reference")
    assert reference.stage == 2
    resumed_module, resumed = _adagan_fit(tmp_path / "resumed", tmp_path / "reference" / "step=12.ckpt")
    assert resumed.stage == 2 and len(resumed.mixture) == 2 and _same_weights(module, resumed_module)


def test_ctrl_c_in_a_stages_last_batch_writes_the_ended_stage_and_resumes_to_the_whole_run(tmp_path):
    module, reference = _adagan_fit(tmp_path / "reference")
    stop = SaveOnInterrupt()
    _, stopped = _adagan_fit(tmp_path / "stopped", callbacks=[SignalAtBatch(6), stop])  # after AdaGAN's epoch end
    assert stop.checkpoint_path == tmp_path / "stopped" / "interrupted.ckpt" and stopped.stage == 1
    assert torch.load(stop.checkpoint_path, weights_only=False)["callbacks"]["AdaGAN"]["stage"] == 1
    resumed_module, resumed = _adagan_fit(tmp_path / "resumed", stop.checkpoint_path)
    assert resumed.stage == 2 and _same_weights(module, resumed_module)


def test_an_epoch_cut_short_by_a_stop_writes_no_epoch_end_checkpoint(tmp_path):
    """It would mark the epoch finished: a max_epochs run resumed from it trained one epoch less."""
    def fit(directory: str, checkpoint=None, callbacks=()):
        pl.seed_everything(0, verbose=False)
        module = scale_methods.build("nsgan")
        last = StepCheckpoint(dirpath=tmp_path / directory, save_last=True)  # as the configs: at epoch ends
        scale_methods.trainer(max_epochs=3, callbacks=[*callbacks, last], enable_checkpointing=True).fit(
            module, datamodule=scale_methods.ring(), ckpt_path=checkpoint)
        return module

    reference = fit("reference")
    fit("stopped", callbacks=[StopAfterBatch(9)])  # half-way through epoch 1
    assert torch.load(tmp_path / "stopped" / "last.ckpt")["global_step"] == 12  # epoch 0's end, not the stop's
    assert _same_weights(reference, fit("resumed", tmp_path / "stopped" / "last.ckpt"))
