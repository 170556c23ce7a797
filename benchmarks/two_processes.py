"""Two CPU processes (gloo) that run several Lightning fits in a row on one process group.

Lightning's own launcher re-runs the whole script for rank 1 at the first fit, and a second fit
would launch again.  Here this process is rank 0 and starts rank 1 itself, with ``LOCAL_RANK``,
``WORLD_SIZE`` etc. in the environment, so Lightning (its ``LightningEnvironment``) launches nothing.
Used by ``benchmarks/ddp_cost.py`` and ``tests/scripts/ddp_methods.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Callable

import torch


def is_rank_zero() -> bool:
    return int(os.environ.get("LOCAL_RANK", "0")) == 0


def close_process_group() -> None:
    """Tear gloo down before the interpreter exits (otherwise its threads can abort the process)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_on_two_processes(script: str, argv: list[str], work: Callable[[], None], partner_timeout: float = 120) -> int:
    """Run ``work`` on rank 0 (this process) and on rank 1 (``script argv`` started here); the exit code."""
    if "LOCAL_RANK" in os.environ:  # rank 1, started below
        work()
        close_process_group()
        return 0
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), NODE_RANK="0", WORLD_SIZE="2")
    partner = subprocess.Popen([sys.executable, script, *argv], env={**os.environ, "LOCAL_RANK": "1"})
    os.environ["LOCAL_RANK"] = "0"
    try:
        work()
        close_process_group()
    finally:
        try:
            code = partner.wait(timeout=partner_timeout)
        except subprocess.TimeoutExpired:
            partner.kill()
            code = -9
    return code
