"""The evaluation callback inside a Trainer: schedule, exact counts, no grad / no autocast, logging, defaults."""

import csv
import logging
import math
import sys
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from sklearn.datasets import make_moons
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.callbacks.evaluation import Evaluation, default_metrics, rank_share
from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.metrics import fid_helper_weights
from lightning_gans.gan_modules.metrics.parzen import parzen_evaluation
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator

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
    assert default_metrics(None, (2,), centres=RING) == ["mode_coverage"]  # Evaluation(centres=..., std=...)
    assert default_metrics(TensorDataModule(RING), (2,)) == ["prdc", "mmd_raw"]  # 2-D data without known modes
    assert default_metrics(None, (1, 8, 8)) == ["digits"]
    assert default_metrics(None, (3, 32, 32)) == ["fid", "kid", "is", "prdc_inception"]
    assert default_metrics(None, (10,)) == ["prdc", "mmd_raw"]


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



# ------------------------------------------------------------------ a user's own data without known modes
class Moons(pl.LightningDataModule):
    """A user's 2-D data with no ``centres``: sklearn's two moons, 1,000 training and 400 held-out points."""

    def __init__(self, held_out: bool = True) -> None:
        super().__init__()
        points = torch.tensor(make_moons(1400, noise=0.05, random_state=0)[0], dtype=torch.float32)
        self.train_dataset = TensorDataset(points[:1000])
        self.val_dataset = TensorDataset(points[1000:]) if held_out else None

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=100, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_dataset or self.train_dataset, batch_size=100)


PRDC_KEYS = ("eval/prdc_precision", "eval/prdc_recall", "eval/prdc_density", "eval/prdc_coverage")


@pytest.fixture
def info_lines(caplog):
    """Lightning's info lines (its logger does not propagate to the root logger that caplog watches)."""
    logger = logging.getLogger("lightning.pytorch")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_validate_on_own_2d_data_defaults_to_prdc_and_mmd_against_the_held_out_split(info_lines):
    torch.manual_seed(0)
    module = GAN(MLPGenerator((2,), hidden=16), MLPDiscriminator((2,), hidden=16))  # untrained
    callback = Evaluation()
    printed = make_trainer(callbacks=[callback]).validate(module, datamodule=Moons())[0]
    assert callback.metrics == ["prdc", "mmd_raw"]
    assert "prdc, mmd_raw compare the samples with the datamodule's val_dataset (held out)" in info_lines.text
    assert set(PRDC_KEYS) | {"eval/mmd_raw", "val/discriminator_real"} <= printed.keys()
    assert printed["eval/n_samples"] == 2500 and printed["eval/n_real_val"] == 400 and "eval/n_real" not in printed
    assert all(0 <= printed[key] <= 1 for key in PRDC_KEYS if key != "eval/prdc_density")
    assert printed["eval/prdc_density"] >= 0 and printed["eval/mmd_raw"] > 0
    assert printed["eval/prdc_recall"] < 0.5  # an untrained generator is far from the moons


def scores(points, n_samples, datamodule):
    """The callback's results at the end of a one-step fit of a module whose samples are ``points``."""
    callback = Evaluation(n_samples=n_samples, every_n_steps=100, max_time_fraction=None)
    make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(points), datamodule=datamodule)
    return callback.last_results


def test_a_perfect_generator_scores_one_and_a_collapsed_one_loses_recall_and_coverage():
    data = Moons()
    held_out, training = data.val_dataset.tensors[0], data.train_dataset.tensors[0]
    identical = scores(held_out, 400, data)  # the held-out points themselves
    assert [identical[key] for key in PRDC_KEYS] == [1.0, 1.0, 1.0, 1.0]
    fresh = scores(training, 1000, data)  # other points of the same distribution
    assert all(fresh[key] > 0.9 for key in PRDC_KEYS if key != "eval/prdc_density")
    assert 0.8 < fresh["eval/prdc_density"] < 1.2
    collapsed = scores(held_out[:1], 400, data)  # every sample on one held-out point
    assert collapsed["eval/prdc_precision"] == 1.0 and collapsed["eval/prdc_recall"] == 0.0
    assert collapsed["eval/prdc_coverage"] < 0.05
    assert abs(fresh["eval/mmd_raw"]) < 0.1 * collapsed["eval/mmd_raw"]


def test_without_a_held_out_split_the_training_set_is_the_reference(info_lines):
    data = Moons(held_out=False)
    results = scores(data.train_dataset.tensors[0], 1000, data)
    assert "compare the samples with the datamodule's train_dataset (it has no val_dataset" in info_lines.text
    assert results["eval/n_real"] == 1000 and "eval/n_real_val" not in results
    assert [results[key] for key in PRDC_KEYS] == [1.0, 1.0, 1.0, 1.0]  # the samples are the training set


def test_mode_coverage_asked_for_on_data_without_modes_names_the_alternatives_in_one_line():
    callback = Evaluation(metrics=["mode_coverage"], n_samples=50)
    with pytest.raises(ValueError, match=r"centres and std.*use metrics=\['prdc', 'mmd_raw'\]") as error:
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(RING), datamodule=Moons())
    assert "\n" not in str(error.value)


def test_a_metric_that_cannot_run_is_left_out_in_one_line_and_the_rest_run():
    callback = Evaluation(metrics=["mode_coverage", "prdc"], n_samples=50, every_n_steps=100)
    with pytest.warns(UserWarning, match="Evaluation: mode_coverage left out: mode_coverage needs the mixture") as caught:
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(RING), datamodule=Moons())
    assert all("\n" not in str(w.message) for w in caught if "left out" in str(w.message))
    assert callback.metrics == ["prdc"] and "eval/modes_captured" not in callback.last_results
    assert 0 <= callback.last_results["eval/prdc_coverage"] <= 1


def test_too_few_samples_for_prdc_is_said_before_anything_runs():
    callback = Evaluation(metrics=["prdc"], n_samples=5)
    with pytest.raises(ValueError, match="prdc with k = 5 needs more than 5 samples, n_samples is 5"):
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(RING), datamodule=Moons())


def test_images_without_inception_weights_fall_back_to_raw_pixels(tmp_path, monkeypatch, info_lines):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no weights anywhere
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fid_helper_weights, "torchscript_file", lambda: None)
    images = torch.rand(40, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    callback = Evaluation(n_samples=40, every_n_steps=100, download_weights=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(images), datamodule=TensorDataModule(images))
    left_out = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert len(left_out) == 1 and "\n" not in left_out[0]
    assert left_out[0].startswith("Evaluation: fid, kid, is, prdc_inception left out: Inception-v3 weights")
    assert "feature_extractor_weights_path" in left_out[0]
    assert "prdc, mmd_raw on raw pixels" in info_lines.text
    assert callback.metrics == ["prdc", "mmd_raw"] and "inception" not in callback.suites
    assert [callback.last_results[key] for key in PRDC_KEYS] == [1.0, 1.0, 1.0, 1.0]  # the samples are the data
