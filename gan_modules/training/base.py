"""The shared adversarial module: the networks, and the optimizer dance.

Every method is a subclass that overrides only what differs, through the **method author's hooks**:
``discriminator_loss`` and ``generator_loss`` (what a loss composition defines:
:class:`~lightning_gans.gan_modules.composed_gan.ComposedGAN`), ``after_discriminator_step`` (e.g. weight
clipping) and ``discriminator_steps_per_generator_step`` (e.g. WGAN's critic warm-up).  A method with its own
``training_step`` (alpha-GAN) builds it from the **step building blocks**: :meth:`~AdversarialModule.descend`
(one checked optimizer step of one player), :meth:`~AdversarialModule.finish_discriminator_step` and
:meth:`~AdversarialModule.finish_generator_step` (the bookkeeping every step needs: moving average, historical
averages, the discriminator schedule's counters), or from :meth:`~AdversarialModule.discriminator_step` and
:meth:`~AdversarialModule.generator_step` whole (which also add instance noise and pack the inputs).

Training uses Lightning's manual optimization.  Each training batch feeds **one** discriminator
step; after ``n_critic`` of them the generator takes one step.  Every critic step therefore sees a
fresh real minibatch, as in Algorithm 1 of Goodfellow et al. 2014 (``k`` steps), Arjovsky et al.
2017 and Gulrajani et al. 2017.  Lightning's ``global_step`` counts optimizer steps, so one cycle
of ``n_critic`` batches advances it by ``n_critic + 1`` (``--trainer.max_steps`` uses that clock);
``generator_steps`` counts generator updates only.

The rest of the module is composed of parts, each in its own file: :class:`~.resume.ResumeState` (what
checkpoints hold and a resumed fit restores), :class:`~.reinitialisation.Reinitialisation` (AdaGAN's fresh
components), :class:`~.sampling.Sampling` (``sample()``, ``predict``), :class:`~.validation.DiscriminatorScores`
(``validate``, ``test``), :class:`~.data_shape.DataShapeCheck` (the data's shape),
:class:`~.step_logging.StepLogging` (per-step values on the optimizer-step axis),
:class:`~.finite_check.FiniteLossGuard` (the NaN/inf loss check), :class:`~.rng.RandomStateRestore` (the RNG
state of a resumed run) and :class:`~.stabilisers.Stabilisers` (instance noise, historical averaging).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal, Optional, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn

from lightning_gans.datamodules.contract import DEFAULT_BATCH_KEY, real_from_batch
from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture
from lightning_gans.gan_modules.training.data_shape import FACTORY_DEFAULT_SHAPE, DataShapeCheck
from lightning_gans.gan_modules.training.ema import ExponentialMovingAverage
from lightning_gans.gan_modules.training.finite_check import FiniteLossGuard, NonFiniteLossCheck
from lightning_gans.gan_modules.training.gradient_sync import PlayerGradientSync
from lightning_gans.gan_modules.training.hyperparameters import plain_hyperparameters
from lightning_gans.gan_modules.training.networks import NetworkFactory, build_network
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec, linear_decay_schedulers
from lightning_gans.gan_modules.training.packing import check_packing, pack, packed_shape
from lightning_gans.gan_modules.training.reinitialisation import Reinitialisation
from lightning_gans.gan_modules.training.resume import ResumeState
from lightning_gans.gan_modules.training.rng import RandomStateRestore
from lightning_gans.gan_modules.training.sampling import Sampling
from lightning_gans.gan_modules.training.stabilisers import Stabilisers
from lightning_gans.gan_modules.training.step_logging import StepLogging
from lightning_gans.gan_modules.training.validation import DiscriminatorScores


def check_training_budget(trainer: pl.Trainer) -> None:
    """Refuse a fit that trains nothing: ``max_steps=0`` or ``max_epochs=0`` (Lightning ends it at once, silently)."""
    for name in ("max_steps", "max_epochs"):
        if getattr(trainer, name) == 0:
            raise ValueError(f"{name}=0 trains nothing: set the trainer's {name} to a positive number, or to -1 "
                             "for no limit")


class AdversarialModule(ResumeState, Reinitialisation, Sampling, DiscriminatorScores, DataShapeCheck, StepLogging,
                        FiniteLossGuard, RandomStateRestore, Stabilisers, pl.LightningModule):
    """A generator and a discriminator trained against each other with manual optimization.

    Args:
        generator: an ``nn.Module`` with a ``latent_dim`` attribute, or a class (a class path on the
            command line) that builds one: given ``data_shape=`` where its constructor names it
            (:func:`build_network`, the network contract).
        discriminator: an ``nn.Module`` mapping a batch of data to one score (logit) per example, or
            a class that builds one, as ``generator``.
        data_shape: shape of one example; linked from the datamodule by the CLI.  ``None`` (default):
            networks given as ``nn.Module``s need none, and it is read from the data when fit starts
            (the datamodule's ``data_shape``, else the first training batch); network factories are
            then built for 2-D points, and training stops at the first batch if the data differ.
        prior: latent distribution, ``"normal"`` (N(0, I)) or ``"uniform"`` (U[-1, 1], as in the GAN
            paper's reference code).
        n_critic: discriminator steps per generator step (``k`` in Goodfellow et al. 2014, Algorithm 1).
        update_mode: ``"alternating"`` (Algorithm 1: D steps, then a G step on fresh noise) or
            ``"simultaneous"`` (the GAN reference code: both gradients from one sample, then both
            steps; needs ``n_critic == 1``).
        generator_optimizer / discriminator_optimizer: each player's optimizer settings.
        lr_decay_steps: every optimizer's learning rate decays linearly to 0 over this many generator steps,
            ``lr_t = lr * max(0, 1 - t / lr_decay_steps)``, the discriminator's steps before generator step ``t``
            taking ``lr_t`` too (Gulrajani et al. 2017, ``gan_cifar_resnet.py``: ``LR * (1 - iteration / ITERS)``;
            Miyato et al. 2018's linear decay from iteration 0); checkpointed with the optimizers.  ``None``
            (default): constant learning rates.
        generator_batch_size: how many samples each generator step draws (WGAN-GP's and SN-GAN's CIFAR-10
            settings train the generator on 128 while the discriminator steps on batches of 64); ``None``
            (default): as many as the real batch holds.  A multiple of ``packing``; alternating updates only.
        instance_noise: initial standard deviation ``sigma_0`` of instance noise: ``N(0, sigma_t^2 I)``
            added to the discriminator's real **and** fake inputs, in the discriminator's steps and in
            the generator's (there to ``G(z)``, keeping the graph), so every method's losses see noisy
            inputs (Sønderby et al. 2016; Arjovsky & Bottou 2017, Sec. 4).  0 (default): off.
        instance_noise_anneal_steps: ``T``: ``sigma_t = sigma_0 * max(0, 1 - t / T)`` with ``t`` the
            number of **generator** steps taken (independent of ``n_critic``, and checkpointed, so a
            resumed run continues the schedule); 0 keeps ``sigma_0`` constant.  See
            :func:`~lightning_gans.gan_modules.losses.instance_noise_std`.
        historical_averaging: weight of Salimans et al. 2016's historical averaging (Sec. 3.3):
            ``weight * ||theta - mean_{i<=t} theta[i]||^2`` is added to each player's loss, with the
            running average updated after each of that player's steps (:class:`~lightning_gans.gan_modules.
            training.historical_averaging.ParameterAverage`, checkpointed).  0 (default): off.  Instance noise
            and historical averaging act in :meth:`discriminator_step` and :meth:`generator_step`: a subclass's
            own ``training_step`` keeps them by calling those (:class:`~.stabilisers.Stabilisers`).
        ema_decay: keep an exponential moving average of the generator's weights with this decay
            (:class:`~lightning_gans.gan_modules.training.ema.ExponentialMovingAverage`; 0.999 in BigGAN and StyleGAN), updated
            after every generator step; ``sample()`` (hence evaluation and sample figures) then uses
            it.  ``None`` (default): off.  Buffers are copied, not averaged: a batch-norm generator's
            average runs with the running statistics of the current weights (on MNIST5k's DCGAN
            configs that made samples worse, so they leave it off; BigGAN recomputes the statistics).
        ema_start_step: for this many generator steps the average only copies the generator's
            weights; averaging starts with the next step (0, default: from the first step).
        packing: ``m`` of PacGAN (Lin et al. 2018): the discriminator scores packs of ``m`` examples,
            real packs and fake packs apart, their members concatenated along the first data axis
            (:mod:`~lightning_gans.gan_modules.training.packing`); it is built for the packed shape (``(2 m,)``
            for the toy points) and every method's losses and penalties see packed inputs, one
            score a pack.  ``batch_size`` must be a multiple of ``m``.  1 (default): no packing.
        batch_key: where a dict batch holds the data (batches may also be a tensor or ``(x, ...)``;
            :mod:`lightning_gans.datamodules.contract`).
    """

    #: The ``__init__`` arguments that are networks, in ``named_children`` order: given as ``nn.Module``
    #: instances they are kept out of the hyper-parameters (the ``state_dict`` holds them), given as
    #: factories they are the hyper-parameters ``load_generator`` rebuilds them from; they are the
    #: networks :meth:`reset_networks` re-initialises.  A method with more networks extends it.
    network_arguments: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    #: How many samples ``predict`` draws when the module supplies the sample indices (:meth:`predict_dataloader`;
    #: the CLI's ``SampleWriter(n_samples=...)`` sets it).
    predict_samples: int = 1000

    def __init__(
        self,
        generator: NetworkFactory,
        discriminator: NetworkFactory,
        data_shape: Optional[tuple[int, ...]] = None,
        prior: Literal["normal", "uniform"] = "normal",
        n_critic: int = 1,
        update_mode: Literal["alternating", "simultaneous"] = "alternating",
        generator_optimizer: OptimizerSpec = OptimizerSpec(),
        discriminator_optimizer: OptimizerSpec = OptimizerSpec(),
        lr_decay_steps: Optional[int] = None,
        generator_batch_size: Optional[int] = None,
        instance_noise: float = 0.0,
        instance_noise_anneal_steps: int = 0,
        historical_averaging: float = 0.0,
        ema_decay: Optional[float] = None,
        ema_start_step: int = 0,
        packing: int = 1,
        batch_key: str = DEFAULT_BATCH_KEY,
    ) -> None:
        super().__init__()
        check_packing(packing)
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if prior not in ("normal", "uniform"):
            raise ValueError(f"prior must be 'normal' or 'uniform', got {prior!r}")
        if update_mode not in ("alternating", "simultaneous"):
            raise ValueError(f"update_mode must be 'alternating' or 'simultaneous', got {update_mode!r}")
        if update_mode == "simultaneous" and n_critic != 1:
            raise ValueError("update_mode='simultaneous' takes both gradients from one sample, so n_critic must be 1")
        if lr_decay_steps is not None and lr_decay_steps < 1:
            raise ValueError(f"lr_decay_steps must be at least 1 (or None for constant learning rates), got {lr_decay_steps}")
        if generator_batch_size is not None and (generator_batch_size < 1 or generator_batch_size % packing
                                                 or update_mode != "alternating"):
            raise ValueError(f"generator_batch_size must be a positive multiple of packing ({packing}) with "
                             f"update_mode='alternating', got {generator_batch_size} and {update_mode!r}")
        # nn.Module instances are saved in state_dict; factories (class paths) go into hparams so
        # that load_generator can rebuild the networks.
        self.save_hyperparameters()  # less the networks given as modules (remove_ignored_hparams)
        self._keep_hyperparameters_plain()
        self.automatic_optimization = False
        self.batch_key = batch_key
        self.packing = packing
        self._data_shape_given = data_shape is not None
        self._data_checked = False  # the first batch (validation's, in Lightning's sanity check) checks the data
        modules_given = isinstance(generator, nn.Module) and isinstance(discriminator, nn.Module)
        self.data_shape: Optional[tuple[int, ...]] = (
            tuple(data_shape) if data_shape is not None else None if modules_given else FACTORY_DEFAULT_SHAPE)
        try:
            self.generator = build_network(generator, self.data_shape, "generator")
            self.discriminator = build_network(
                discriminator, None if self.data_shape is None else packed_shape(self.data_shape, packing),
                "discriminator")
        except ValueError as error:
            if self._data_shape_given:
                raise
            raise ValueError(f"{error} (data_shape was not given, so the network factories were built for "
                             f"{FACTORY_DEFAULT_SHAPE}: pass data_shape, e.g. datamodule.data_shape)") from error
        if not isinstance(getattr(self.generator, "latent_dim", None), int):
            raise ValueError(
                f"the generator ({type(self.generator).__name__}) needs an integer attribute `latent_dim` "
                "so that the module can sample its prior"
            )
        self.latent_dim: int = self.generator.latent_dim
        self.prior = prior
        self.n_critic = n_critic
        self.update_mode = update_mode
        self.generator_optimizer = OptimizerSpec.coerce(generator_optimizer)
        self.discriminator_optimizer = OptimizerSpec.coerce(discriminator_optimizer)
        self.lr_decay_steps = lr_decay_steps
        self.generator_batch_size = generator_batch_size
        self._init_stabilisers(instance_noise, instance_noise_anneal_steps, historical_averaging)
        # A frozen submodule, so it is checkpointed and moved with the module.
        self.generator_ema = (
            ExponentialMovingAverage(self.generator, ema_decay, ema_start_step) if ema_decay is not None else None
        )
        # Counters that drive the discriminator schedule; saved in checkpoints (on_save_checkpoint).
        self.restart_counters()
        self._sampling_mixture: Optional[GeneratorMixture] = None  # use_mixture
        self._checkpoint_mixture_state: Optional[dict[str, Any]] = None  # an AdaGAN checkpoint's (on_load_checkpoint)
        self.finite_check = NonFiniteLossCheck(advice=self.non_finite_loss_advice)  # immediate on the CPU only
        self.gradient_sync = PlayerGradientSync()  # plain DDP: each backward's gradients averaged by the module

    def remove_ignored_hparams(self, ignore_list: Sequence[str]) -> None:
        """Lightning's, and also every network argument given as an ``nn.Module`` instance.

        Lightning's ``save_hyperparameters`` calls this hook (its way for a class to drop hyper-parameters)
        on the arguments it collected, before it deep-copies them, so a network given as a module is never
        copied into the hyper-parameters (``tests/test_loading.py`` checks it)."""
        modules = [name for name in self.network_arguments if isinstance(self.hparams.get(name), nn.Module)]
        super().remove_ignored_hparams([*ignore_list, *modules])

    def _keep_hyperparameters_plain(self) -> None:
        """Hyper-parameters as plain data (:mod:`~lightning_gans.gan_modules.training.hyperparameters`), so that the
        checkpoints load under torch's ``weights_only=True``; factories with no plain form are left out."""
        plain = plain_hyperparameters(self.hparams)
        self.remove_ignored_hparams([name for name in self.hparams if name not in plain])
        self.hparams.update(plain)
        self._hparams_initial = copy.deepcopy(self.hparams)  # what the loggers get, as save_hyperparameters sets it

    # ------------------------------------------------------------------ hooks for methods
    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The discriminator's loss on a real batch and a detached fake batch (both packed, :meth:`pack`)."""
        raise NotImplementedError

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """The generator's loss on freshly generated ``fake`` (with graph); ``real`` is the current batch (both packed)."""
        raise NotImplementedError

    def after_discriminator_step(self) -> None:
        """Called after every discriminator optimizer step (a composition's constraint, e.g. WGAN's weight clipping)."""

    def discriminator_steps_per_generator_step(self) -> int:
        """How many discriminator steps precede the next generator step: the schedule (default ``n_critic``;
        WGAN's critic warm-up overrides it)."""
        return self.n_critic

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def pack(self, x: Tensor) -> Tensor:
        """``x`` as the discriminator sees it: packs of ``packing`` examples (``x`` itself when ``packing`` is 1)."""
        return pack(x, self.packing)

    # ------------------------------------------------------------------ optimization
    def optimized_networks(self) -> list[tuple[nn.Module, OptimizerSpec]]:
        """Every trained network with its optimizer settings, in the order of ``configure_optimizers``."""
        return [(self.generator, self.generator_optimizer), (self.discriminator, self.discriminator_optimizer)]

    def configure_optimizers(self):
        optimizers = [spec.build(network.parameters()) for network, spec in self.optimized_networks()]
        if self.lr_decay_steps is None:
            return optimizers
        return optimizers, linear_decay_schedulers(optimizers, self.lr_decay_steps)

    def decay_learning_rates(self) -> None:
        """One step of the learning-rate schedules (``lr_decay_steps``), after each generator step."""
        if self.lr_decay_steps is not None:
            schedulers = self.lr_schedulers()
            for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
                scheduler.step()

    def manual_backward(self, loss: Tensor, *args: Any, **kwargs: Any) -> None:
        """Lightning's ``manual_backward``; under plain DDP with DDP's gradient sync blocked, and then the
        gradients of this pass (the toggled player's) averaged over the processes by the module
        (:mod:`lightning_gans.gan_modules.training.gradient_sync`)."""
        if not self.gradient_sync.active:
            super().manual_backward(loss, *args, **kwargs)
            return
        with self.trainer.strategy.block_backward_sync():
            super().manual_backward(loss, *args, **kwargs)
        self.gradient_sync.average_gradients(p for p in self.parameters() if p.requires_grad)

    @property
    def grad_scaler(self) -> Optional[torch.amp.GradScaler]:
        """The fp16 grad scaler of the running trainer (``None`` for 32-true, bf16 and outside fit)."""
        if self._trainer is None:
            return None
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    def real_from_batch(self, batch: Any) -> Tensor:
        """The data of a batch: ``x``, ``(x, ...)`` or a dict holding ``x`` under ``batch_key``."""
        return real_from_batch(batch, self.batch_key)

    # ------------------------------------------------------------------ the data's shape
    def setup(self, stage: str) -> None:
        """Refuse a fit that trains nothing (:func:`check_training_budget`); lend ``predict`` the module's
        sample indices when the datamodule has no ``predict_dataloader``; without a ``data_shape``, read it
        from the datamodule (its ``data_shape``, else its first batch)."""
        if stage == "fit":
            check_training_budget(self.trainer)
        datamodule = self.trainer.datamodule
        if stage == "predict" and datamodule is not None and not is_overridden("predict_dataloader", datamodule,
                                                                               pl.LightningDataModule):
            datamodule.predict_dataloader = self.predict_dataloader  # Lightning reads the datamodule's hook only
        self.adopt_datamodule_shape()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self.real_from_batch(batch)
        opt_g, opt_d = self.optimizers()
        if self.instance_noise:
            self.log_step("instance_noise/std", self.current_instance_noise_std())
        if self.update_mode == "simultaneous":
            self._simultaneous_step(real, opt_g, opt_d)
            return
        d_loss = self.discriminator_step(real, opt_d)
        self.log_step("loss/discriminator", d_loss, prog_bar=True)
        if self.discriminator_steps_since_generator_step >= self.discriminator_steps_per_generator_step():
            g_loss = self.generator_step(real, opt_g)
            self.log_step("loss/generator", g_loss, prog_bar=True)

    def discriminator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(real.size(0)).detach()
            real, fake = self.pack(self.add_instance_noise(real)), self.pack(self.add_instance_noise(fake))
            loss = self.with_historical_penalty(self.discriminator_loss(real, fake), "discriminator")
            loss = self.descend(opt, loss, "discriminator")
        self.finish_discriminator_step()
        return loss

    def generator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(self.generator_batch_size or real.size(0))
            fake, real = self.pack(self.add_instance_noise(fake)), self.pack(self.add_instance_noise(real))
            loss = self.with_historical_penalty(self.generator_loss(fake, real), "generator")
            loss = self.descend(opt, loss, "generator")
        self.finish_generator_step()
        return loss

    def _simultaneous_step(self, real: Tensor, opt_g, opt_d) -> None:
        """Both players' gradients from the same noise sample, then both steps (GAN reference code)."""
        fake = self.pack(self.add_instance_noise(self.generate(real.size(0))))
        real = self.pack(self.add_instance_noise(real))
        opt_g.zero_grad(set_to_none=True)
        opt_d.zero_grad(set_to_none=True)
        with self.toggled_optimizer(opt_d):
            d_loss = self.with_historical_penalty(self.discriminator_loss(real, fake.detach()), "discriminator")
            self._check_finite(d_loss, "discriminator")
            self.manual_backward(d_loss)
        with self.toggled_optimizer(opt_g):
            g_loss = self.with_historical_penalty(self.generator_loss(fake, real), "generator")
            self._check_finite(g_loss, "generator")
            self.manual_backward(g_loss)
        opt_d.step()
        self.finish_discriminator_step()
        opt_g.step()
        self.finish_generator_step()
        self.log_step_dict({"loss/discriminator": d_loss.detach(), "loss/generator": g_loss.detach()}, prog_bar=True)

    def descend(self, opt, loss: Tensor, player: str) -> Tensor:
        """One step of ``player``'s optimizer ``opt`` on ``loss`` (checked for NaN/inf first); the loss, detached."""
        self._check_finite(loss, player)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()
        return loss.detach()

    def finish_discriminator_step(self) -> None:
        """The bookkeeping after every discriminator optimizer step: the method's
        :meth:`after_discriminator_step`, the discriminator's historical average, the discriminator-step count."""
        self.after_discriminator_step()
        self.update_historical_average("discriminator")
        self.discriminator_steps_since_generator_step += 1

    def finish_generator_step(self) -> None:
        """The bookkeeping after every generator optimizer step (every method's, alpha-GAN's too): the
        generator's historical average and moving average, the learning-rate decay, then the counters of the
        discriminator schedule."""
        self.update_historical_average("generator")
        if self.generator_ema is not None:
            self.generator_ema.update(self.generator, self.generator_steps)
        self.decay_learning_rates()
        self.generator_steps += 1
        self.discriminator_steps_since_generator_step = 0

    def on_train_end(self) -> None:
        self.gradient_sync.stop()
        super().on_train_end()

    def on_train_start(self) -> None:
        """Ready the module for a fit; then (``super()``) the RNG state of a resumed checkpoint is restored
        (:meth:`~lightning_gans.gan_modules.training.rng.RandomStateRestore.on_train_start`).

        A resumed run's optimizers keep the settings they were trained with, or take the module's
        (:attr:`resume_optimizer_settings`, :meth:`_settle_resumed_optimizer_settings`).
        """
        if self.trainer.ckpt_path is not None:
            self._settle_resumed_optimizer_settings()
        else:  # a fit that resumes no checkpoint starts at global_step 0, with fresh optimizers: so do the counters
            self.restart_counters()
        self.gradient_sync.start(self.trainer)  # plain DDP: the module syncs the players' gradients
        self._data_checked = False  # each fit checks its first batch
        super().on_train_start()
