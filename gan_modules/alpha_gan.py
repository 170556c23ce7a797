"""alpha-GAN: Rosca, Lakshminarayanan, Warde-Farley, Mohamed 2017, "Variational Approaches for
Auto-Encoding Generative Adversarial Networks" (arXiv:1706.04987)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from lightning_gans.gan_modules.training.base import AdversarialModule
from lightning_gans.gan_modules.training.networks import NetworkFactory, build_network, eval_mode
from lightning_gans.gan_modules.training.hyperparameters import factory_from_config, is_network_config
from lightning_gans.gan_modules.losses import (
    alpha_gan_discriminator_loss,
    alpha_gan_encoder_loss,
    alpha_gan_generator_loss,
    code_discriminator_loss,
    reconstruction_l1,
)
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

EncoderFactory = Callable[[tuple[int, ...], int], nn.Module]


class AlphaGAN(AdversarialModule):
    """An auto-encoding GAN with a data discriminator and a code discriminator (four players).

    Each training batch ``x`` is one iteration of Algorithm 1 of the paper: draw ``z ~ p(z)`` (the
    base module's ``prior``; the paper's is N(0, I)), then update, in this order and each on its own
    loss with the other three networks frozen (``toggled_optimizer``):

    1. encoder E on ``lambda_rec ||x - G(E(x))||_1 - l_C(E(x))`` (the gradient flows through the
       frozen G);
    2. generator G on ``lambda_rec ||x - G(E(x))||_1 - l_D(G(E(x))) - l_D(G(z))``;
    3. data discriminator D on real ``x`` against reconstructions and samples (one D for both);
    4. code discriminator C on prior ``z`` (labelled real) against codes ``E(x)`` (fake).

    Every step sees the networks as the previous steps left them: after E's step the codes are
    recomputed (no graph) and shared by G's and C's steps, since E does not change again in the
    iteration; after G's step D's step recomputes the reconstructions and samples.  The same ``z``
    serves steps 2-4 (one prior draw per iteration, Algorithm 1).  The losses are the functions in
    :mod:`lightning_gans.gan_modules.losses` (``alpha_gan_*``, ``code_discriminator_loss``); the per-example L1 is
    summed over pixels (:func:`~lightning_gans.gan_modules.losses.reconstruction_l1`).

    With ``packing`` (PacGAN) the data discriminator scores packs of real examples, of
    reconstructions and of samples, each kind packed apart; the reconstruction term stays per example.

    Each batch thus takes four optimizer steps, so Lightning's ``global_step`` (and
    ``trainer.max_steps``) advances by 4 per batch; ``generator_steps`` counts iterations.
    ``configure_optimizers`` returns ``[generator, discriminator, encoder, code_discriminator]``
    (the base module's two first).

    Args:
        encoder: an ``nn.Module`` mapping data to codes ``(B, latent_dim)``, or a callable
            ``(data_shape, latent_dim) -> nn.Module`` (a class such as
            :class:`~lightning_gans.gan_modules.networks.encoder.DCGANEncoder` with its other arguments bound, as
            the Lightning CLI gives), built with the generator's ``latent_dim``.
        code_discriminator: an ``nn.Module`` mapping codes to one logit each, or a callable
            ``code_shape -> nn.Module`` called with ``(latent_dim,)`` (e.g.
            :class:`~lightning_gans.gan_modules.networks.mlp.MLPDiscriminator`).  It must not contain batch norm
            [code: victor-shepardson/alpha-GAN README, "important"].
        lambda_rec: weight of the reconstruction term.  The paper sweeps it and its values could
            not be verified (Rosca et al. 2017, Sec. 5); common choices are 1 to 10 (the
            unofficial implementation's example uses 10 on a per-pixel mean).  Default 1.0.  Mind the reduction: summed over pixels here.
        encoder_optimizer / code_discriminator_optimizer: those players' optimizer settings
            (defaults as the base module's: Adam(2e-4, betas=(0.5, 0.999))).
        Other arguments: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`; ``n_critic`` must be 1 and
        ``update_mode`` ``"alternating"`` (Algorithm 1 updates each network once an iteration).
    """

    network_arguments = (*AdversarialModule.network_arguments, "encoder", "code_discriminator")

    def __init__(
        self,
        *args,
        encoder: nn.Module | EncoderFactory,
        code_discriminator: nn.Module | NetworkFactory,
        lambda_rec: float = 1.0,
        encoder_optimizer: OptimizerSpec = OptimizerSpec(),
        code_discriminator_optimizer: OptimizerSpec = OptimizerSpec(),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.n_critic != 1 or self.update_mode != "alternating":
            raise ValueError(
                "alpha-GAN updates each of its four networks once an iteration (Algorithm 1): "
                f"n_critic must be 1 and update_mode 'alternating', got {self.n_critic} and {self.update_mode!r}"
            )
        if self.instance_noise or self.historical_averaging:
            raise ValueError("alpha-GAN has its own training_step (four players), in which instance_noise and "
                             "historical_averaging do not act; leave them at 0")
        if lambda_rec < 0:
            raise ValueError(f"lambda_rec must be non-negative, got {lambda_rec}")
        self.lambda_rec = float(lambda_rec)
        self.encoder = encoder if isinstance(encoder, nn.Module) else self._build_encoder(encoder)
        encoder_latent = getattr(self.encoder, "latent_dim", self.latent_dim)
        if encoder_latent != self.latent_dim:
            raise ValueError(
                f"the encoder's latent_dim ({encoder_latent}) must equal the generator's ({self.latent_dim})"
            )
        self.code_discriminator = build_network(code_discriminator, (self.latent_dim,))
        batch_norms = [type(m).__name__ for m in self.code_discriminator.modules()
                       if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if batch_norms:
            raise ValueError(
                f"the code discriminator must not use batch norm (found {batch_norms[0]}); use norm='none' or 'layer'"
            )
        self.encoder_optimizer = OptimizerSpec.coerce(encoder_optimizer)
        self.code_discriminator_optimizer = OptimizerSpec.coerce(code_discriminator_optimizer)

    def _build_encoder(self, factory: EncoderFactory) -> nn.Module:
        if is_network_config(factory):  # as checkpoints store factories
            factory = factory_from_config(factory)
        if not callable(factory):
            raise TypeError(
                f"encoder must be an nn.Module or a callable (data_shape, latent_dim) -> nn.Module, got {type(factory).__name__}"
            )
        return factory(self.data_shape, self.latent_dim)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Codes ``E(x)``, shape (B, latent_dim), with the encoder in eval mode and no graph."""
        with eval_mode(self.encoder):
            return self.encoder(x)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Reconstructions ``G(E(x))`` in data space, with both networks in eval mode and no graph."""
        with eval_mode(self.encoder, self.generator):
            return self.generator(self.encoder(x))

    @torch.no_grad()
    def reconstruction_pairs(self, x: Tensor) -> Tensor:
        """Each input followed by its reconstruction: shape (2B, *data_shape), rows ``x_0, G(E(x_0)), x_1, ...``.

        For a picture of reconstructions beside their inputs (an image grid with an even number of
        columns shows each input on the left of its reconstruction).
        """
        x = x.to(self.device)
        return torch.stack([x, self.reconstruct(x)], dim=1).flatten(0, 1)

    def reconstruction_error(self, x: Tensor) -> Tensor:
        """Mean per-element ``|x - G(E(x))|`` in data units ([-1, 1] for images), eval mode, no graph.

        On held-out data (e.g. ``datamodule.val_dataset``) this is the paper's reconstruction measure.
        """
        x = x.to(self.device)
        return (x - self.reconstruct(x)).abs().mean()

    # ------------------------------------------------------------------ optimization
    def optimized_networks(self) -> list[tuple[nn.Module, OptimizerSpec]]:
        return super().optimized_networks() + [
            (self.encoder, self.encoder_optimizer), (self.code_discriminator, self.code_discriminator_optimizer),
        ]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self.real_from_batch(batch)
        opt_g, opt_d, opt_e, opt_c = self.optimizers()
        prior = self.sample_latent(real.size(0))
        e_loss, rec_l1 = self._update_encoder(real, opt_e)
        with torch.no_grad():
            code = self.encoder(real)  # E is final for this iteration; G's and C's steps share the codes
        g_loss = self._update_generator(real, code, prior, opt_g)
        d_loss = self._update_discriminator(real, code, prior, opt_d)
        c_loss = self._update_code_discriminator(code, prior, opt_c)
        self.finish_generator_step()  # once the iteration's four steps are taken
        self.log_step_dict(
            {"loss/encoder": e_loss, "loss/generator": g_loss, "loss/discriminator": d_loss,
             "loss/code_discriminator": c_loss},
            prog_bar=True,
        )
        self.log_step("reconstruction/l1_per_element", rec_l1 / real[0].numel())

    def _update_encoder(self, real: Tensor, opt) -> tuple[Tensor, Tensor]:
        with self.toggled_optimizer(opt):
            code = self.encoder(real)
            reconstruction = self.generator(code)
            loss = alpha_gan_encoder_loss(real, reconstruction, self.code_discriminator(code), self.lambda_rec)
            return self.descend(opt, loss, "encoder"), reconstruction_l1(real, reconstruction).detach()

    def _update_generator(self, real: Tensor, code: Tensor, prior: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            reconstruction = self.generator(code)
            sample = self.generator(prior)
            loss = alpha_gan_generator_loss(
                real, reconstruction, self.discriminator(self.pack(reconstruction)),
                self.discriminator(self.pack(sample)), self.lambda_rec,
            )
            return self.descend(opt, loss, "generator")

    def _update_discriminator(self, real: Tensor, code: Tensor, prior: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            with torch.no_grad():
                reconstruction, sample = self.generator(code), self.generator(prior)
            loss = alpha_gan_discriminator_loss(
                *(self.discriminator(self.pack(x)) for x in (real, reconstruction, sample))
            )
            loss = self.descend(opt, loss, "discriminator")
        self.finish_discriminator_step()
        return loss

    def _update_code_discriminator(self, code: Tensor, prior: Tensor, opt) -> Tensor:
        with self.toggled_optimizer(opt):
            loss = code_discriminator_loss(self.code_discriminator(prior), self.code_discriminator(code))
            return self.descend(opt, loss, "code discriminator")
