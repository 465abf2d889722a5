"""Pooling layers: max pooling, average pooling and global average pooling (forward, backward).

Conventions
-----------
* Layout is NCHW: ``x`` has shape ``(N, C, H, W)``. Pooling acts on each ``H x W`` plane
  (each example and each channel) independently; it has no parameters.
* ``kernel_size``, ``stride`` and ``padding`` are each an int (same value for height and
  width) or a pair ``(height, width)``, e.g. ``kernel_size=(3, 2)``. ``stride=None`` means
  ``stride = kernel_size`` (non-overlapping windows), as in PyTorch. With ``stride`` smaller
  than ``kernel_size`` the windows overlap.
* Output size (per spatial dimension, ``k`` kernel, ``s`` stride, ``p`` padding):
  ``out = floor((H + 2p - k) / s) + 1``. Rows/columns left over at the bottom/right that do not
  fill a whole window are ignored (PyTorch's ``ceil_mode=False``; ``ceil_mode=True`` is not
  supported). As in PyTorch, ``padding`` must be at most half the kernel, ``p <= k // 2``, so
  that every window contains at least one real (non-padding) element.
* Padding for max pooling is implicit ``-inf`` (padding never wins the maximum); for average
  pooling it is zeros (whether the zeros are counted in the divisor is ``count_include_pad``).
* Semantics are those of PyTorch's ``torch.nn.functional.max_pool2d`` (with
  ``return_indices=True``), ``avg_pool2d`` and ``adaptive_avg_pool2d(x, 1)``.
* Functions never modify their inputs. Outputs have the dtype of the input (float32 in,
  float32 out); max-pool switches are int64.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
  Loops over the ``k_h * k_w`` kernel offsets are fine; loops over examples, channels or output
  pixels are not (they are far too slow).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def max_pool_forward(
    x: Array, kernel_size: int | tuple[int, int], stride: Any = None, padding: Any = 0
) -> tuple[Array, Array]:
    """Max pooling forward pass (``torch.nn.functional.max_pool2d`` semantics).

    Each output element is the maximum of a ``k_h x k_w`` window of its input plane. The
    position of that maximum (the "switch") is returned too, because the backward pass needs
    it: only the winning input element receives gradient.

    Args:
        x: input of shape ``(N, C, H, W)``, float32 or float64.
        kernel_size: window size, int or ``(k_h, k_w)``.
        stride: step between windows, int or pair; ``None`` (default) means ``kernel_size``.
        padding: implicit ``-inf`` padding added on both sides, int or pair, at most
            ``kernel_size // 2`` in each dimension (so that padding never wins).

    Returns:
        ``(out, switches)``:

        * ``out``: shape ``(N, C, H_out, W_out)`` with
          ``H_out = floor((H + 2 * p_h - k_h) / s_h) + 1`` (likewise ``W_out``), dtype of ``x``.
        * ``switches``: int64 array of shape ``(N, C, H_out, W_out)``; each entry is the
          position of the maximum in the UNPADDED input plane, flattened row-major:
          ``h * W + w`` with ``0 <= h < H`` and ``0 <= w < W`` (padding is never selected).
          This is PyTorch's ``return_indices=True`` convention.

        Ties: when several elements of a window share the maximum value, the FIRST one in
        row-major window order (top row first, left to right) wins. NaN: PyTorch's rule is
        "replace the current maximum when ``value > maximum`` or ``value`` is NaN", scanning
        the window in row-major order; so a NaN in a window always wins (the output is NaN)
        and if a window holds several NaNs the last one is the switch. A window whose real
        elements are all ``-inf`` has output ``-inf`` and its switch is its first real
        element.

    Raises:
        ValueError: if ``x`` is not 4-D floating point, a hyper-parameter is not a positive
            int or pair (padding: non-negative), ``padding > kernel_size // 2``, or the kernel
            does not fit in the padded input.
    """
    raise NotImplementedError("max_pool_forward is not implemented yet")


def max_pool_backward(dout: Array, switches: Array, input_shape: tuple[int, ...]) -> Array:
    """Max pooling backward pass.

    Each output gradient ``dout[n, c, i, j]`` flows to the single input element that won the
    maximum, ``switches[n, c, i, j]`` (a flat ``h * W + w`` index into plane ``(n, c)``). When
    windows overlap, one input element can win several windows: its gradient is the SUM of
    those output gradients. Every other input element gets zero gradient. Only the switches
    are needed, not ``x``.

    Hint: build, for every output element, the flat index of its switch in the whole
    ``N * C * H * W`` input, then scatter-add ``dout`` into a flat zero array. Plain fancy
    assignment ``dx[idx] += dout`` is WRONG when ``idx`` has repeated entries (only one of
    the additions survives); use ``xp.bincount(idx, weights=..., minlength=...)`` or
    ``xp.add.at`` instead.

    Args:
        dout: upstream gradient, shape ``(N, C, H_out, W_out)``.
        switches: int64 switches returned by ``max_pool_forward``, same shape as ``dout``.
        input_shape: the forward input's shape ``(N, C, H, W)``.

    Returns:
        ``dx`` of shape ``input_shape`` and the dtype of ``dout``.

    Raises:
        ValueError: if ``switches`` is not shaped like ``dout``, ``input_shape`` is not 4 positive
            ints matching ``dout``'s ``N`` and ``C``, or a switch is outside ``[0, H * W)``.
    """
    raise NotImplementedError("max_pool_backward is not implemented yet")


def avg_pool_forward(
    x: Array,
    kernel_size: int | tuple[int, int],
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
) -> Array:
    """Average pooling forward pass (``torch.nn.functional.avg_pool2d`` semantics).

    Each output element is the mean of a ``k_h x k_w`` window of its (zero-padded) input
    plane.

    Args:
        x: input of shape ``(N, C, H, W)``, float32 or float64.
        kernel_size: window size, int or ``(k_h, k_w)``.
        stride: step between windows, int or pair; ``None`` (default) means ``kernel_size``.
        padding: zero padding on both sides, int or pair, at most ``kernel_size // 2``.
        count_include_pad: if True (default), every window sum is divided by ``k_h * k_w``,
            padding zeros included; if False, it is divided by the number of REAL (non-padding)
            elements in that window, so windows at the border average only real values.

    Returns:
        ``out`` of shape ``(N, C, H_out, W_out)`` (same output size formula as max pooling),
        dtype of ``x``.

    Raises:
        ValueError: as for ``max_pool_forward``.
    """
    raise NotImplementedError("avg_pool_forward is not implemented yet")


def avg_pool_backward(
    dout: Array,
    input_shape: tuple[int, ...],
    kernel_size: int | tuple[int, int],
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
) -> Array:
    """Average pooling backward pass.

    Each output gradient is shared equally by the elements of its window: every real input
    element of the window receives ``dout / divisor`` (the same divisor as in the forward
    pass); gradients of overlapping windows add up. Gradient landing on padding is
    discarded.

    Args:
        dout: upstream gradient, shape ``(N, C, H_out, W_out)``.
        input_shape: the forward input's shape ``(N, C, H, W)``.
        kernel_size, stride, padding, count_include_pad: as in the forward pass.

    Returns:
        ``dx`` of shape ``input_shape`` and the dtype of ``dout``.

    Raises:
        ValueError: as for ``avg_pool_forward``, or if ``dout`` does not have the output shape
            that these hyper-parameters give for ``input_shape``.
    """
    raise NotImplementedError("avg_pool_backward is not implemented yet")


def global_avg_pool_forward(x: Array) -> Array:
    """Global average pooling (``torch.nn.functional.adaptive_avg_pool2d(x, 1)``, flattened).

    Averages each ``H x W`` plane to one number, as at the end of a ResNet before the final
    fully-connected layer.

    Args:
        x: input of shape ``(N, C, H, W)``, float32 or float64.

    Returns:
        ``out`` of shape ``(N, C)`` (NOT ``(N, C, 1, 1)``): ``out[n, c] = mean(x[n, c])``,
        dtype of ``x``.

    Raises:
        ValueError: if ``x`` is not a 4-D floating-point array.
    """
    raise NotImplementedError("global_avg_pool_forward is not implemented yet")


def global_avg_pool_backward(dout: Array, input_shape: tuple[int, ...]) -> Array:
    """Global average pooling backward pass.

    Every element of plane ``(n, c)`` receives ``dout[n, c] / (H * W)``.

    Args:
        dout: upstream gradient, shape ``(N, C)``.
        input_shape: the forward input's shape ``(N, C, H, W)``.

    Returns:
        ``dx`` of shape ``input_shape`` and the dtype of ``dout`` (a new, writable array).

    Raises:
        ValueError: if ``input_shape`` is not 4 positive ints or ``dout`` is not ``(N, C)``.
    """
    raise NotImplementedError("global_avg_pool_backward is not implemented yet")
