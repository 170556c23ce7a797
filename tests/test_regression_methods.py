"""Every method trains bit for bit as it did before the loss contract (issue 25): the same cases
(``tests/regression/train_methods.py``, 200 optimizer steps, fp32 and fp16) run on this checkout and on
:data:`REFERENCE_COMMIT`, extracted from the repository's history, on the same machine, and every weight and
buffer must be equal."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "regression" / "train_methods.py"
#: main before the loss contract: every method as a loss, penalty, constraint and schedule
REFERENCE_COMMIT = "f5cbf80"


def reference_tree(destination: Path) -> Path:
    """:data:`REFERENCE_COMMIT`'s files in ``destination`` (skips where the history does not hold it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", REFERENCE_COMMIT], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"the repository's history does not hold {REFERENCE_COMMIT}: {archive.stderr.decode()[:200]}")
    destination.mkdir()
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
    return destination


def trained(root: Path, out: Path, *options: str) -> dict:
    done = subprocess.run([sys.executable, str(HARNESS), str(root), str(out), *options], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"})
    assert done.returncode == 0, done.stderr[-3000:]
    record = torch.load(out, weights_only=True)
    assert Path(record["trained_from"]).is_relative_to(root), record["trained_from"]
    return record["weights"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regression")
    (tmp / "checkpoints").mkdir()
    return trained(ROOT, tmp / "now.pt"), trained(reference_tree(tmp / "reference"), tmp / "reference.pt",
                                                    "--checkpoints", str(tmp / "checkpoints")), tmp / "checkpoints"


@pytest.fixture(scope="module")
def reference_checkpoints(weights):
    """The reference commit's checkpoints of every case."""
    return sorted(weights[2].glob("*.ckpt"))


def test_every_case_of_every_method_trains_bit_for_bit_as_the_reference(weights):
    now, reference, _ = weights
    assert now.keys() == reference.keys() and len(now) == 34
    for case in reference:
        assert now[case].keys() == reference[case].keys(), case
        differing = [name for name in reference[case] if not torch.equal(now[case][name], reference[case][name])]
        assert not differing, (case, differing)


def test_the_cases_are_told_apart(weights):
    """The comparison can fail: fp16 and fp32 runs of a case, and two cases of a method, train other weights."""
    now, _, _ = weights
    for case in ("gan_non_saturating", "wgan_gp", "alpha_gan"):
        assert not torch.equal(now[f"{case}/32"]["generator.output_layer.weight"], now[f"{case}/16"]["generator.output_layer.weight"])
    assert not torch.equal(now["dragan_ns/32"]["generator.output_layer.weight"], now["nsgan_gp/32"]["generator.output_layer.weight"])


def test_checkpoints_written_before_the_loss_contract_load_and_resume(weights, reference_checkpoints):
    """Class paths and hyper-parameters are unchanged: every case's old checkpoint loads through the library's
    loader (class and networks from the checkpoint) with the reference's weights, and resumes training."""
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader

    from lightning_gans.gan_modules import load_generator

    _, reference, _ = weights
    assert len(reference_checkpoints) == 34
    for path in reference_checkpoints:
        case, precision = path.stem.rsplit("-", 1)
        module = load_generator(path)
        state = module.state_dict()
        assert all(torch.equal(state[name], value) for name, value in reference[f"{case}/{precision}"].items()), case
        steps = torch.load(path, weights_only=True)["global_step"]
        trainer = pl.Trainer(max_steps=steps + 9, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(type(module).load_from_checkpoint(path), DataLoader(torch.randn(640, 2), batch_size=16),
                    ckpt_path=path)
        assert trainer.global_step >= steps + 9, case
