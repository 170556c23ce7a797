"""The shared adversarial module: networks, latent prior, the optimizer dance, ``sample()``.

Every method is a subclass that overrides only what differs: ``discriminator_loss``,
``generator_loss`` and, where needed, ``after_discriminator_step`` (weight clipping) or
``discriminator_steps_per_generator_step`` (WGAN's critic warm-up).  The math those hooks call
lives in :mod:`lightning_gans.gan_modules.losses`.

Training uses Lightning's manual optimization.  Each training batch feeds **one** discriminator
step; after ``n_critic`` of them the generator takes one step.  Every critic step therefore sees a
fresh real minibatch, as in Algorithm 1 of Goodfellow et al. 2014 (``k`` steps), Arjovsky et al.
2017 and Gulrajani et al. 2017.  Lightning's ``global_step`` counts optimizer steps, so one cycle
of ``n_critic`` batches advances it by ``n_critic + 1`` (``--trainer.max_steps`` uses that clock);
``generator_steps`` counts generator updates only.

The module is composed of parts, each in its own file: :class:`~.step_logging.StepLogging` (per-step
values recorded on the batches Lightning logs, the optimizer-step axis), :class:`~.finite_check.
FiniteLossGuard` (the NaN/inf loss check), :class:`~.rng.RandomStateRestore` (the RNG state of a
resumed run) and :class:`~.stabilisers.Stabilisers` (instance noise, historical averaging).
"""

from __future__ import annotations

import copy
import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterator, Literal, Optional, Sequence, Union

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_warn
import torch
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lightning_gans.datamodules.contract import DEFAULT_BATCH_KEY, data_shape_of, real_from_batch
from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture, find_mixture_state
from lightning_gans.gan_modules.training.ema import ExponentialMovingAverage
from lightning_gans.gan_modules.training.finite_check import FiniteLossGuard, NonFiniteLossCheck
from lightning_gans.gan_modules.training.gradient_sync import PlayerGradientSync
from lightning_gans.gan_modules.training.hyperparameters import factory_from_config, is_network_config, plain_hyperparameters
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec
from lightning_gans.gan_modules.training.packing import check_packing, pack, packed_shape
from lightning_gans.gan_modules.training.rng import RandomStateRestore, seeded
from lightning_gans.gan_modules.training.stabilisers import Stabilisers
from lightning_gans.gan_modules.training.step_logging import StepLogging

#: A network argument: an ``nn.Module``, or what builds one for the data (a class, a ``functools.partial`` of
#: one, any callable ``data_shape -> nn.Module``; :func:`build_network`).  ``nn.Module`` comes first so that
#: the Lightning CLI instantiates a class that does not take the data's shape with all its arguments (a
#: ``Callable[[shape], ...]`` alone made jsonargparse give the shape to the class's first parameter).
NetworkFactory = Union[nn.Module, Callable[[tuple[int, ...]], nn.Module]]
FACTORY_DEFAULT_SHAPE = (2,)  # what network factories are built for when data_shape is not given
PREDICT_BATCH_SIZE = 256  # sample indices a predict batch (a sample depends on its index alone)


def _reinitialise(network: nn.Module) -> None:
    """PyTorch's default initialisation, in place: every submodule's ``reset_parameters()``."""
    for module in network.modules():
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()


def _network_class(factory: Any) -> Optional[type]:
    """The class a factory builds (a class, or a ``functools.partial`` of one), ``None`` for other callables."""
    while isinstance(factory, functools.partial):
        factory = factory.func
    return factory if isinstance(factory, type) else None


