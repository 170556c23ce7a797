"""The shared adversarial module: networks, latent prior, the optimizer dance, ``sample()``, logging.

Every method is a subclass that overrides only what differs: ``discriminator_loss``,
``generator_loss`` and, where needed, ``after_discriminator_step`` (weight clipping) or
``discriminator_steps_per_generator_step`` (WGAN's critic warm-up).  The math those hooks call
lives in :mod:`gan_modules.losses`.

Training uses Lightning's manual optimization.  Each training batch feeds **one** discriminator
step; after ``n_critic`` of them the generator takes one step.  Every critic step therefore sees a
fresh real minibatch, as in Algorithm 1 of Goodfellow et al. 2014 (``k`` steps), Arjovsky et al.
2017 and Gulrajani et al. 2017.  Lightning's ``global_step`` counts optimizer steps, so one cycle
of ``n_critic`` batches advances it by ``n_critic + 1`` (``--trainer.max_steps`` uses that clock);
``generator_steps`` counts generator updates only.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Literal, Optional

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from gan_modules.optimizer import OptimizerSpec

NetworkFactory = Callable[[tuple[int, ...]], nn.Module]


def build_network(network: nn.Module | NetworkFactory, data_shape: tuple[int, ...]) -> nn.Module:
    """An ``nn.Module`` is used as given; anything else is called with the data shape to build one."""
    if isinstance(network, nn.Module):
        return network
    if not callable(network):
        raise TypeError(f"expected an nn.Module or a callable data_shape -> nn.Module, got {type(network).__name__}")
    return network(tuple(data_shape))


def module_instance_arguments(module: nn.Module) -> list[str]:
    """Names of the ``__init__`` arguments (of ``module``'s class and its parents, up the call
    stack) that were given ``nn.Module`` instances: they must not go into the hyper-parameters."""
    names = []
    frame = inspect.currentframe().f_back
    while frame is not None and frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is module:
        code = frame.f_code
        for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
            if isinstance(frame.f_locals.get(name), nn.Module) and name != "self":
                names.append(name)
        frame = frame.f_back
    return names


class AdversarialModule(pl.LightningModule):
    """A generator and a discriminator trained against each other with manual optimization.

    Args:
        generator: an ``nn.Module`` with a ``latent_dim`` attribute, or a callable (a class with its
            other arguments bound, as the Lightning CLI gives) that builds one from the data shape.
        discriminator: an ``nn.Module`` mapping a batch of data to one score (logit) per example, or
            a callable that builds one from the data shape.
        data_shape: shape of one example; linked from the datamodule by ``train.py``.
        prior: latent distribution, ``"normal"`` (N(0, I)) or ``"uniform"`` (U[-1, 1], as in the GAN
            paper's reference code).
        n_critic: discriminator steps per generator step (``k`` in Goodfellow et al. 2014, Algorithm 1).
        update_mode: ``"alternating"`` (Algorithm 1: D steps, then a G step on fresh noise) or
            ``"simultaneous"`` (the GAN reference code: both gradients from one sample, then both
            steps; needs ``n_critic == 1``).
        generator_optimizer / discriminator_optimizer: each player's optimizer settings.
    """

    def __init__(
        self,
        generator: NetworkFactory,
        discriminator: NetworkFactory,
        data_shape: tuple[int, ...] = (2,),
        prior: Literal["normal", "uniform"] = "normal",
        n_critic: int = 1,
        update_mode: Literal["alternating", "simultaneous"] = "alternating",
        generator_optimizer: OptimizerSpec = OptimizerSpec(),
        discriminator_optimizer: OptimizerSpec = OptimizerSpec(),
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if prior not in ("normal", "uniform"):
            raise ValueError(f"prior must be 'normal' or 'uniform', got {prior!r}")
        if update_mode not in ("alternating", "simultaneous"):
            raise ValueError(f"update_mode must be 'alternating' or 'simultaneous', got {update_mode!r}")
        if update_mode == "simultaneous" and n_critic != 1:
            raise ValueError("update_mode='simultaneous' takes both gradients from one sample, so n_critic must be 1")
        # nn.Module instances are saved in state_dict; factories (class paths) go into hparams so
        # that load_generator can rebuild the networks.
        self.save_hyperparameters(ignore=module_instance_arguments(self))
        self.automatic_optimization = False
        self.data_shape = tuple(data_shape)
        self.generator = build_network(generator, self.data_shape)
        self.discriminator = build_network(discriminator, self.data_shape)
        if not isinstance(getattr(self.generator, "latent_dim", None), int):
            raise ValueError(
                f"the generator ({type(self.generator).__name__}) needs an integer attribute `latent_dim` "
                "so that the module can sample its prior"
            )
        self.latent_dim: int = self.generator.latent_dim
        self.prior = prior
        self.n_critic = n_critic
        self.update_mode = update_mode
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Counters that drive the critic schedule; saved in checkpoints (on_save_checkpoint).
        self.generator_steps = 0
        self.discriminator_steps_since_generator_step = 0

    # ------------------------------------------------------------------ hooks for methods
    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The discriminator's (critic's) loss on a real batch and a detached fake batch."""
        raise NotImplementedError

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """The generator's loss on freshly generated ``fake`` (with graph); ``real`` is the current batch."""
        raise NotImplementedError

    def after_discriminator_step(self) -> None:
        """Called after every discriminator optimizer step (e.g. WGAN's weight clipping)."""

    def discriminator_steps_per_generator_step(self) -> int:
        """How many discriminator steps precede the next generator step (default ``n_critic``)."""
        return self.n_critic

    # ------------------------------------------------------------------ sampling
    def sample_latent(self, n: int) -> Tensor:
        """``n`` draws from the latent prior on the module's device."""
        if self.prior == "normal":
            return torch.randn(n, self.latent_dim, device=self.device)
        return torch.rand(n, self.latent_dim, device=self.device) * 2 - 1

    def generate(self, n: int) -> Tensor:
        """``n`` generator outputs in the current mode, with autograd as the caller has it."""
        return self.generator(self.sample_latent(n))

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """``n`` samples in data space, with the generator in eval mode and no graph."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generate(n)
        finally:
            self.generator.train(was_training)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    # ------------------------------------------------------------------ optimization
    def configure_optimizers(self):
        return [
            self.generator_optimizer.build(self.generator.parameters()),
            self.discriminator_optimizer.build(self.discriminator.parameters()),
        ]

    @property
    def grad_scaler(self) -> Optional[torch.amp.GradScaler]:
        """The fp16 grad scaler of the running trainer (``None`` for 32-true, bf16 and outside fit)."""
        if self._trainer is None:
            return None
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    @staticmethod
    def real_from_batch(batch: Any) -> Tensor:
        """Datamodules yield ``(x, label)``; a bare tensor is accepted too."""
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self.real_from_batch(batch)
        opt_g, opt_d = self.optimizers()
        if self.update_mode == "simultaneous":
            self._simultaneous_step(real, opt_g, opt_d)
            return
        d_loss = self._discriminator_step(real, opt_d)
        self.log("loss/discriminator", d_loss, prog_bar=True)
        self.discriminator_steps_since_generator_step += 1
        if self.discriminator_steps_since_generator_step >= self.discriminator_steps_per_generator_step():
            g_loss = self._generator_step(real, opt_g)
            self.log("loss/generator", g_loss, prog_bar=True)

    def _discriminator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(real.size(0)).detach()
            loss = self.discriminator_loss(real, fake)
            self._check_finite(loss, "discriminator")
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            opt.step()
        self.after_discriminator_step()
        return loss.detach()

    def _generator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(real.size(0))
            loss = self.generator_loss(fake, real)
            self._check_finite(loss, "generator")
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            opt.step()
        self.generator_steps += 1
        self.discriminator_steps_since_generator_step = 0
        return loss.detach()

    def _simultaneous_step(self, real: Tensor, opt_g, opt_d) -> None:
        """Both players' gradients from the same noise sample, then both steps (GAN reference code)."""
        fake = self.generate(real.size(0))
        opt_g.zero_grad(set_to_none=True)
        opt_d.zero_grad(set_to_none=True)
        with self.toggled_optimizer(opt_d):
            d_loss = self.discriminator_loss(real, fake.detach())
            self._check_finite(d_loss, "discriminator")
            self.manual_backward(d_loss)
        with self.toggled_optimizer(opt_g):
            g_loss = self.generator_loss(fake, real)
            self._check_finite(g_loss, "generator")
            self.manual_backward(g_loss)
        opt_d.step()
        self.after_discriminator_step()
        opt_g.step()
        self.generator_steps += 1
        self.log_dict({"loss/discriminator": d_loss.detach(), "loss/generator": g_loss.detach()}, prog_bar=True)

    def _check_finite(self, loss: Tensor, player: str) -> None:
        """Stop with a clear error on a NaN/inf loss; checkpoints already written stay untouched.

        Under an fp16 grad scaler an overflow is expected now and then (the scaler skips that
        step), so the check is left to the scaler there.
        """
        if self.grad_scaler is None and not torch.isfinite(loss):
            raise FloatingPointError(
                f"the {player} loss is {loss.item()} at global step {self.global_step} "
                f"(generator step {self.generator_steps}); training stopped, checkpoints already written are "
                "intact. Lower the learning rates, check the data for NaNs, or use a gradient penalty."
            )

    # ------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["adversarial_counters"] = {
            "generator_steps": self.generator_steps,
            "discriminator_steps_since_generator_step": self.discriminator_steps_since_generator_step,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        counters = checkpoint.get("adversarial_counters", {})
        self.generator_steps = counters.get("generator_steps", 0)
        self.discriminator_steps_since_generator_step = counters.get("discriminator_steps_since_generator_step", 0)
