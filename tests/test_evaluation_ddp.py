"""Metric state syncs across 2 CPU processes (gloo) and counts each sample once (run as a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "scripts" / "ddp_evaluation.py"


def test_two_process_evaluation_counts_each_sample_once(tmp_path):
    env = dict(os.environ, WANDB_MODE="offline", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [record["world_size"] for record in records] == [2, 2]
    # two evaluations (step 2 and the end, step 3); shares 4 and 3 of n_samples = 7 each time
    assert [record["generated_here"] for record in records] == [2 * 4, 2 * 3]
    for record in records:
        assert record["evaluated_step"] == 3
        assert record["counts"] == [4, 3, 0, 0, 0, 0, 0, 0]  # synced: rank 0's on mode 0, rank 1's on mode 1
        assert record["metric_total"] == 7
        assert record["results"]["eval/n_samples"] == 7
        assert record["results"]["eval/modes_captured"] == 2
        assert record["results"]["eval/high_quality_fraction"] == 1.0