def build_network(network: nn.Module | NetworkFactory, data_shape: tuple[int, ...], role: str = "network") -> nn.Module:
    """An ``nn.Module`` is used as given; otherwise one is built for data of shape ``data_shape``.

    The network contract: a class (or a ``functools.partial`` of one, or a ``{"class_path", "init_args"}``
    config, as checkpoints store them) gets ``data_shape=`` by keyword where its constructor names a
    ``data_shape`` parameter, and nothing otherwise (its other arguments are its own); any other callable
    is called with the data shape.  A network that cannot be built raises one line naming ``role``.
    """
    if isinstance(network, nn.Module):
        return network
    if is_network_config(network):
        network = factory_from_config(network)
    if not callable(network):
        raise TypeError(f"the {role} must be an nn.Module, a network class or a callable data_shape -> nn.Module, "
                        f"got {type(network).__name__}")
    cls = _network_class(network)
    if cls is None:
        return network(tuple(data_shape))
    shape = {"data_shape": tuple(data_shape)} if "data_shape" in inspect.signature(cls).parameters else {}
    try:
        return network(**shape)
    except TypeError as error:
        raise TypeError(f"could not build the {role} {cls.__name__}: {error}") from error


def check_training_budget(trainer: pl.Trainer) -> None:
    """Refuse a fit that trains nothing: ``max_steps=0`` or ``max_epochs=0`` (Lightning ends it at once, silently)."""
    for name in ("max_steps", "max_epochs"):
        if getattr(trainer, name) == 0:
            raise ValueError(f"{name}=0 trains nothing: set the trainer's {name} to a positive number, or to -1 "
                             "for no limit")


def networks_not_stored(path: Any, module_class: type, missing: Sequence[str]) -> str:
    """What to pass to load a checkpoint whose module was given the ``missing`` networks as ``nn.Module`` instances."""
    passed = ", ".join(f"{name}=..." for name in missing)
    return (f"{path} does not store how to build {', '.join(missing)} ({module_class.__name__} was given nn.Module "
            f"instances or factories without a class path): build them as for training and load with "
            f"{module_class.__name__}.load_from_checkpoint(path, {passed})")


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode for the block, then restore each one's mode."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


