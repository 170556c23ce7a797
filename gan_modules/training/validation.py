"""``validate`` and ``test``: the discriminator's mean score on held-out real data and on as many samples."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lightning_gans.gan_modules.training.rng import seeded


class DiscriminatorScores:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that validates and tests."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """The discriminator's mean score (its raw output) on held-out real data and on as many
        samples, logged per epoch as ``val/discriminator_real`` and ``val/discriminator_fake``: a real
        score that drifts away from the training data's marks a discriminator that overfits (Karras
        et al. 2020, Sec. 2).  The sample metrics (mode coverage, FID, ...) come from the
        :class:`~lightning_gans.callbacks.evaluation.Evaluation` callback at the end of the epoch.
        The fakes' noise comes from a forked RNG, so validating never changes a training run."""
        self._log_discriminator_scores(self.real_from_batch(batch), batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        """As :meth:`validation_step`, logged as ``test/...``."""
        self._log_discriminator_scores(self.real_from_batch(batch), batch_idx, "test")

    def _log_discriminator_scores(self, real: Tensor, batch_idx: int, prefix: str) -> None:
        real = real[: real.size(0) - real.size(0) % self.packing]  # whole packs only (a last, shorter batch)
        if real.size(0) == 0:
            return
        with seeded(batch_idx, self.device):
            fake = self.sample(real.size(0))
        scores = {kind: self.discriminator(self.pack(x)).float().mean() for kind, x in (("real", real), ("fake", fake))}
        self.log_dict({f"{prefix}/discriminator_{kind}": value for kind, value in scores.items()}, sync_dist=True)
        if self.trainer.state.fn == "fit":  # a fit's validation epochs go on its optimizer-step axis (StepLogging)
            self.log("step", float(self.global_step))
