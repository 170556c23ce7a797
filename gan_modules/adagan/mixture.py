"""``GeneratorMixture``: AdaGAN's weighted mixture of frozen generators.

Tolstikhin et al. 2017 (arXiv:1701.02386), Algorithm 1: ``G_t = (1 - beta_t) G_{t-1} + beta_t G^c_t``.
The reference code keeps stored samples per component [code: ``AdaGan.sample_mixture``]; here the
frozen generators are kept and every draw is fresh: the component of each point comes from
``Categorical(weights)`` (so the component counts are ``Multinomial(n, weights)``) and the points
come out in that random order, i.e. already shuffled (as the shuffled stored samples of ``sample_mixture``).
"""

from __future__ import annotations

import copy
from typing import Any, Literal, Optional

import torch
from torch import Tensor, nn

#: Added to a sample index to seed the draw of its component (:meth:`GeneratorMixture.components_of_indices`).
COMPONENT_SEED_OFFSET = 2**40
#: Tolerance of the "mixture weights sum to 1" assertion (float64 arithmetic).
SUM_TOLERANCE = 1e-9
#: The key of the mixture's state (:meth:`GeneratorMixture.to_checkpoint`) inside the state a callback
#: saves in ``checkpoint["callbacks"]`` (the AdaGAN callback's).
CHECKPOINT_KEY = "adagan_mixture"


