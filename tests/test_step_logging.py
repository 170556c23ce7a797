"""The per-step logging's one read of Lightning's private state
(:func:`~lightning_gans.gan_modules.training.step_logging.lightning_writes_step_metrics`) against the
batches whose step metrics Lightning really writes to its loggers: this fails when Lightning changes it."""

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import Logger
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules.training.step_logging import lightning_writes_step_metrics


class RecordingLogger(Logger):
    """Keeps the ``batch`` value of every step-metrics write."""

    def __init__(self):
        super().__init__()
        self.written = []

    @property
    def name(self):
        return "recording"

    @property
    def version(self):
        return 0

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_metrics(self, metrics, step=None):
        if "batch" in metrics:
            self.written.append(int(metrics["batch"]))


class Regression(pl.LightningModule):
    """A plain Lightning module that logs its batch number at every step and asks the read each time."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.answers = []

    def training_step(self, batch, batch_idx):
        self.answers.append(lightning_writes_step_metrics(self.trainer))
        self.log("batch", float(len(self.answers) - 1))
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.parametrize("every", [1, 3])
def test_the_read_names_exactly_the_batches_lightning_writes(every):
    logger = RecordingLogger()
    module = Regression()
    pl.Trainer(max_epochs=2, logger=logger, log_every_n_steps=every, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False).fit(
        module, DataLoader(TensorDataset(torch.randn(20, 2)), batch_size=2))
    said = [batch for batch, writes in enumerate(module.answers) if writes]
    assert len(module.answers) == 20 and said == logger.written
    assert said == [batch for batch in range(20) if (batch + 1) % every == 0]
