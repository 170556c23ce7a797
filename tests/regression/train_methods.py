"""Train every method's cases for a fixed number of optimizer steps and save the final weights.

    python tests/regression/train_methods.py ROOT OUT [--cases NAME ...] [--checkpoints DIR]

``ROOT`` is the checkout whose ``lightning_gans`` is trained (it goes first on ``sys.path``, and a checkout
imports itself: ``lightning_gans/checkout.py``), so the same cases run on today's code and on an earlier
commit's (``tests/test_regression_methods.py``).  Only the methods' public constructor arguments are used, so
the cases mean the same on both sides.  ``OUT`` gets ``{"trained_from": the gan_modules file imported, "weights": {case/precision: state_dict}}``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path
from typing import Optional

STEPS = 200
PRECISIONS = ("32", "16")  # fp32, and fp16 through the GradScaler path (MixedPrecision("16-mixed", "cpu"))


def cases() -> dict[str, tuple[str, dict]]:
    """Case name -> (method class name in ``lightning_gans.gan_modules``, constructor arguments)."""
    return {
        "gan_non_saturating": ("GAN", {}),
        "gan_minimax_label_smoothing": ("GAN", {"generator_loss": "minimax", "real_label": 0.9}),
        "gan_feature_matching": ("GAN", {"generator_loss": "feature_matching"}),
        "gan_simultaneous": ("GAN", {"update_mode": "simultaneous"}),
        "gan_stabilised": ("GAN", {"instance_noise": 0.1, "instance_noise_anneal_steps": 50,
                                   "historical_averaging": 0.01, "ema_decay": 0.9, "ema_start_step": 5}),
        "gan_packing": ("GAN", {"packing": 2}),
        "wgan": ("WGAN", {"n_critic": 2}),
        "wgan_warmup": ("WGAN", {"critic_warmup": True, "clip_value": 0.05}),
        "wgan_gp": ("WGANGP", {"n_critic": 2}),
        "wgan_gp_lazy": ("WGANGP", {"penalty_interval": 3, "penalty_weight": 1.0}),
        "nsgan_gp": ("NSGANGP", {}),
        "dragan_ns": ("NSGANGP", {"penalty": "dragan"}),
        "dragan_ns_gaussian": ("NSGANGP", {"penalty": "dragan", "perturbation": "gaussian",
                                           "perturbation_scale": 2.0}),
        "modular_hinge_r1": ("ModularGAN", {"loss": "hinge", "penalty": "r1", "penalty_weight": 1.0,
                                            "penalty_interval": 4}),
        "modular_non_saturating_r2": ("ModularGAN", {"loss": "non_saturating", "penalty": "r2"}),
        "modular_wasserstein": ("ModularGAN", {"loss": "wasserstein", "n_critic": 3}),
        "alpha_gan": ("AlphaGAN", {"lambda_rec": 2.0}),
    }


def train(name: str, precision: str, checkpoints: Optional[Path] = None):
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.plugins import MixedPrecision
    from torch.utils.data import DataLoader

    from lightning_gans import gan_modules
    from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPEncoder, MLPGenerator

    method, kwargs = cases()[name]
    kwargs = dict(kwargs)
    if method == "AlphaGAN":
        kwargs.update(encoder=functools.partial(MLPEncoder, hidden=8, n_layers=2),
                      code_discriminator=functools.partial(MLPDiscriminator, hidden=8, n_layers=2))
    pl.seed_everything(0, verbose=False)
    data = torch.randn(640, 2) * 0.5 + torch.tensor([1.0, -1.0])
    module = getattr(gan_modules, method)(
        generator=functools.partial(MLPGenerator, hidden=8, n_layers=2),
        discriminator=functools.partial(MLPDiscriminator, hidden=8, n_layers=2), data_shape=(2,), **kwargs)
    plugins = [MixedPrecision("16-mixed", "cpu")] if precision == "16" else []
    trainer = pl.Trainer(max_steps=STEPS, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         plugins=plugins)
    trainer.fit(module, DataLoader(data, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert trainer.global_step >= STEPS, (name, trainer.global_step)
    if checkpoints is not None:
        trainer.save_checkpoint(checkpoints / f"{name}-{precision}.ckpt")
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("out")
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--checkpoints", type=Path, default=None, help="also save each case's checkpoint here")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    names = args.cases or list(cases())
    weights = {f"{name}/{precision}": train(name, precision, args.checkpoints) for name in names
               for precision in PRECISIONS}
    from lightning_gans import gan_modules

    torch.save({"trained_from": gan_modules.__file__, "weights": weights}, args.out)


if __name__ == "__main__":
    main()