class AdversarialModule(StepLogging, FiniteLossGuard, RandomStateRestore, Stabilisers, pl.LightningModule):
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
            and historical averaging act in this class's training step; a method with its own
            ``training_step`` (alpha-GAN) rejects them.
        ema_decay: keep an exponential moving average of the generator's weights with this decay
            (:class:`~lightning_gans.gan_modules.training.ema.ExponentialMovingAverage`; 0.999 in BigGAN and StyleGAN), updated
            after every generator step; ``sample()`` (hence evaluation and sample figures) then uses
            it.  ``None`` (default): off.
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

    #: The checkpoint key of the module's dotted class path (a plain ``Trainer`` records no class).
    CHECKPOINT_CLASS_KEY = "adversarial_module_class"
    #: The ``__init__`` arguments that are networks, in ``named_children`` order: given as ``nn.Module``
    #: instances they are kept out of the hyper-parameters (the ``state_dict`` holds them), given as
    #: factories they are the hyper-parameters ``load_generator`` rebuilds them from; they are the
    #: networks :meth:`reset_networks` re-initialises.  A method with more networks extends it.
    network_arguments: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    #: Which optimizer settings a resumed fit trains with where the checkpoint's and the module's differ:
    #: ``"checkpoint"`` (default, as plain Lightning: what the optimizer states restored) or ``"module"``
    #: (the module's ``*_optimizer`` arguments; the CLI sets it, so that the command line decides).
    resume_optimizer_settings: Literal["checkpoint", "module"] = "checkpoint"
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
        applied = type(self).training_step is AdversarialModule.training_step
        self._init_stabilisers(instance_noise, instance_noise_anneal_steps, historical_averaging, applied)
        # A frozen submodule, so it is checkpointed and moved with the module.
        self.generator_ema = (
            ExponentialMovingAverage(self.generator, ema_decay, ema_start_step) if ema_decay is not None else None
        )
        # Counters that drive the critic schedule; saved in checkpoints (on_save_checkpoint).
        self.restart_counters()
        self._sampling_mixture: Optional[GeneratorMixture] = None  # use_mixture
        self._checkpoint_mixture_state: Optional[dict[str, Any]] = None  # an AdaGAN checkpoint's (on_load_checkpoint)
        self.finite_check = NonFiniteLossCheck(advice=self.non_finite_loss_advice)  # immediate on the CPU only
        self.gradient_sync = PlayerGradientSync()  # plain DDP: each backward's gradients averaged by the module

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: Any, *args: Any, **kwargs: Any) -> AdversarialModule:
        """Lightning's, with one line naming the networks to pass where the checkpoint cannot rebuild them
        (networks given as ``nn.Module`` instances are kept out of the hyper-parameters)."""
        try:
            return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)
        except TypeError as error:
            missing = [name for name in cls.network_arguments if f"'{name}'" in str(error) and name not in kwargs]
            if "missing" not in str(error) or not missing:
                raise
            raise TypeError(networks_not_stored(checkpoint_path, cls, missing)) from error

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
        """The discriminator's (critic's) loss on a real batch and a detached fake batch (both packed, :meth:`pack`)."""
        raise NotImplementedError

    def generator_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """The generator's loss on freshly generated ``fake`` (with graph); ``real`` is the current batch (both packed)."""
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

    @property
    def sampling_generator(self) -> nn.Module:
        """The network ``sample()`` uses: the generator's moving average when ``ema_decay`` is set, else the generator."""
        return self.generator_ema.shadow if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """``n`` samples in data space from :attr:`sampling_generator` in eval mode, with no graph (from the
        AdaGAN mixture instead, when :meth:`use_mixture` set one)."""
        if self.sampling_mixture is not None:
            return self.sampling_mixture.sample(n)
        return self.sample_from(self.sample_latent(n))

    @property
    def sampling_mixture(self) -> Optional[GeneratorMixture]:
        """The AdaGAN mixture that :meth:`sample` and :meth:`predict_step` draw from, ``None`` (default) for
        :attr:`sampling_generator`."""
        return self._sampling_mixture

    def use_mixture(self, mixture: Optional[GeneratorMixture]) -> None:
        """Sample from ``mixture`` (an AdaGAN run's) instead of the generator, or again from it (``None``).
        The mixture is not registered as a submodule: it stays out of this module's ``state_dict``."""
        object.__setattr__(self, "_sampling_mixture", mixture)

    def _sample_the_trained_mixture(self) -> None:
        """Outside fit, what ``validate``, ``test`` and ``predict`` score and sample is the model the run
        trained: the AdaGAN mixture of the checkpoint when it holds one (an AdaGAN callback in the trainer
        hands over its own first, :class:`~lightning_gans.callbacks.adagan.AdaGAN`)."""
        if self.trainer.state.fn == "fit" or self.sampling_mixture is not None:
            return
        state = self._checkpoint_mixture_state
        if state is not None and len(state["components"]) > 0:
            self.use_mixture(GeneratorMixture.from_checkpoint(state, template=self.generator).eval())

    def on_validation_start(self) -> None:
        self._sample_the_trained_mixture()

    def on_validation_end(self) -> None:
        if self.trainer.state.fn != "fit":
            self.use_mixture(None)

    on_test_start = on_predict_start = on_validation_start
    on_test_end = on_predict_end = on_validation_end

    @torch.no_grad()
    def sample_from(self, z: Tensor) -> Tensor:
        """:attr:`sampling_generator` in eval mode applied to the latent codes ``z``, with no graph."""
        generator = self.sampling_generator
        was_training = generator.training
        generator.eval()
        try:
            return generator(z)
        finally:
            generator.train(was_training)

    def latent_codes(self, indices: Tensor) -> Tensor:
        """One latent code a sample index, each drawn from its own CPU generator seeded with the index:
        sample ``i`` is the same whatever the batch size, device or number of processes."""
        codes = torch.stack([torch.randn(self.latent_dim, generator=torch.Generator().manual_seed(int(i)))
                             for i in indices])
        if self.prior == "uniform":
            codes = torch.erf(codes / 2**0.5)  # 2 Phi(z) - 1 of a standard normal z is U(-1, 1)
        return codes.to(self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def pack(self, x: Tensor) -> Tensor:
        """``x`` as the discriminator sees it: packs of ``packing`` examples (``x`` itself when ``packing`` is 1)."""
        return pack(x, self.packing)

    # ------------------------------------------------------------------ validate, test, predict
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """The discriminator's mean score (logit / critic value) on held-out real data and on as many
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

    def predict_dataloader(self) -> DataLoader:
        """Batches of the sample indices ``0 .. predict_samples - 1`` (:meth:`predict_step`), for a ``predict``
        whose datamodule has no ``predict_dataloader`` of its own (:meth:`setup` lends it this one) or
        that has no datamodule: ``predict`` needs nothing but the module and its checkpoint."""
        return DataLoader(torch.arange(self.predict_samples), batch_size=PREDICT_BATCH_SIZE, shuffle=False,
                          generator=torch.Generator())

    def predict_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        """Samples of :attr:`sampling_generator` (or :attr:`sampling_mixture`) for a batch of sample indices
        (the datamodules' ``predict_dataloader``), the noise of each (and its mixture component) from its
        index (:meth:`latent_codes`)."""
        codes = self.latent_codes(batch)
        if self.sampling_mixture is not None:
            return self.sampling_mixture.sample_from(codes, self.sampling_mixture.components_of_indices(batch))
        return self.sample_from(codes)

    # ------------------------------------------------------------------ optimization
    def optimized_networks(self) -> list[tuple[nn.Module, OptimizerSpec]]:
        """Every trained network with its optimizer settings, in the order of ``configure_optimizers``."""
        return [(self.generator, self.generator_optimizer), (self.discriminator, self.discriminator_optimizer)]

    def configure_optimizers(self):
        return [spec.build(network.parameters()) for network, spec in self.optimized_networks()]

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

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self.real_from_batch(batch)
        opt_g, opt_d = self.optimizers()
        if self.instance_noise:
            self.log_step("instance_noise/std", self.current_instance_noise_std())
        if self.update_mode == "simultaneous":
            self._simultaneous_step(real, opt_g, opt_d)
            return
        d_loss = self._discriminator_step(real, opt_d)
        self.log_step("loss/discriminator", d_loss, prog_bar=True)
        if self.discriminator_steps_since_generator_step >= self.discriminator_steps_per_generator_step():
            g_loss = self._generator_step(real, opt_g)
            self.log_step("loss/generator", g_loss, prog_bar=True)

    def _discriminator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(real.size(0)).detach()
            real, fake = self.pack(self.add_instance_noise(real)), self.pack(self.add_instance_noise(fake))
            loss = self._with_historical_penalty(self.discriminator_loss(real, fake), "discriminator")
            loss = self._descend(opt, loss, "discriminator")
        self._finish_discriminator_step()
        return loss

    def _generator_step(self, real: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            fake = self.generate(real.size(0))
            fake, real = self.pack(self.add_instance_noise(fake)), self.pack(self.add_instance_noise(real))
            loss = self._with_historical_penalty(self.generator_loss(fake, real), "generator")
            loss = self._descend(opt, loss, "generator")
        self._finish_generator_step()
        return loss

    def _simultaneous_step(self, real: Tensor, opt_g, opt_d) -> None:
        """Both players' gradients from the same noise sample, then both steps (GAN reference code)."""
        fake = self.pack(self.add_instance_noise(self.generate(real.size(0))))
        real = self.pack(self.add_instance_noise(real))
        opt_g.zero_grad(set_to_none=True)
        opt_d.zero_grad(set_to_none=True)
        with self.toggled_optimizer(opt_d):
            d_loss = self._with_historical_penalty(self.discriminator_loss(real, fake.detach()), "discriminator")
            self._check_finite(d_loss, "discriminator")
            self.manual_backward(d_loss)
        with self.toggled_optimizer(opt_g):
            g_loss = self._with_historical_penalty(self.generator_loss(fake, real), "generator")
            self._check_finite(g_loss, "generator")
            self.manual_backward(g_loss)
        opt_d.step()
        self._finish_discriminator_step()
        opt_g.step()
        self._finish_generator_step()
        self.log_step_dict({"loss/discriminator": d_loss.detach(), "loss/generator": g_loss.detach()}, prog_bar=True)

    def _descend(self, opt, loss: Tensor, player: str) -> Tensor:
        """One step of ``player``'s optimizer ``opt`` on ``loss`` (checked for NaN/inf first); the loss, detached."""
        self._check_finite(loss, player)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()
        return loss.detach()

    def _finish_discriminator_step(self) -> None:
        """The bookkeeping after every discriminator optimizer step: the method's
        :meth:`after_discriminator_step`, the discriminator's historical average, the critic count."""
        self.after_discriminator_step()
        self._update_historical_average("discriminator")
        self.discriminator_steps_since_generator_step += 1

    def _finish_generator_step(self) -> None:
        """The bookkeeping after every generator optimizer step (every method's, alpha-GAN's too): the
        generator's historical average and moving average, then the counters of the critic schedule."""
        self._update_historical_average("generator")
        if self.generator_ema is not None:
            self.generator_ema.update(self.generator, self.generator_steps)
        self.generator_steps += 1
        self.discriminator_steps_since_generator_step = 0

    def on_train_end(self) -> None:
        self.gradient_sync.stop()
        super().on_train_end()

    # ------------------------------------------------------------------ re-initialisation
    def reset_networks(self) -> None:
        """Re-initialise, in place, every network the module trains (AdaGAN starts each component afresh).

        The networks are those of :attr:`network_arguments` (generator, discriminator, and e.g.
        alpha-GAN's encoder and code discriminator).  When the hyper-parameters record how each of
        them was built (factories, or the Lightning CLI's class paths), a fresh module is built from
        the hyper-parameters, as ``load_from_checkpoint`` does, so that every network gets its own
        initialisation scheme (e.g. DCGAN's N(0, 0.02)), and its parameters and buffers are copied
        into this one.  Otherwise (networks given as ``nn.Module`` instances, which hparams do not
        hold) every submodule's ``reset_parameters()`` is called: PyTorch's default initialisation.
        The ``Parameter`` objects stay the same, so optimizers keep pointing at them; clearing their
        state is the caller's job.  The generator's moving average (``ema_decay``) restarts as a copy
        of the new generator.
        """
        fresh = self._module_from_hparams()
        if fresh is not None:
            self.load_state_dict(fresh.state_dict())
            return
        for name in self.network_arguments:
            _reinitialise(getattr(self, name))
        if self.generator_ema is not None:
            self.generator_ema.reset(self.generator)

    def fresh_networks(self) -> dict[str, nn.Module]:
        """Freshly initialised copies of the networks :meth:`reset_networks` re-initialises, by name.

        This module is left untouched; the copies have its networks' devices and dtypes and are
        initialised as ``reset_networks`` would initialise them, drawing the global RNG alike (every
        network is drawn, even when only one is wanted).  AdaGAN's mixture classifier is the fresh
        ``"discriminator"`` (Tolstikhin et al. 2017, Sec. 3.1).
        """
        fresh = self._module_from_hparams()
        copies = {name: copy.deepcopy(getattr(self, name)) for name in self.network_arguments}
        for name, network in copies.items():
            if fresh is not None:
                network.load_state_dict(getattr(fresh, name).state_dict())
            else:
                _reinitialise(network)
        return copies

    def start_new_component(self) -> None:
        """Start training a new generator from scratch inside the running fit (AdaGAN's next component,
        Tolstikhin et al. 2017, Algorithm 1).

        Fresh networks (:meth:`reset_networks`; under DDP rank 0's, broadcast so every rank starts
        from the same ones), every optimizer's state cleared (a fresh optimizer, same settings) and
        the critic cycle restarted.  ``generator_steps`` keeps counting, so WGAN's optional critic
        warm-up is not repeated.  Methods with more training state extend this hook.
        """
        self.reset_networks()
        trainer = self.trainer
        if trainer.world_size > 1:
            state = {key: value.detach().cpu() for key, value in self.state_dict().items()}
            self.load_state_dict(trainer.strategy.broadcast(state, src=0))
        for optimizer in trainer.optimizers:
            optimizer.state.clear()
        self.discriminator_steps_since_generator_step = 0

    def _module_from_hparams(self) -> Optional[AdversarialModule]:
        """A freshly initialised module built from the hyper-parameters, as ``load_from_checkpoint`` builds it;
        ``None`` when they do not record every network (networks given as ``nn.Module`` instances)."""
        if not all(name in self.hparams for name in self.network_arguments):
            return None
        kwargs = dict(self.hparams)
        if kwargs.pop("_instantiator", None) is not None:  # the CLI's hparams: class paths and dicts
            from lightning.pytorch.cli import instantiate_module

            return instantiate_module(type(self), kwargs)
        return type(self)(**kwargs)

    # ------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)  # first the NaN/inf check, then the RNG state
        checkpoint[self.CHECKPOINT_CLASS_KEY] = f"{type(self).__module__}.{type(self).__qualname__}"
        checkpoint["adversarial_counters"] = {
            "generator_steps": self.generator_steps,
            "discriminator_steps_since_generator_step": self.discriminator_steps_since_generator_step,
        }

    def _settle_resumed_optimizer_settings(self) -> None:
        """On resume, the optimizers' settings where the checkpoint's and the module's differ: with
        ``resume_optimizer_settings="checkpoint"`` the checkpoint's (the optimizer states restored them,
        as in plain Lightning; the module adopts them, and a warning names what differed), with
        ``"module"`` the module's (the CLI: the command line decides, and its warning names them)."""
        stored = getattr(self, "_checkpoint_optimizer_settings", {})
        differences = []
        for optimizer, (network, spec) in zip(self.trainer.optimizers, self.optimized_networks()):
            if self.resume_optimizer_settings == "module":
                spec.apply_to(optimizer)
                continue
            name = f"{next(n for n in self.network_arguments if getattr(self, n) is network)}_optimizer"
            kept = OptimizerSpec.coerce(stored[name]) if name in stored else spec
            if kept == spec:
                continue
            differences += [f"{name}.{key} {value} -> {kept.as_dict()[key]}" for key, value in spec.as_dict().items()
                            if kept.as_dict()[key] != value]
            setattr(self, name, kept)
            if name in self.hparams:
                self.hparams[name] = kept.as_dict()
        if differences:
            rank_zero_warn("resuming from a checkpoint trained with other optimizer settings than the module's: the "
                           "checkpoint's are kept (module -> checkpoint): " + ", ".join(differences) + ". Set "
                           "module.resume_optimizer_settings = 'module' to train with the module's instead.")

    def restart_counters(self) -> None:
        """Zero the counters of the critic schedule and of the generator's steps (the clock of the EMA start,
        instance-noise annealing, lazy penalties).  Every fit that resumes no checkpoint starts with this,
        as its trainer's ``global_step`` starts at 0: a module fitted again by a new ``Trainer`` trains as
        a fresh module holding its weights would (``tests/test_refit.py``)."""
        self.generator_steps = 0
        self.discriminator_steps_since_generator_step = 0

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self._checkpoint_mixture_state = find_mixture_state(checkpoint)
        self._checkpoint_optimizer_settings = {name: value for name, value in checkpoint.get("hyper_parameters", {}).items()
                                               if name.endswith("_optimizer") and isinstance(value, dict)}
        counters = checkpoint.get("adversarial_counters", {})
        self.generator_steps = counters.get("generator_steps", 0)
        self.discriminator_steps_since_generator_step = counters.get("discriminator_steps_since_generator_step", 0)

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
