"""ModularGAN: any loss with any penalty and constraint, chosen in the config (compare_gan's ``ModularGAN``)."""

from __future__ import annotations

from typing import Any, Optional

from lightning_gans.gan_modules.composed_gan import ComposedGAN
from lightning_gans.gan_modules.losses import CONSTRAINTS, LOSSES, PENALTIES
from lightning_gans.gan_modules.losses.registry import registered_names


class ModularGAN(ComposedGAN):
    """Any loss x any gradient penalty x any constraint, each by registered name or dotted path.

    A dotted path names your own function (e.g. ``loss: my_project.losses.my_loss``), registered nowhere; the
    contracts: :mod:`lightning_gans.gan_modules.losses`.

    Args:
        loss: {losses}, or a dotted path.  Default ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018).
        loss_options: the loss function's keyword options, e.g. ``{{real_label: 0.9}}`` or LSGAN's
            ``{{a: -1, b: 1, c: 0}}``.
        penalty: ``None`` (default), {penalties}, or a dotted path.
        penalty_weight: ``lambda``, or ``gamma`` for R1/R2 (10: Gulrajani et al.'s lambda and Mescheder et
            al.'s and StyleGAN2's ``r1_gamma`` default).
        penalty_interval: lazy regularisation (Karras et al. 2020, Sec. 3.1): the penalty every this many
            discriminator steps, weighted by ``penalty_weight * penalty_interval``; 1 (default): every step
            (StyleGAN2 uses 16 for R1).
        penalty_options: the penalty function's keyword options, e.g. DRAGAN's ``{{perturbation: gaussian}}``.
        constraint: ``None`` (default), {constraints}, or a dotted path: applied to the discriminator after
            each of its steps.
        constraint_options: its keyword options, e.g. ``{{clip_value: 0.01}}``.

    Optimizers, ``n_critic`` and the rest: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`'s
    (Adam(2e-4, betas=(0.5, 0.999)), one discriminator step a generator step).  See :class:`ComposedGAN` for
    the losses, logging and the batch-coupling check.
    """

    def __init__(
        self,
        *args,
        loss: str = "hinge",
        loss_options: Optional[dict[str, Any]] = None,
        penalty: Optional[str] = None,
        penalty_weight: float = 10.0,
        penalty_interval: int = 1,
        penalty_options: Optional[dict[str, Any]] = None,
        constraint: Optional[str] = None,
        constraint_options: Optional[dict[str, Any]] = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        given = [name for name, piece in (("loss", loss), ("penalty", penalty), ("constraint", constraint))
                 if not (piece is None or isinstance(piece, str))]
        if given:
            raise TypeError(f"ModularGAN takes the {', '.join(given)} by registered name or dotted path (a string), so "
                            "that its checkpoints can rebuild it; a function given itself belongs in a ComposedGAN "
                            "subclass's compose()")
        self.compose(loss, loss_options=loss_options, penalty=penalty, penalty_weight=penalty_weight,
                     penalty_interval=penalty_interval, penalty_options=penalty_options, constraint=constraint,
                     constraint_options=constraint_options)


# --help lists the registered names from the registries themselves (one place per name)
ModularGAN.__doc__ = ModularGAN.__doc__.format(losses=registered_names(LOSSES), penalties=registered_names(PENALTIES),
                                               constraints=registered_names(CONSTRAINTS))
