"""The project's own networks: constructors that take no data shape."""

from models.networks import MoonDiscriminator, MoonGenerator

__all__ = ["MoonDiscriminator", "MoonGenerator"]
