"""Two CPU processes (gloo) run the evaluation callback; each rank writes what it computed.

    python tests/scripts/ddp_evaluation.py OUTPUT_DIR

Rank r's module puts every sample exactly on mode r of an 8-mode ring, so with ``n_samples=7`` the
synced histogram must be [4, 3, 0, ...] (shares 4 + 3, each sample counted once) on both ranks.
Run as a subprocess by tests/test_evaluation_ddp.py (Lightning's ``ddp`` re-executes the command line).
"""

import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lightning_gans.callbacks.evaluation import Evaluation  # noqa: E402
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402

RING = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])


def main(output_dir: Path) -> None:
    callback = Evaluation(metrics=["mode_coverage"], every_n_steps=2, n_samples=7, batch_size=3, max_time_fraction=None)
    trainer = make_trainer(max_steps=3, devices=2, strategy="ddp", callbacks=[callback])
    module = PointsModule(RING, by_rank=True)
    trainer.fit(module, datamodule=TensorDataModule(RING.repeat(4, 1), centres=RING, std=0.01))
    computed = callback.suites["mode_coverage"].last_computed
    record = {
        "rank": trainer.global_rank, "world_size": trainer.world_size, "results": callback.last_results,
        "counts": computed["counts"].tolist(), "metric_total": computed["n_samples"],
        "generated_here": module.generated, "evaluated_step": callback.last_evaluated_step,
    }
    (output_dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
