"""Two gloo processes each feed PRDC and PolynomialMMD their share of fixed real / generated sets and write
what ``compute()`` returns (tests/test_metrics_prdc.py compares it with the one-process values)."""

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lightning_gans.gan_modules.metrics.mmd import PolynomialMMD
from lightning_gans.gan_modules.metrics.prdc import PRDC


def two_sets():
    """``two_sets(10, 41, 37, 3)`` of tests/test_metrics_prdc.py."""
    generator = torch.Generator().manual_seed(10)
    real = torch.randn(41, 3, generator=generator, dtype=torch.float64)
    fake = torch.randn(37, 3, generator=generator, dtype=torch.float64) * 1.2 + 0.3
    return real, fake


def run(rank: int, world_size: int, out: str) -> None:
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    real, fake = two_sets()
    real, fake = (real[:20], fake[:11]) if rank == 0 else (real[20:], fake[11:])  # unequal shares
    prdc, mmd = PRDC(), PolynomialMMD()
    for metric in (prdc, mmd):
        metric.update(real, real=True)
        for chunk in fake.split(7):
            metric.update(chunk)
    record = {"local_sizes": [len(real), len(fake)],
              "prdc": {key: float(value) for key, value in prdc.compute().items()},
              "mmd2": float(mmd.compute()["mmd2"])}
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record))
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
    mp.spawn(run, args=(2, sys.argv[1]), nprocs=2)
