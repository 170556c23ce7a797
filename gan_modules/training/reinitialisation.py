"""Re-initialising the networks in place: AdaGAN starts each mixture component afresh inside one fit."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Optional

from torch import nn

if TYPE_CHECKING:
    from lightning_gans.gan_modules.training.base import AdversarialModule


def _reinitialise(network: nn.Module) -> None:
    """PyTorch's default initialisation, in place: every submodule's ``reset_parameters()``."""
    for module in network.modules():
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()


class Reinitialisation:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that re-initialises its
    networks (:attr:`network_arguments`)."""

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
        the discriminator cycle restarted.  ``generator_steps`` keeps counting, so WGAN's optional critic
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