def find_mixture_state(checkpoint: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The mixture state stored in a Lightning checkpoint dict by a callback, or ``None`` when there is none."""
    for state in (checkpoint.get("callbacks") or {}).values():
        if isinstance(state, dict) and CHECKPOINT_KEY in state:
            return state[CHECKPOINT_KEY]
    return None


def frozen_copy(generator: nn.Module) -> nn.Module:
    """A deep copy of ``generator`` in eval mode with ``requires_grad=False`` everywhere."""
    frozen = copy.deepcopy(generator).eval()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    return frozen


class GeneratorMixture(nn.Module):
    """Frozen generators with mixture weights; ``sample(n)`` draws fresh points from the mixture.

    Args:
        latent_dim: size of the latent code every component takes.
        prior: the components' latent prior, ``"normal"`` (N(0, I)) or ``"uniform"`` (U[-1, 1]), as
            :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`.
        data_shape: shape of one sample (informative, as the modules' ``data_shape``).

    ``add_component(generator, beta)`` appends a frozen copy with weight ``beta`` and scales the old
    weights by ``1 - beta``; the first component must get ``beta = 1`` (Algorithm 1: ``G_1`` alone).
    ``weights`` is a float64 buffer, so it travels with ``state_dict`` and ``.to(device)``; a state
    dict of ``k`` components is loaded into an empty mixture with :meth:`load_components`.
    """

    def __init__(self, latent_dim: int, prior: Literal["normal", "uniform"] = "normal",
                 data_shape: Optional[tuple[int, ...]] = None) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be positive, got {latent_dim}")
        if prior not in ("normal", "uniform"):
            raise ValueError(f"prior must be 'normal' or 'uniform', got {prior!r}")
        self.latent_dim = int(latent_dim)
        self.prior = prior
        self.data_shape = tuple(data_shape) if data_shape is not None else None
        self.components = nn.ModuleList()
        self.register_buffer("weights", torch.zeros(0, dtype=torch.float64))

    def __len__(self) -> int:
        return len(self.components)

    @property
    def device(self) -> torch.device:
        return self.weights.device

    def add_component(self, generator: nn.Module, beta: float) -> None:
        """Append a frozen copy of ``generator`` with weight ``beta``; old weights are scaled by ``1 - beta``."""
        if not 0.0 < beta <= 1.0:
            raise ValueError(f"beta must lie in (0, 1], got {beta}")
        if len(self) == 0 and beta != 1.0:
            raise ValueError(f"the first component must get weight 1 (Algorithm 1), got beta={beta}")
        if len(self) > 0 and beta == 1.0:
            raise ValueError("beta = 1 would give the earlier components weight 0")
        latent = getattr(generator, "latent_dim", self.latent_dim)
        if latent != self.latent_dim:
            raise ValueError(f"the component's latent_dim ({latent}) differs from the mixture's ({self.latent_dim})")
        self.components.append(frozen_copy(generator).to(self.device))
        new = torch.tensor([beta], dtype=torch.float64, device=self.device)
        self.weights = torch.cat([self.weights * (1.0 - beta), new])
        self._assert_normalised()

    def _assert_normalised(self) -> None:
        total = float(self.weights.sum())
        assert abs(total - 1.0) < SUM_TOLERANCE, f"mixture weights sum to {total}, not 1"

    def load_components(self, template: nn.Module, state_dicts: list[dict[str, Tensor]], weights: Tensor) -> None:
        """Rebuild an empty mixture from saved component state dicts (``template`` gives the architecture)."""
        if len(self):
            raise ValueError("load_components needs an empty mixture")
        if len(state_dicts) != len(weights):
            raise ValueError(f"{len(state_dicts)} component states for {len(weights)} weights")
        for state in state_dicts:
            component = frozen_copy(template)
            component.load_state_dict(state)
            self.components.append(component.to(self.device))
        self.weights = torch.as_tensor(weights, dtype=torch.float64).to(self.device).clone()
        if len(self):
            self._assert_normalised()

    def component_states(self) -> list[dict[str, Tensor]]:
        """Each component's ``state_dict`` on the CPU (what a checkpoint stores)."""
        return [{k: v.detach().cpu().clone() for k, v in c.state_dict().items()} for c in self.components]

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        if self.prior == "normal":
            return torch.randn(n, self.latent_dim, generator=generator, device=self.device)
        return torch.rand(n, self.latent_dim, generator=generator, device=self.device) * 2 - 1

    def sample_components(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """Component index of each of ``n`` points, i.i.d. ``Categorical(weights)``, shape (n,)."""
        if len(self) == 0:
            raise RuntimeError("the mixture has no component yet")
        if n == 0:
            return torch.zeros(0, dtype=torch.int64, device=self.device)
        return torch.multinomial(self.weights, n, replacement=True, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """``n`` fresh samples in data space: component ids ~ Categorical(weights), points in that order.

        ``generator`` (optional) must live on the mixture's device.
        """
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        ids = self.sample_components(n, generator)
        return self.sample_from(self.sample_latent(n, generator), ids)

    @torch.no_grad()
    def sample_from(self, z: Tensor, components: Tensor) -> Tensor:
        """Point ``i`` = component ``components[i]`` applied to the latent code ``z[i]``."""
        if len(z) == 0:
            return self.components[0](z)
        out: Optional[Tensor] = None
        for index, component in enumerate(self.components):
            mask = components == index
            if not bool(mask.any()):
                continue
            points = component(z[mask])
            if out is None:
                out = points.new_empty(len(z), *points.shape[1:])
            out[mask] = points
        return out

    def components_of_indices(self, indices: Tensor) -> Tensor:
        """The component of each sample index, ``Categorical(weights)`` drawn from a generator seeded with
        the index (and a constant, so it is not the draw of the index's latent code): sample ``i`` of a
        mixture is the same whatever the batch size or number of processes."""
        return torch.stack([torch.multinomial(self.weights.cpu(), 1, generator=torch.Generator().manual_seed(
            int(i) + COMPONENT_SEED_OFFSET))[0] for i in indices]).to(self.device)

    def forward(self, n: int) -> Tensor:
        return self.sample(n)

    def train(self, mode: bool = True) -> "GeneratorMixture":
        """The components stay in eval mode whatever ``mode`` (they are frozen)."""
        super().train(mode)
        self.components.eval()
        return self

    def extra_repr(self) -> str:
        return f"components={len(self)}, weights={[round(float(w), 4) for w in self.weights]}, prior={self.prior!r}"

    # ------------------------------------------------------------------ checkpoint form
    def to_checkpoint(self) -> dict[str, Any]:
        """The mixture as plain data: weights, component state dicts (on the CPU) and latent settings.

        Tensors, numbers, strings, lists and dicts only, so ``torch.load(weights_only=True)`` (torch's
        default) reads it back.  A callback stores it under ``CHECKPOINT_KEY`` in its ``state_dict``.
        """
        return {"weights": self.weights.detach().cpu().clone(), "components": self.component_states(),
                "latent_dim": self.latent_dim, "prior": self.prior,
                "data_shape": self.data_shape}

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], template: nn.Module) -> "GeneratorMixture":
        """The mixture saved by :meth:`to_checkpoint`, on ``template``'s device.

        ``template`` is a generator of the same architecture (its weights are not used).
        """
        mixture = cls(state["latent_dim"], state["prior"], state.get("data_shape"))
        device = next(template.parameters(), torch.empty(0)).device
        mixture.to(device).load_components(template, state["components"], state["weights"])
        return mixture

    @classmethod
    def from_lightning_checkpoint(cls, checkpoint: dict[str, Any], template: nn.Module) -> Optional["GeneratorMixture"]:
        """The mixture a Lightning checkpoint dict holds (:func:`find_mixture_state`), in eval mode.

        ``None`` when the checkpoint holds no mixture or one without components (an AdaGAN run saved
        before its first stage ended).  ``template``: a generator of the components' architecture.
        """
        state = find_mixture_state(checkpoint)
        if state is None or len(state["components"]) == 0:
            return None
        return cls.from_checkpoint(state, template).eval()
