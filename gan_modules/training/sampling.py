"""Sampling: the latent prior, the network that ``sample()`` uses (the generator, its moving average, or an
AdaGAN mixture), and ``predict``'s samples, each one from its index."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture

PREDICT_BATCH_SIZE = 256  # sample indices a predict batch (a sample depends on its index alone)


class Sampling:
    """The part of :class:`~lightning_gans.gan_modules.training.base.AdversarialModule` that draws samples."""

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
