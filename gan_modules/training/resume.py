"""What a checkpoint holds beyond Lightning's own, and what a resumed (or a repeated) fit restores: the
module's class, the counters of the discriminator schedule, the optimizers' settings; loading names the networks a
checkpoint cannot rebuild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Sequence

from lightning.pytorch.utilities import rank_zero_warn

from lightning_gans.gan_modules.adagan.mixture import find_mixture_state
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

if TYPE_CHECKING:
    from lightning_gans.gan_modules.training.base import AdversarialModule


def networks_not_stored(path: Any, module_class: type, missing: Sequence[str]) -> str:
    """What to pass to load a checkpoint whose module was given the ``missing`` networks as ``nn.Module`` instances."""
    passed = ", ".join(f"{name}=..." for name in missing)
    return (f"{path} does not store how to build {', '.join(missing)} ({module_class.__name__} was given nn.Module "
            f"instances or factories without a class path): build them as for training and load with "
            f"{module_class.__name__}.load_from_checkpoint(path, {passed})")


class ResumeState:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that checkpoints and
    restores its training state."""

    #: The checkpoint key of the module's dotted class path (a plain ``Trainer`` records no class).
    CHECKPOINT_CLASS_KEY = "adversarial_module_class"
    #: Which optimizer settings a resumed fit trains with where the checkpoint's and the module's differ:
    #: ``"checkpoint"`` (default, as plain Lightning: what the optimizer states restored) or ``"module"``
    #: (the module's ``*_optimizer`` arguments; the CLI sets it, so that the command line decides).
    resume_optimizer_settings: Literal["checkpoint", "module"] = "checkpoint"

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
                self._decay_as_scheduled(optimizer)
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

    def _decay_as_scheduled(self, optimizer: Any) -> None:
        """A learning rate set anew on resume (``"module"``) starts the linear decay from itself, at the step
        the checkpoint's schedule had reached (``lr_decay_steps``)."""
        for config in self.trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if scheduler.optimizer is not optimizer:
                continue
            scheduler.base_lrs = [group["lr"] for group in optimizer.param_groups]
            for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
                group["initial_lr"], group["lr"] = base, base * factor(scheduler.last_epoch)

    def restart_counters(self) -> None:
        """Zero the counters of the discriminator schedule and of the generator's steps (the clock of the EMA start,
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
