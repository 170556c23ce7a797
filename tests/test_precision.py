"""Mixed precision for every method on CPU: bf16-mixed (what CI can run) and the fp16 GradScaler path.

bf16: the networks run under autocast (the discriminator's scores come out in bfloat16), the
parameters and optimizer states stay float32, the losses stay finite, and the first discriminator
loss is the float32 run's within bf16's precision (same seed, same weights, same batch, same noise).
fp16: Lightning's ``MixedPrecision("16-mixed", "cpu")`` plugin (on CPU ``precision="16-mixed"``
silently becomes bf16: Lightning's CPU accelerator has no fp16 autocast) gives a real GradScaler; the module sees it and
training keeps the weights finite.
"""

import math
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins import MixedPrecision

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

import scale_methods  # noqa: E402

BATCHES = 4
#: |bf16 - fp32| / max(1, |fp32|) for the first discriminator loss: bfloat16 keeps 8 bits of
#: mantissa (2^-8 ~ 0.4% per rounding); measured 0.03% to 0.17% over the methods (penalty losses ~9).
BF16_RTOL = 0.01


class Record(pl.Callback):
    """The discriminator loss of every batch, the dtype of the discriminator's scores, the grad scaler seen."""

    def __init__(self) -> None:
        self.d_losses: list[float] = []
        self.score_dtypes: set[torch.dtype] = set()
        self.scales: list[float] = []

    def on_train_start(self, trainer, pl_module):
        pl_module.discriminator.register_forward_hook(lambda m, i, out: self.score_dtypes.add(out.dtype))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.d_losses.append(float(trainer.callback_metrics["loss/discriminator"]))
        if pl_module.grad_scaler is not None:
            self.scales.append(pl_module.grad_scaler.get_scale())


def fit(method: str, **trainer_options) -> tuple[pl.LightningModule, Record]:
    pl.seed_everything(0, verbose=False)
    module = scale_methods.build(method)
    record = Record()
    steps = 4 * BATCHES if method == "alpha_gan" else BATCHES + BATCHES // module.n_critic
    # log_every_n_steps=1: the base module records its losses on the batches Lightning logs
    scale_methods.trainer(max_steps=steps, callbacks=[record], log_every_n_steps=1, **trainer_options).fit(
        module, datamodule=scale_methods.ring())
    assert len(record.d_losses) == BATCHES
    return module, record


def float32_throughout(module: pl.LightningModule) -> bool:
    states = [v for opt in module.optimizers() for s in opt.optimizer.state.values() for v in s.values()
              if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0]
    return all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in [*module.parameters(), *states])


@pytest.mark.parametrize("method", list(scale_methods.METHODS))
def test_bf16_mixed_matches_float32_within_bf16_precision(method):
    _, fp32 = fit(method)
    module, bf16 = fit(method, precision="bf16-mixed")
    assert fp32.score_dtypes == {torch.float32}
    assert bf16.score_dtypes == {torch.bfloat16}  # autocast was on in every step
    assert all(math.isfinite(loss) for loss in bf16.d_losses)
    assert abs(bf16.d_losses[0] - fp32.d_losses[0]) < BF16_RTOL * max(1.0, abs(fp32.d_losses[0]))
    assert bf16.d_losses != fp32.d_losses  # it is not the float32 computation
    assert not bf16.scales  # no GradScaler with bf16
    assert float32_throughout(module)


@pytest.mark.parametrize("method", list(scale_methods.METHODS))
def test_fp16_grad_scaler_path_keeps_weights_finite(method):
    module, fp16 = fit(method, plugins=[MixedPrecision("16-mixed", "cpu")])
    assert fp16.score_dtypes == {torch.float16}
    assert len(fp16.scales) == BATCHES  # the module saw the scaler in every step
    assert all(scale > 0 for scale in fp16.scales)
    assert float32_throughout(module)
