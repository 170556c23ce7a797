"""Pictures of samples during training: a scatter plot over the data for 2-D sets, an image grid otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.utilities import rank_zero_warn  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from lightning_gans.datamodules.contract import DEFAULT_BATCH_KEY, batch_key_of, stack_examples  # noqa: E402
from lightning_gans.callbacks.run_directory import run_directory  # noqa: E402
from lightning_gans.gan_modules.training.rng import seeded  # noqa: E402


class SampleFigures(pl.Callback):
    """Every ``every_n_steps`` optimizer steps (Lightning's ``global_step``) and at the end of fit,
    draw ``n_samples`` samples from ``pl_module.sample`` and save a PNG to ``<run directory>/samples/``
    (:func:`~lightning_gans.callbacks.run_directory.run_directory`: each W&B run its own).

    For modules that reconstruct (alpha-GAN's ``reconstruction_pairs``) a second picture,
    ``reconstructions_<step>.png``, shows held-out inputs beside their reconstructions.
    The pictures also go to the logger when it takes images (W&B ``log_image``, TensorBoard
    ``add_figure``).  Only rank 0 draws.  Every picture uses the same latent draws (from ``seed``),
    inside a forked RNG: drawing pictures never changes the training run's random numbers.
    """

    def __init__(self, every_n_steps: int = 1000, n_samples: int = 1000, n_images: int = 64,
                 output_dir: Optional[str] = None, seed: int = 0) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be at least 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.n_samples = n_samples
        self.n_images = n_images
        self.seed = seed
        self._requested_dir = output_dir
        self.output_dir: Optional[Path] = None
        self._last_drawn_step = -1
        self._real_points: Optional[torch.Tensor] = None
        self.batch_key = DEFAULT_BATCH_KEY  # the module's, from setup: where dict examples hold the data

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        root = self._requested_dir or run_directory(trainer) / "samples"
        self.output_dir = Path(root)
        self.batch_key = batch_key_of(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step // self.every_n_steps > max(self._last_drawn_step, 0) // self.every_n_steps:
            self.draw(trainer, pl_module)

    def on_fit_end(self, trainer, pl_module) -> None:
        if trainer.global_step != self._last_drawn_step:
            self.draw(trainer, pl_module)

    def draw(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Optional[Path]:
        """The pictures of the current step (``step_<step>.png``, ``reconstructions_<step>.png``); rank 0 only."""
        self._last_drawn_step = step = trainer.global_step
        name = type(pl_module).__name__
        path = self.draw_samples(trainer, pl_module, f"{name}, step {step}", f"step_{step:07d}", log_key="samples")
        if path is not None and hasattr(pl_module, "reconstruction_pairs") and len(pl_module.data_shape) > 1:
            inputs = self._held_out_images(trainer, self.n_images // 2)
            if inputs is not None:
                pairs = pl_module.reconstruction_pairs(inputs).detach().float().cpu()
                figure = self._grid(pairs, columns=2 * max(1, int((len(inputs) / 2) ** 0.5)))
                title = f"{name}, step {step}: inputs (left) and reconstructions"
                self._save(trainer, figure, title, f"reconstructions_{step:07d}", log_key="reconstructions")
        return path

    def draw_samples(self, trainer: pl.Trainer, model: Any, title: str, name: str, seed: Optional[int] = None,
                     log_key: Optional[str] = None) -> Optional[Path]:
        """Save a picture of ``model``'s samples as ``<output_dir>/<name>.png`` and return its path.

        ``model``: anything with ``sample(n)``, ``data_shape`` and ``device`` (a module, AdaGAN's
        ``GeneratorMixture``).  2-D data: ``n_samples`` points scattered over the training data and
        the datamodule's modes; otherwise a grid of ``n_images`` images.  The samples are drawn inside
        a forked RNG seeded with ``seed`` (default: this callback's ``seed``), so drawing never
        changes the training run's random numbers.  With ``log_key`` the picture also goes to the
        loggers that take images.  Only rank 0 draws (``None`` elsewhere).
        """
        if not trainer.is_global_zero:
            return None
        points = tuple(model.data_shape) == (2,)
        with seeded(self.seed if seed is None else seed, model.device):
            samples = model.sample(self.n_samples if points else self.n_images).detach().float().cpu()
        figure = self.picture(samples, trainer)
        return self._save(trainer, figure, title, name, log_key)

    def picture(self, samples: torch.Tensor, trainer: pl.Trainer):
        """A matplotlib figure of CPU ``samples``: a scatter plot over the data for 2-D points, an image grid otherwise."""
        if samples.dim() == 2 and samples.size(1) == 2:
            return self._scatter(samples, trainer)
        return self._grid(samples)

    def _save(self, trainer: pl.Trainer, figure, title: str, name: str, log_key: Optional[str]) -> Path:
        figure.suptitle(title)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        if log_key is not None:
            self._send_to_logger(trainer, figure, path, key=log_key)
        plt.close(figure)
        return path

    def _held_out_images(self, trainer: pl.Trainer, n: int) -> Optional[torch.Tensor]:
        """The first ``n`` images of the validation split (the training split when there is none)."""
        datamodule = trainer.datamodule
        dataset = getattr(datamodule, "val_dataset", None) or getattr(datamodule, "train_dataset", None)
        if dataset is None:
            rank_zero_warn("SampleFigures draws reconstructions of the datamodule's `val_dataset` (or `train_dataset`), "
                           "and the run has neither: no reconstruction picture (lightning_gans.datamodules.contract)")
        if dataset is None or n < 1:
            return None
        return stack_examples(dataset, range(min(n, len(dataset))), self.batch_key)

    def _scatter(self, samples: torch.Tensor, trainer: pl.Trainer):
        figure, axis = plt.subplots(figsize=(5, 5))
        real = self._real_sample(trainer)
        if real is not None:
            axis.scatter(real[:, 0], real[:, 1], s=4, c="0.7", label="data")
        axis.scatter(samples[:, 0], samples[:, 1], s=4, c="tab:red", alpha=0.6, label="generated")
        centres = getattr(trainer.datamodule, "centres", None)
        if centres is not None:
            axis.scatter(centres[:, 0], centres[:, 1], marker="x", c="k", s=30, label="modes")
        axis.set_aspect("equal")
        axis.legend(loc="upper right", fontsize=8)
        return figure

    def _real_sample(self, trainer: pl.Trainer) -> Optional[torch.Tensor]:
        """Up to ``n_samples`` training points, read once from the datamodule's training set."""
        if self._real_points is None:
            dataset = getattr(trainer.datamodule, "train_dataset", None)
            if dataset is None:
                rank_zero_warn("SampleFigures plots real points from the datamodule's `train_dataset`, and the run has "
                               "none: the scatter shows the samples alone (lightning_gans.datamodules.contract)")
                return None
            indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[: self.n_samples]
            self._real_points = stack_examples(dataset, indices, self.batch_key)
        return self._real_points

    @staticmethod
    def _grid(images: torch.Tensor, columns: Optional[int] = None):
        columns = columns or max(1, int(len(images) ** 0.5))
        grid = make_grid(images.clamp(-1, 1), nrow=columns, normalize=True, value_range=(-1, 1))
        figure, axis = plt.subplots(figsize=(6, 6))
        axis.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        axis.axis("off")
        return figure

    @staticmethod
    def _send_to_logger(trainer: pl.Trainer, figure, path: Path, key: str) -> None:
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key=key, images=[str(path)], step=trainer.global_step)
            elif hasattr(getattr(logger, "experiment", None), "add_figure"):
                logger.experiment.add_figure(key, figure, global_step=trainer.global_step)
