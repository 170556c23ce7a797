"""The project's own callbacks."""

from callbacks.count import CountBatches

__all__ = ["CountBatches"]
