"""The stand-alone example and the quality / many-paths benchmarks run end to end (small budgets)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _run(args: list[str], timeout: int) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("data, shape", [("moons", "(2,)"), ("bars", "(1, 8, 8)")])
def test_own_project_example_trains_on_data_that_are_not_the_librarys(tmp_path, data, shape):
    out = _run(["examples/own_project.py", "--data", data, "--steps", "200", "--out", str(tmp_path)], timeout=180)
    checkpoint = tmp_path / "own_project.ckpt"
    assert checkpoint.is_file()
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert state["global_step"] == 200
    assert any(key.startswith("generator.") for key in state["state_dict"])
    assert f"examples of shape {shape} (read from the data)" in out  # the module was not told the shape
    before, after = (float(d) for d in re.search(r"examples: ([0-9.]+) before training, ([0-9.]+) after", out).groups())
    assert after < before  # the samples moved toward the data (and cover more of it)
    assert list((tmp_path / "samples").glob("*.png"))


def test_quality_quick_writes_a_row_for_every_method(tmp_path):
    import quality

    _run(["benchmarks/quality.py", "--quick", "--data", "ring8", "digits", "--out", str(tmp_path)], timeout=300)
    table = (tmp_path / "quality.md").read_text()
    ring8_methods = [m for m in quality.METHODS if (ROOT / "configs" / f"ring8_{m}.yaml").is_file()]
    digits_methods = [m for m in quality.METHODS if (ROOT / "configs" / f"digits_{m}.yaml").is_file()]
    assert "gan_pack2" not in ring8_methods  # the packing rows are grid25 only
    assert "lsgan" in ring8_methods and "lsgan" not in digits_methods  # the new losses' rows are toy rows
    for method in ring8_methods:
        name = quality.METHODS[method]
        assert re.search(rf"^\| ring8 \| {re.escape(name)} \| [0-9.]+ / 8 \| [0-9.]+ \|", table, re.M), name
    for method in digits_methods:
        name = quality.METHODS[method]
        assert re.search(rf"^\| {re.escape(name)} \| [0-9.]+ / 10 \|", table, re.M), name
    assert "| PacGAN Table 1 | PacGAN4 | 7.8 | 95.9 | 24.8 | 93.6 |" in table
    assert "| VEEGAN Table 1 | VEEGAN | 8 | 52.9 | 24.6 | 40 |" in table
    assert "Command: `python benchmarks/quality.py --quick" in table
    rows = list(csv.DictReader((tmp_path / "quality.csv").open()))
    assert len(rows) == len(ring8_methods) + len(digits_methods)
    for row in rows:
        if row["data"] == "ring8":
            assert 0 <= int(row["modes_strict"]) <= int(row["modes"]) <= 8 and 0.0 <= float(row["hq_fraction"]) <= 1.0
        else:
            assert 1 <= int(row["classes"]) <= 10 and float(row["frechet"]) > 0
    assert (tmp_path / "quality_toy.png").is_file() and (tmp_path / "quality_digits.png").is_file()
    # every run's config was written, with the quick budget applied
    assert (tmp_path / "configs" / "ring8_gan_s0.yaml").read_text().count("max_steps: 60") == 1


def test_quality_has_a_config_for_every_method_and_data_set():
    import quality

    for method in quality.METHODS:
        config = quality.config_for("grid25", method)
        assert config["data"]["class_path"].endswith("GridOfGaussians"), method
        if not method.startswith("gan_pack"):
            assert quality.config_for("ring8", method)["data"]["class_path"].endswith("RingOfGaussians"), method
    assert quality.config_for("ring8", "gan_pack2") is None  # no ring8 config: the row is skipped


def test_quality_finished_only_tabulates_the_finished_runs_and_trains_nothing(tmp_path):
    _run(["benchmarks/quality.py", "--quick", "--data", "ring8", "--methods", "gan", "--out", str(tmp_path)],
         timeout=240)
    first = (tmp_path / "records" / "ring8_gan_s0.json").read_text()
    _run(["benchmarks/quality.py", "--quick", "--finished-only", "--data", "ring8", "--methods", "gan", "nsgan",
          "--seeds", "0", "1", "--out", str(tmp_path)], timeout=240)
    rows = list(csv.DictReader((tmp_path / "quality.csv").open()))
    assert [(row["method"], row["seed"]) for row in rows] == [("gan", "0")]  # nsgan and seed 1 never ran
    assert not (tmp_path / "runs" / "ring8_gan_s1").exists() and not (tmp_path / "runs" / "ring8_nsgan_s0").exists()
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == ["ring8_gan_s0.json", "ring8_gan_s0.pt"]
    assert (tmp_path / "records" / "ring8_gan_s0.json").read_text() == first
    assert re.search(r"^\| ring8 \| GAN \| .* \| 1 \| configs/ring8_gan.yaml \|$", (tmp_path / "quality.md").read_text(), re.M)


def test_quality_reports_the_standard_error_and_fixes_the_axes_to_the_modes():
    import torch
    import quality

    # values 1, 2, 3, 6: mean 3, sample std sqrt(14 / 3), standard error sqrt(14 / 3) / 2 = 1.08
    assert quality.mean_se([1.0, 2.0, 3.0, 6.0]) == "3 ± 1.1"
    assert quality.mean_se([2.5, float("nan")]) == "2.5"
    axis = torch.arange(-4.0, 5.0, 2.0)
    assert quality.data_limits(torch.cartesian_prod(axis, axis)) == (-6.0, 6.0)


def test_quality_quick_budget_for_adagan_counts_epochs(tmp_path):
    import quality

    config = quality.config_for("ring8", "adagan")
    patched = quality.patch_config(config, 3, tmp_path, max_steps=60, quick=True)
    stages = patched["trainer"]["callbacks"][0]["init_args"]["stages"]
    assert patched["seed_everything"] == 3
    assert patched["trainer"]["max_epochs"] == stages
    assert "max_steps" not in patched["trainer"]
    # 2 stages of one epoch, 2 optimizer steps a batch (n_critic 1): 60 // (2 * 2) = 15 batches an epoch
    assert stages == 2 and patched["trainer"]["limit_train_batches"] == 15
    assert patched["trainer"]["callbacks"][0]["init_args"]["classifier_steps"] == quality.QUICK_CLASSIFIER_STEPS


def test_distance_to_segment_by_hand():
    import torch
    from many_paths import distance_to_segment

    points = torch.tensor([[0.0, 0.5], [2.0, 0.0], [-4.0, 4.0], [0.3, 0.0]])
    expected = torch.tensor([0.5, 1.0, 5.0, 0.0])
    assert torch.allclose(distance_to_segment(points), expected)


def test_many_paths_generator_starts_off_the_manifold_and_ns_gan_learns_it(tmp_path):
    import torch
    import many_paths

    generator = many_paths.OffManifoldGenerator()
    start = many_paths.distance_to_segment(generator(torch.randn(500, 1)))
    assert torch.allclose(start, torch.full_like(start, many_paths.OFFSET))  # disjoint supports at init
    finals = many_paths.main(["--quick", "--methods", "minimax", "non_saturating", "--out", str(tmp_path)])
    assert (tmp_path / "many_paths.png").is_file()
    # after the discriminator warm-up the minimax generator's (SGD) gradient is saturated: it barely moves,
    # while the non-saturating GAN reaches the segment (3 seeds, 1,500 steps: 0.79 against 0.054)
    assert finals["non_saturating"][0] < 0.2
    assert finals["minimax"][0] > 0.6
    assert finals["minimax"][0] > 4 * finals["non_saturating"][0]


def test_quality_resume_reuses_a_finished_run_only_while_its_config_is_unchanged(tmp_path):
    import quality
    import torch

    config = quality.patch_config(quality.config_for("ring8", "gan"), 0, tmp_path / "a", max_steps=60, quick=True)
    samples = torch.randn(10, 2)
    quality.save_finished(tmp_path, "run", config, {"modes": 3}, samples)
    row, loaded = quality.load_finished(tmp_path, "run", config)
    assert row == {"modes": 3} and torch.equal(loaded, samples)
    changed = quality.patch_config(quality.config_for("ring8", "gan"), 0, tmp_path / "a", max_steps=61, quick=True)
    assert quality.load_finished(tmp_path, "run", changed) is None
    assert quality.load_finished(tmp_path, "other run", config) is None
    # another checkout writes the run elsewhere: the record still matches (it holds no output directory)
    moved = quality.patch_config(quality.config_for("ring8", "gan"), 0, tmp_path / "b", max_steps=60, quick=True)
    assert quality.load_finished(tmp_path, "run", moved)[0] == {"modes": 3}
    # a record kept without its samples still gives its row, and no samples
    quality.record_paths(tmp_path, "run")[1].unlink()
    assert quality.load_finished(tmp_path, "run", config) == ({"modes": 3}, None)


def test_quality_step_budgets_per_data_set():
    import pytest
    import quality

    assert quality.parse_budgets([]) == {}
    assert quality.parse_budgets(["500"]) == dict.fromkeys(quality.DATA, 500)
    assert quality.parse_budgets(["500", "digits=3000"]) == {"ring8": 500, "grid25": 500, "digits": 3000}
    for bad in (["cifar=10"], ["digits=0"], ["x"]):
        with pytest.raises(ValueError):
            quality.parse_budgets(bad)


def test_quality_budget_for_adagan_on_a_small_data_set_counts_whole_epochs(tmp_path):
    import quality

    config = quality.config_for("digits", "adagan")
    patched = quality.patch_config(config, 0, tmp_path, max_steps=3000, quick=False)
    args = quality._callbacks_named(patched, "AdaGAN")[0]["init_args"]
    batches = quality.train_batches_per_epoch(patched["data"])  # 1,438 training digits, batches of 64: 22
    steps = 2 * batches * args["epochs_per_stage"] * args["stages"]  # one D and one G step a batch
    assert "limit_train_batches" not in patched["trainer"]
    assert patched["trainer"]["max_epochs"] == args["epochs_per_stage"] * args["stages"]
    assert 3000 <= steps < 3000 + 2 * batches * args["stages"]  # the budget, rounded up to whole epochs


def test_eval_cost_reports_the_evaluation_share_of_training(tmp_path):
    out = _run(["benchmarks/eval_cost.py", "--configs", "digits_nsgan", "--max-steps", "20", "--n-samples", "50",
                "--root", str(tmp_path)], timeout=150)
    (row,) = [line for line in out.splitlines() if line.startswith("| digits_nsgan |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:5] == ["20", "digits", "50", "1000"]  # steps, default metrics, N, default period
    assert float(cells[7].rstrip("%")) > 0  # the end-of-fit evaluation was timed


def test_mnist5k_scores_a_run_and_the_floor_then_tabulates_the_records_without_training(tmp_path):
    import shutil

    import torch

    args = ["benchmarks/mnist5k.py", "--n", "8", "--max-steps", "2", "--methods", "nsgan", "--seeds", "0",
            "--out", str(tmp_path)]
    _run(args, timeout=300)
    run, floor = rows = list(csv.DictReader((tmp_path / "mnist5k.csv").open()))
    assert [(row["method"], row["seed"]) for row in rows] == [("nsgan", "0"), ("floor", "")]
    assert 10 >= int(run["classes"]) >= 0 and run["steps"] == "2" and run["n"] == run["n_real"] == "8"
    assert float(floor["fid"]) < float(run["fid"])  # real training digits beat two training steps
    table = (tmp_path / "mnist5k.md").read_bytes()
    assert re.search(r"^\| NS-GAN \| \d+ / 10 \| .* \| 2 steps \| .* \| 0 \|$", table.decode(), re.M)
    assert re.search(r"^\| \*floor: 8 training digits\* \| \d+ / 10 \| ", table.decode(), re.M)
    grid = torch.load(tmp_path / "records" / "mnist5k_nsgan_s0.pt")
    assert grid.dtype == torch.uint8 and grid.shape == (8, 1, 28, 28)  # the first 64 (here all 8) samples
    assert (tmp_path / "runs" / "mnist5k_nsgan_s0").is_dir() and (tmp_path / "mnist5k_samples.png").is_file()
    for trained in ("runs", "configs"):
        shutil.rmtree(tmp_path / trained)
    out = _run([*args, "--finished-only"], timeout=120)
    assert (tmp_path / "mnist5k.md").read_bytes() == table  # byte for byte: the command and date are the records'
    assert not (tmp_path / "runs").exists() and not (tmp_path / "configs").exists()  # nothing trained
    assert "held-out features" not in out and "{'method': 'nsgan', 'seed': 0" in out  # scored nothing, read the record
