"""Which layers make a discriminator's score of one example depend on the rest of its batch.

Every gradient penalty (:data:`~lightning_gans.gan_modules.losses.PENALTIES`: WGAN-GP's, DRAGAN's,
R1, R2) is a norm of each example's input gradient, which is only the gradient of a function of
that example when no layer mixes examples.  Batch norm (its batch statistics; Gulrajani et al. 2017,
Sec. 4, "No critic batch normalization") and minibatch discrimination (its closeness statistics
sum over the batch; Salimans et al. 2016, Sec. 3.2) both do.  Layer norm, group norm and instance
norm are per example, and so is virtual batch norm (a fixed reference batch), which is a
generator option only.
"""

from __future__ import annotations

from torch import nn

from lightning_gans.gan_modules.networks.minibatch import MinibatchDiscrimination

BATCH_COUPLED_LAYERS = (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination)


def batch_coupled_layers(discriminator: nn.Module) -> list[str]:
    """Names (as in ``named_modules``) of the batch-norm and minibatch-discrimination layers of ``discriminator``."""
    return [name for name, module in discriminator.named_modules() if isinstance(module, BATCH_COUPLED_LAYERS)]


def reject_batch_coupled_discriminator(discriminator: nn.Module, method: str) -> None:
    """Raise ``ValueError`` if ``discriminator`` holds a layer that couples the examples of a batch.

    ``method`` names the penalised method in the message.
    """
    layers = batch_coupled_layers(discriminator)
    if layers:
        raise ValueError(
            f"{method} penalises per-example gradients, so its discriminator must score each example on its own: "
            f"no batch norm (Gulrajani et al. 2017, Sec. 4) and no minibatch discrimination (Salimans et al. "
            f"2016, Sec. 3.2); found {type(discriminator).__name__} layers {layers}. "
            "Build the discriminator with norm='layer' or norm='none' and minibatch_kernels=0."
        )
