"""Using the library from your own Lightning project: your networks, your data, the library's methods.

    python examples/own_project.py --steps 400 --out runs/own_project

What another project would write: its OWN generator and discriminator ``nn.Module``s (the generator
only needs a ``latent_dim`` attribute; the discriminator returns one logit per example, shape
``(B,)``), its own tiny ``LightningDataModule`` yielding ``(x, y)`` batches, and the library's
:class:`lightning_gans.gan_modules.GAN` (non-saturating loss) or :class:`lightning_gans.gan_modules.WGANGP` around them, trained by
a plain ``lightning.pytorch.Trainer`` with the library's :class:`lightning_gans.callbacks.SampleFigures`.  Saves a
checkpoint and prints sample statistics next to the data's (mean radius of the ring, mode coverage
against :class:`lightning_gans.datamodules.RingOfGaussians`' centres).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lightning_gans.callbacks import SampleFigures  # noqa: E402
from lightning_gans.datamodules import RingOfGaussians  # noqa: E402
from lightning_gans.gan_modules import GAN, WGANGP, OptimizerSpec  # noqa: E402
from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics  # noqa: E402


class MyGenerator(nn.Module):
    """The user's generator: ``latent_dim`` tells the GAN module what prior to sample."""

    def __init__(self, latent_dim: int = 4, hidden: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class MyDiscriminator(nn.Module):
    """The user's discriminator: one raw score (logit) per example, shape ``(B,)``."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


class MyRingData(pl.LightningDataModule):
    """The user's own data module: points of the library's 8-Gaussian ring (its ``centres``/``std``), as ``(x, y)``."""

    def __init__(self, n: int = 4096, batch_size: int = 128, seed: int = 0) -> None:
        super().__init__()
        self.ring = RingOfGaussians(n_modes=8, radius=1.0, std=0.05)
        self.n, self.batch_size, self.seed = n, batch_size, seed

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        modes = torch.randint(len(self.ring.centres), (self.n,), generator=generator)
        x = self.ring.centres[modes] + self.ring.std * torch.randn(self.n, 2, generator=generator)
        return DataLoader(TensorDataset(x, modes), batch_size=self.batch_size, shuffle=True, drop_last=True)


def build(method: str) -> pl.LightningModule:
    """The library's method around the user's networks (Adam with betas (0.5, 0.999), lr 1e-3: a toy-sized choice)."""
    optimizer = OptimizerSpec(name="adam", lr=1e-3, betas=(0.5, 0.999))
    if method == "gan":
        return GAN(MyGenerator(), MyDiscriminator(), generator_loss="non_saturating",
                   generator_optimizer=optimizer, discriminator_optimizer=optimizer)
    if method == "wgan_gp":
        return WGANGP(MyGenerator(), MyDiscriminator(), generator_optimizer=OptimizerSpec(
            name="adam", lr=1e-3, betas=(0.5, 0.9)), discriminator_optimizer=OptimizerSpec(
            name="adam", lr=1e-3, betas=(0.5, 0.9)))
    raise ValueError(f"method must be 'gan' or 'wgan_gp', got {method!r}")


def sample_statistics(samples: Tensor, data: MyRingData) -> dict:
    stats = mode_statistics(samples, data.ring.centres, data.ring.std)
    radius = samples.norm(dim=1)
    return {"n": samples.shape[0], "dim": samples.shape[1], "mean_radius": float(radius.mean()),
            "radius_std": float(radius.std()), "mean": [round(float(v), 4) for v in samples.mean(0)],
            "modes_captured": stats["modes_captured"], "high_quality_fraction": stats["high_quality_fraction"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps (Lightning's global_step)")
    parser.add_argument("--method", choices=("gan", "wgan_gp"), default="gan")
    parser.add_argument("--out", type=Path, default=Path("runs/own_project"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be positive")
    pl.seed_everything(args.seed, verbose=False)
    data = MyRingData(seed=args.seed)
    model = build(args.method)
    with torch.random.fork_rng(devices=[]):
        before = sample_statistics(model.sample(2500).float(), data)
    trainer = pl.Trainer(max_steps=args.steps, default_root_dir=args.out, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                         callbacks=[SampleFigures(every_n_steps=max(1, args.steps // 2), n_samples=1000)])
    trainer.fit(model, datamodule=data)
    checkpoint = args.out / "own_project.ckpt"
    trainer.save_checkpoint(checkpoint)
    after = sample_statistics(model.sample(2500).float(), data)
    print(f"data: 8 modes on the unit circle (mean radius {1.0:.2f}), std {data.ring.std}")
    print(f"samples before training: {before}")
    print(f"samples after {trainer.global_step} steps: {after}")
    print(f"checkpoint: {checkpoint.resolve()}")
    print("reload: model = build(...); model.load_state_dict(torch.load(path, weights_only=False)['state_dict'])")
    return {"before": before, "after": after, "checkpoint": str(checkpoint), "steps": trainer.global_step,
            "radius_error_before": abs(before["mean_radius"] - 1.0), "radius_error_after": abs(after["mean_radius"] - 1.0)}


if __name__ == "__main__":
    main()
