"""The network contract: what a method's network arguments may be, and how a network is built for the data."""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Union

from torch import nn

from lightning_gans.gan_modules.training.hyperparameters import factory_from_config, is_network_config

#: A network argument: an ``nn.Module``, or what builds one for the data (a class, a ``functools.partial`` of
#: one, any callable ``data_shape -> nn.Module``; :func:`build_network`).  ``nn.Module`` comes first so that
#: the Lightning CLI instantiates a class that does not take the data's shape with all its arguments (a
#: ``Callable[[shape], ...]`` alone made jsonargparse give the shape to the class's first parameter).
NetworkFactory = Union[nn.Module, Callable[[tuple[int, ...]], nn.Module]]


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
