"""The evaluation callback with a WandbLogger in offline mode: the run directory holds the logged values."""

import json
import math
import struct
import sys
import time
from pathlib import Path

import pytest
import torch

from lightning_gans.callbacks.evaluation import Evaluation

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402

RING = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])


def offline_history(run_file: Path) -> list[dict]:
    """The ``history`` rows of an offline ``run-<id>.wandb`` file (offline runs write no wandb-summary.json).

    The file is a ``:W&B`` header (7 bytes) then a LevelDB-style log of protobuf ``Record``s in 32 KiB
    blocks: each chunk has a 7-byte header (crc32c, length, type: 1 full, 2 first, 3 middle, 4 last).
    """
    from wandb.proto import wandb_internal_pb2

    data, block = run_file.read_bytes(), 32768
    assert data[:4] == b":W&B"
    rows, position, pending = [], 7, b""
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + 7])
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return rows


def eval_rows_when_flushed(run_file: Path, timeout: float = 30.0) -> list[dict]:
    """The eval rows of the run file; wandb-core writes it asynchronously, so wait (locally) until they land."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [row for row in offline_history(run_file) if "eval/modes_captured" in row]
        if len(rows) >= 2 or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_offline_wandb_run_holds_metrics_and_table(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from lightning.pytorch.loggers import WandbLogger

    monkeypatch.setenv("WANDB_MODE", "offline")  # never touch the network
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(project="lightning-gans-test", name="eval-offline", save_dir=str(tmp_path), log_model=False)
    callback = Evaluation(every_n_steps=2, n_samples=10, max_time_fraction=None)
    module = PointsModule(RING[:5])  # exactly on 5 of the 8 modes
    make_trainer(max_steps=3, logger=logger, callbacks=[callback]).fit(
        module, datamodule=TensorDataModule(RING.repeat(4, 1), centres=RING, std=0.01))
    run_dir = Path(logger.experiment.dir).parent
    logger.experiment.finish()  # flushes the run file
    assert run_dir.name.startswith("offline-run-")
    history = eval_rows_when_flushed(next(run_dir.glob("run-*.wandb")))
    assert [row["trainer/global_step"] for row in history] == [2, 3]
    assert all(row["eval/modes_captured"] == 5 and row["eval/n_samples"] == 10 for row in history)
    tables = list((run_dir / "files" / "media" / "table").rglob("*.table.json"))
    assert tables
    newest = json.loads(max(tables, key=lambda p: p.stat().st_mtime).read_text())
    assert newest["columns"][:2] == ["global_step", "eval/modes_captured"]
    assert [row[0] for row in newest["data"]] == [2, 3]  # one row per evaluation
