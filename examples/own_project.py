"""Using the library from your own Lightning project: your networks, your data, the library's methods.

    python examples/own_project.py --data moons --steps 400 --out runs/own_project
    python examples/own_project.py --data bars --method wgan_gp --steps 400 --out runs/own_project_bars

What another project would write: its OWN generator and discriminator ``nn.Module``s (the generator
only needs a ``latent_dim`` attribute; the discriminator returns one logit per example, shape
``(B,)``), its OWN ``LightningDataModule``, and the library's :class:`lightning_gans.gan_modules.GAN`
(non-saturating loss) or :class:`lightning_gans.gan_modules.WGANGP` around them, trained by a plain
``lightning.pytorch.Trainer`` with the library's :class:`lightning_gans.callbacks.SampleFigures`.
Two data sets that are not the library's:

* ``moons``: two interleaved half circles in the plane; batches are dicts ``{"point": x, "moon": y}``,
  so the module is told ``batch_key="point"``; the datamodule has a ``train_dataset`` (SampleFigures
  plots its points behind the samples) and a ``data_shape``.
* ``bars``: 8x8 grey images, each one horizontal or vertical bright bar; batches are bare tensors and
  the datamodule says nothing about shapes: the module reads ``(1, 8, 8)`` from the first batch.

Neither module is given ``data_shape`` (the networks are modules, built by the project for its data).
The run saves a checkpoint and prints how far samples are from the data before and after training
(a Chamfer distance: samples to their nearest training examples and back).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lightning_gans.callbacks import SampleFigures  # noqa: E402
from lightning_gans.gan_modules import GAN, WGANGP, OptimizerSpec  # noqa: E402

BAR_SIZE = 8


class MyGenerator(nn.Module):
    """The user's generator: ``latent_dim`` tells the GAN module what prior to sample; tanh for images."""

    def __init__(self, shape: tuple[int, ...], latent_dim: int = 4, hidden: int = 64) -> None:
        super().__init__()
        self.latent_dim, self.shape = latent_dim, shape
        out = [nn.Tanh()] if len(shape) > 1 else []
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, math.prod(shape)), *out)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(len(z), *self.shape)


class MyDiscriminator(nn.Module):
    """The user's discriminator: one raw score (logit) per example, shape ``(B,)``."""

    def __init__(self, shape: tuple[int, ...], hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


class MoonPoints(Dataset):
    """Two interleaved half circles (radius 1, the second shifted by (1, -0.5)), Gaussian noise 0.05; dict items."""

    def __init__(self, n: int, generator: torch.Generator) -> None:
        moon = torch.randint(2, (n,), generator=generator)
        angle = math.pi * torch.rand(n, generator=generator)
        upper = torch.stack([angle.cos(), angle.sin()], 1)
        lower = torch.stack([1 - angle.cos(), 0.5 - angle.sin()], 1)
        self.points = torch.where(moon[:, None] == 0, upper, lower) + 0.05 * torch.randn(n, 2, generator=generator)
        self.moons = moon

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"point": self.points[i], "moon": self.moons[i]}


class Moons(pl.LightningDataModule):
    """The user's 2-D data module: dict batches, a ``train_dataset`` and a ``data_shape``."""

    data_shape = (2,)

    def __init__(self, n: int = 4096, batch_size: int = 128, seed: int = 0) -> None:
        super().__init__()
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.train_dataset = None

    def setup(self, stage: str) -> None:
        if self.train_dataset is None:
            self.train_dataset = MoonPoints(self.n, torch.Generator().manual_seed(self.seed))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_dataset, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def examples(self) -> Tensor:
        return self.train_dataset.points


class Bars(pl.LightningDataModule):
    """The user's image data module: 8x8 images in [-1, 1], one bright row or column each; bare tensor batches."""

    def __init__(self, n: int = 2048, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.n, self.batch_size, self.seed = n, batch_size, seed
        generator = torch.Generator().manual_seed(seed)
        position = torch.randint(BAR_SIZE, (n,), generator=generator)
        vertical = torch.rand(n, generator=generator) < 0.5
        rows = torch.arange(BAR_SIZE)[None, :, None] == position[:, None, None]
        columns = torch.arange(BAR_SIZE)[None, None, :] == position[:, None, None]
        self.images = (torch.where(vertical[:, None, None], columns, rows).float() * 2 - 1).unsqueeze(1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.images, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def examples(self) -> Tensor:
        return self.images


def build(method: str, shape: tuple[int, ...], batch_key: str = "x") -> pl.LightningModule:
    """The library's method around the user's networks (Adam, lr 1e-3: a toy-sized choice)."""
    networks = {"generator": MyGenerator(shape), "discriminator": MyDiscriminator(shape), "batch_key": batch_key}
    if method == "gan":
        optimizer = OptimizerSpec(name="adam", lr=1e-3, betas=(0.5, 0.999))
        return GAN(**networks, generator_loss="non_saturating", generator_optimizer=optimizer,
                   discriminator_optimizer=optimizer)
    if method == "wgan_gp":
        optimizer = OptimizerSpec(name="adam", lr=1e-3, betas=(0.5, 0.9))
        return WGANGP(**networks, generator_optimizer=optimizer, discriminator_optimizer=optimizer)
    raise ValueError(f"method must be 'gan' or 'wgan_gp', got {method!r}")


def chamfer_distance(samples: Tensor, data: Tensor) -> float:
    """Half the sum of two means (both flattened, Euclidean): each sample's distance to its nearest data
    example (are the samples data-like?) and each data example's to its nearest sample (is the data covered?)."""
    distances = torch.cdist(samples.flatten(1).float(), data.flatten(1).float())
    return float(distances.min(1).values.mean() + distances.min(0).values.mean()) / 2


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("moons", "bars"), default="moons")
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps (Lightning's global_step)")
    parser.add_argument("--method", choices=("gan", "wgan_gp"), default="gan")
    parser.add_argument("--out", type=Path, default=Path("runs/own_project"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be positive")
    pl.seed_everything(args.seed, verbose=False)
    if args.data == "moons":
        data, model = Moons(seed=args.seed), build(args.method, (2,), batch_key="point")
        data.setup("fit")
    else:
        data, model = Bars(seed=args.seed), build(args.method, (1, BAR_SIZE, BAR_SIZE))
    with torch.random.fork_rng(devices=[]):
        before = chamfer_distance(model.sample(500), data.examples()[:1000])
    trainer = pl.Trainer(max_steps=args.steps, default_root_dir=args.out, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                         callbacks=[SampleFigures(every_n_steps=max(1, args.steps // 2), n_samples=1000)])
    trainer.fit(model, datamodule=data)
    checkpoint = args.out / "own_project.ckpt"
    trainer.save_checkpoint(checkpoint)
    after = chamfer_distance(model.sample(500), data.examples()[:1000])
    print(f"data: {args.data}, examples of shape {model.data_shape} (read from the data)")
    print(f"Chamfer distance of 500 samples to 1,000 training examples: {before:.4f} before training, "
          f"{after:.4f} after {trainer.global_step} steps")
    print(f"checkpoint: {checkpoint.resolve()}")
    return {"data_shape": model.data_shape, "before": before, "after": after, "steps": trainer.global_step,
            "checkpoint": str(checkpoint)}


if __name__ == "__main__":
    main()
