"""The project's own datamodules."""

from datamodules.moons import Moons

__all__ = ["Moons"]
