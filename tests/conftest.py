import os

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def one_thread():
    """Inception-v3 at 299 px on a shared 2-core machine: one thread took 0.35 s for 2 images, two took
    1-7.5 s (oversubscription)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
