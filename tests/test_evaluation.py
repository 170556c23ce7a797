"""The evaluation callback inside a Trainer: schedule, exact counts, no grad / no autocast, logging, defaults."""

import csv
import math
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from lightning_gans.callbacks.evaluation import Evaluation, default_metrics, rank_share
from lightning_gans.gan_modules.metrics.parzen import parzen_evaluation

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402

RING = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])


def ring_data(**kwargs):
    return TensorDataModule(RING.repeat(4, 1), centres=RING, std=0.01, **kwargs)


@pytest.mark.parametrize("n, world", [(7, 2), (2500, 3), (5, 5), (10, 1)])
def test_rank_shares_tile_exactly(n, world):
    shares = [rank_share(n, rank, world) for rank in range(world)]
    assert shares[0][0] == 0 and shares[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
    assert max(b - a for a, b in shares) - min(b - a for a, b in shares) <= 1


def test_mode_coverage_by_default_on_toy_data_with_exact_counts(tmp_path):
    module = PointsModule(RING[:3])  # every sample sits exactly on one of 3 modes
    callback = Evaluation(every_n_steps=2, n_samples=11, batch_size=4, max_time_fraction=None)
    logger = CSVLogger(tmp_path)
    make_trainer(max_steps=5, callbacks=[callback], logger=logger).fit(module, datamodule=ring_data())
    assert callback.metrics == ["mode_coverage"]
    results = callback.last_results
    assert results["eval/modes_captured"] == 3
    assert results["eval/modes_captured_strict"] == 0  # 11 samples over 3 modes: none has 10
    assert results["eval/high_quality_fraction"] == 1.0
    assert results["eval/n_samples"] == 11
    assert callback.last_evaluated_step == 5
    # evaluations at steps 2 and 4 and at the end (5), each 11 samples in batches of 4, 4, 3
    assert module.cursor == 3 * 11
    logger.finalize("success")
    with open(Path(logger.log_dir) / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("eval/modes_captured")]
    assert [int(row["step"]) for row in rows] == [2, 4, 5]
    assert all(float(row["eval/modes_captured"]) == 3 for row in rows)


def test_evaluation_runs_without_grad_and_outside_autocast():
    module = PointsModule(RING)
    callback = Evaluation(metrics=["mode_coverage"], every_n_steps=100, n_samples=8, evaluate_at_end=False)
    trainer = make_trainer(max_steps=1, callbacks=[callback])
    trainer.fit(module, datamodule=ring_data())
    module.calls.clear()
    with torch.enable_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        results = callback.evaluate(trainer, module)
    assert module.calls and all(call == (False, False) for call in module.calls)
    assert results["eval/modes_captured"] == 8


def test_evaluation_leaves_training_randomness_alone():
    def noise_after_fit(with_callback):
        torch.manual_seed(0)
        callbacks = [Evaluation(metrics=["mode_coverage"], every_n_steps=1, n_samples=4, max_time_fraction=None)] if with_callback else []
        module = PointsModule(RING)
        module.sample = lambda n: torch.randn(n, 2)  # consumes the global RNG
        make_trainer(max_steps=3, callbacks=callbacks).fit(module, datamodule=ring_data())
        return torch.rand(3)

    assert torch.equal(noise_after_fit(True), noise_after_fit(False))


def test_checkpoint_holds_no_metric_state(tmp_path):
    module = PointsModule(RING)
    callback = Evaluation(metrics=["mode_coverage", "parzen"], every_n_steps=1, n_samples=8, max_time_fraction=None)
    trainer = make_trainer(max_steps=2, callbacks=[callback])
    trainer.fit(module, datamodule=TensorDataModule(RING.repeat(2, 1), val=RING.repeat(2, 1), centres=RING, std=0.01))
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert set(checkpoint["state_dict"]) == {"weight", "points"}
    assert checkpoint["callbacks"][callback.state_key] == {"last_evaluated_step": 2}
    resumed = Evaluation(metrics=["mode_coverage", "parzen"], every_n_steps=1, n_samples=8, max_time_fraction=None)
    resumed.load_state_dict(checkpoint["callbacks"][resumed.state_key])
    assert resumed.last_evaluated_step == 2


def test_parzen_through_the_callback_matches_the_function():
    torch.manual_seed(0)
    samples, val = torch.randn(20, 2) * 0.5, torch.randn(10, 2) * 0.5
    module = PointsModule(samples)
    callback = Evaluation(metrics=["parzen"], every_n_steps=100, n_samples=20, batch_size=6)
    make_trainer(max_steps=1, callbacks=[callback]).fit(module, datamodule=TensorDataModule(samples, val=val))
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    want = parzen_evaluation(samples, val[order[:5]], val[order[5:]])
    assert callback.last_results["eval/legacy_parzen_log_likelihood"] == pytest.approx(want["log_likelihood"])
    assert callback.last_results["eval/legacy_parzen_sigma"] == pytest.approx(want["sigma"])


def test_default_metrics_follow_the_data():
    assert default_metrics(ring_data(), (2,)) == ["mode_coverage"]
    assert default_metrics(None, (1, 8, 8)) == ["digits"]
    assert default_metrics(None, (3, 32, 32)) == ["fid", "kid", "is"]


def test_mode_coverage_without_a_mixture_is_a_clear_error():
    callback = Evaluation(metrics=["mode_coverage"], n_samples=4)
    with pytest.raises(ValueError, match="centres and std"):
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(RING), datamodule=TensorDataModule(RING))


@pytest.mark.parametrize("kwargs", [dict(metrics=["fid", "bogus"]), dict(metrics=[]), dict(every_n_steps=0),
                                    dict(n_samples=1), dict(batch_size=0), dict(max_time_fraction=0)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        Evaluation(**kwargs)


class SlowPoints(PointsModule):
    """Sampling takes 50 ms a call, training steps almost nothing: evaluation dominates the time."""

    def sample(self, n):
        time.sleep(0.05)
        return super().sample(n)


@pytest.mark.parametrize("max_time_fraction, evaluated", [(None, 3), (0.05, 2)])
def test_periodic_evaluations_are_skipped_beyond_the_time_budget(max_time_fraction, evaluated):
    module = SlowPoints(RING)
    callback = Evaluation(metrics=["mode_coverage"], every_n_steps=2, n_samples=4, batch_size=4,
                          max_time_fraction=max_time_fraction)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(max_steps=6, callbacks=[callback]).fit(module, datamodule=ring_data())
    # steps 2, 4, 6 without a budget; with one, step 2 (no evaluation timed yet) and the end (always)
    assert len(module.calls) == evaluated
    assert callback.last_evaluated_step == 6
    assert callback.last_results["eval/time_fraction"] > 1  # 50 ms sampling vs microseconds of training
    warned = any("of the training time" in str(w.message) for w in caught)
    assert warned == (max_time_fraction is not None)

