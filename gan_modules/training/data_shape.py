"""The data's shape: read from the datamodule or the first batch when not given, and checked against the
first batch and the generator's samples before any work is done."""

from __future__ import annotations

from typing import Any, Optional

import torch

from lightning_gans.datamodules.contract import data_shape_of
from lightning_gans.gan_modules.training.networks import eval_mode

FACTORY_DEFAULT_SHAPE = (2,)  # what network factories are built for when data_shape is not given


class DataShapeCheck:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that knows the data's
    shape: ``data_shape`` when given, else the datamodule's (:meth:`adopt_datamodule_shape`, at ``setup``) or
    the first batch's; the first training or validation batch of each fit is checked against it and against
    one forward of the generator (:meth:`_check_data`)."""

    def adopt_datamodule_shape(self) -> None:
        """Without a ``data_shape``, the datamodule's (its ``data_shape``, else its first batch's)."""
        if self.data_shape is None:
            self._adopt_data_shape(data_shape_of(self.trainer.datamodule, self.batch_key))

    def _adopt_data_shape(self, shape: Optional[tuple[int, ...]]) -> None:
        self.data_shape = shape
        if "data_shape" in self.hparams:  # so that load_from_checkpoint rebuilds the module for this shape
            self.hparams["data_shape"] = shape

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._check_first_batch(batch, "training")

    def on_validation_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Validation batches are checked as training batches are: Lightning's sanity check
        (``num_sanity_val_steps``) validates before the first training batch."""
        self._check_first_batch(batch, "validation")

    def _check_first_batch(self, batch: Any, kind: str) -> None:
        """:meth:`_check_data` on the examples of ``batch`` (of ``kind``: training or validation) until
        one batch was checked (each fit's ``on_train_start`` asks again, for its first training batch)."""
        if not self._data_checked:
            self._check_data(tuple(self.real_from_batch(batch).shape[1:]), kind)
            self._data_checked = True

    def _check_data(self, shape: tuple[int, ...], kind: str) -> None:
        """A batch's examples against ``data_shape`` and the generator's samples (one forward of 2 codes)."""
        if self.data_shape is None:
            self._adopt_data_shape(shape)
        if shape != self.data_shape:
            told = "" if self._data_shape_given else ", the default for network factories when it is not given"
            raise ValueError(f"the {kind} batches hold examples of shape {shape}, but the module's data_shape is "
                             f"{self.data_shape}{told}: pass data_shape={shape}")
        # in the training steps' precision (autocast), changing no state and drawing no random numbers
        with self.trainer.precision_plugin.forward_context(), torch.no_grad(), eval_mode(self.generator):
            made = tuple(self.generator(torch.zeros(2, self.latent_dim, device=self.device)).shape[1:])
        if made != shape:
            raise ValueError(f"the generator ({type(self.generator).__name__}) makes samples of shape {made}, "
                             f"but the data have shape {shape}")
