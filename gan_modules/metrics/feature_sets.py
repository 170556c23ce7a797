"""The state of a metric that compares two sets of vectors: real and generated features, synced under DDP."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class FeatureSets(Metric):
    """Real and generated feature vectors, each a list state gathered (``cat``) across processes.

    ``update(x, real)`` flattens each example of ``x`` to one vector (raw data, or features already
    extracted).  Real vectors survive :meth:`reset` (as torchmetrics' FID/KID with
    ``reset_real_features=False``): feed the real set once, then one generated set per evaluation.
    Subclasses compute from :meth:`real` and :meth:`fake`.
    """

    is_differentiable = False
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("real_features", [], dist_reduce_fx="cat")
        self.add_state("fake_features", [], dist_reduce_fx="cat")

    def update(self, x: Tensor, real: bool = False) -> None:
        (self.real_features if real else self.fake_features).append(x.detach().flatten(1))

    def real(self) -> Tensor:
        """All real vectors ``(N, D)`` (over every process inside ``compute``)."""
        return self._gathered(self.real_features, "real")

    def fake(self) -> Tensor:
        """All generated vectors ``(M, D)`` (over every process inside ``compute``)."""
        return self._gathered(self.fake_features, "generated")

    @staticmethod
    def _gathered(state: Any, kind: str) -> Tensor:
        if isinstance(state, list) and not state:
            raise ValueError(f"no {kind} examples were given to the metric")
        return dim_zero_cat(state)

    def reset(self) -> None:
        real = self._defaults.pop("real_features")  # kept out of the reset, as torchmetrics' KID does
        try:
            super().reset()
        finally:
            self._defaults["real_features"] = real
