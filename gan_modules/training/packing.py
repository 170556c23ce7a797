"""PacGAN packing: the discriminator scores packs of ``m`` samples (Lin, Khetan, Fanti, Oh 2018,
"PacGAN: The power of two samples in generative adversarial networks", arXiv:1712.04086).

Sec. 3 of the paper: the discriminator ``D: X^m -> [0, 1]`` maps ``m`` samples, jointly, to one
decision; a *real* pack holds ``m`` independent real samples, a *fake* pack ``m`` independent
generated ones, never a mix.  The members are concatenated: along the feature axis for vectors
(the toy discriminators' first layer takes ``m * 2`` inputs [code: fjxmlzn/PacGAN,
``2DGrid_GAN&PacGAN/pacgan_task.py``: ``input_dim = num_xdim * num_packing``]) and along the
channel axis for images.  The losses are unchanged; they see one score a pack.

Here a batch of ``B`` examples becomes ``B / m`` packs of consecutive examples, so
``batch_size`` must be a multiple of ``m``.  PacGAN keeps 100 packs a batch (``m * 100``
samples); set ``batch_size: 100 * m`` for that.
"""

from __future__ import annotations

from torch import Tensor


def packed_shape(data_shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    """Shape of one pack of ``m`` examples of ``data_shape``: the first axis ``m`` times wider.

    ``(2,) -> (2 m,)`` for the toy points, ``(C, H, W) -> (m C, H, W)`` for images (PacGAN, Sec. 3).
    """
    check_packing(m)
    return (m * data_shape[0], *data_shape[1:])


def pack(x: Tensor, m: int) -> Tensor:
    """``(B, d0, ...) -> (B / m, m d0, ...)``: examples ``m k, ..., m k + m - 1`` concatenated along
    their first axis form pack ``k`` (PacGAN, Sec. 3).  ``m = 1`` returns ``x`` itself.

    Raises ``ValueError`` when ``B`` is not a multiple of ``m`` (no pack is left incomplete).
    """
    check_packing(m)
    if m == 1:
        return x
    if x.ndim < 2 or x.shape[0] % m:
        raise ValueError(
            f"packing {m} needs a batch of whole packs: batch_size must be a multiple of {m}, got a batch of shape "
            f"{tuple(x.shape)}"
        )
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def check_packing(m: int) -> None:
    """Raise ``ValueError`` unless ``m`` is a positive integer."""
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise ValueError(f"packing must be a positive integer, got {m!r}")
