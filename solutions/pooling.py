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


# BEGIN SOLUTION
def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """Turn an int or a pair of ints into a pair, checking each is an int >= minimum."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _geometry(
    shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate pooling hyper-parameters for an (N, C, H, W) shape.

    Returns (kernel, stride, padding, output size), each an (h, w) pair.
    """
    if len(shape) != 4:
        raise ValueError(
            f"pooling expects an input of shape (N, C, H, W), got shape {tuple(shape)}"
        )
    k = _pair(kernel_size, "kernel_size", 1)
    s = k if stride is None else _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"padding must be at most half the kernel size (padding <= kernel_size // 2), "
            f"got padding={p} for kernel_size={k}"
        )
    h, w = int(shape[2]), int(shape[3])
    if h + 2 * p[0] < k[0] or w + 2 * p[1] < k[1]:
        raise ValueError(
            f"kernel_size {k} is larger than the padded input {(h + 2 * p[0], w + 2 * p[1])} "
            f"(input {(h, w)}, padding {p})"
        )
    out = ((h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1)
    return k, s, p, out


def _check_float(x: Array, name: str) -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")


def _window(
    i: int, j: int, s: tuple[int, int], out: tuple[int, int]
) -> tuple[slice, slice, slice, slice]:
    """Index of the elements at kernel offset (i, j) of every window, in a padded plane."""
    return (
        slice(None),
        slice(None),
        slice(i, i + s[0] * (out[0] - 1) + 1, s[0]),
        slice(j, j + s[1] * (out[1] - 1) + 1, s[1]),
    )


def _divisor(
    xp: Any,
    dtype: Any,
    hw: tuple[int, int],
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    out_hw: tuple[int, int],
    count_include_pad: bool,
) -> Array:
    """Divisor of each window sum, shape (H_out, W_out) (broadcasts against (N, C, ...))."""
    if count_include_pad:
        return xp.full(out_hw, k[0] * k[1], dtype=dtype)
    counts = []
    for d in range(2):
        start = xp.arange(out_hw[d], dtype=xp.int64) * s[d] - p[d]
        end = xp.minimum(start + k[d], hw[d])
        counts.append(end - xp.maximum(start, 0))
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)


def _check_input_shape(input_shape: Any) -> tuple[int, int, int, int]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 4 or any(v < 1 for v in shape):
        raise ValueError(
            f"input_shape must be the (N, C, H, W) shape of the forward input, got "
            f"{tuple(input_shape)!r}"
        )
    return shape  # type: ignore[return-value]


# END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(x)
    k, s, p, (ho, wo) = _geometry(tuple(x.shape), kernel_size, stride, padding)
    _check_float(x, "x")
    n, c, h, w = (int(v) for v in x.shape)
    if p != (0, 0):
        xpad = xp.full((n, c, h + 2 * p[0], w + 2 * p[1]), -xp.inf, dtype=x.dtype)
        xpad[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    else:
        xpad = x
    # Start of each window in unpadded coordinates.
    rows0 = xp.arange(ho, dtype=xp.int64) * s[0] - p[0]
    cols0 = xp.arange(wo, dtype=xp.int64) * s[1] - p[1]
    # Before any comparison: the maximum is -inf and the switch is the window's first real
    # element (what PyTorch does; it only matters when all real elements are -inf).
    best = xp.full((n, c, ho, wo), -xp.inf, dtype=x.dtype)
    first = xp.maximum(rows0, 0)[:, None] * w + xp.maximum(cols0, 0)[None, :]
    switches = xp.broadcast_to(first, (n, c, ho, wo)).copy()
    for i in range(k[0]):
        for j in range(k[1]):
            v = xpad[_window(i, j, s, (ho, wo))]
            take = (v > best) | xp.isnan(v)
            best = xp.where(take, v, best)
            idx = (rows0 + i)[:, None] * w + (cols0 + j)[None, :]
            switches = xp.where(take, idx, switches)
    return best, switches.astype(xp.int64, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout, switches)
    n, c, h, w = _check_input_shape(input_shape)
    _check_float(dout, "dout")
    if dout.ndim != 4 or tuple(dout.shape[:2]) != (n, c):
        raise ValueError(
            f"dout must have shape (N, C, H_out, W_out) with (N, C) = {(n, c)} from "
            f"input_shape, got shape {tuple(dout.shape)}"
        )
    if tuple(switches.shape) != tuple(dout.shape):
        raise ValueError(
            f"switches must have the shape of dout {tuple(dout.shape)}, got {tuple(switches.shape)}"
        )
    if switches.dtype.kind not in "iu":
        raise ValueError(f"switches must be an integer array, got dtype {switches.dtype}")
    plane = h * w
    if switches.size and (int(switches.min()) < 0 or int(switches.max()) >= plane):
        raise ValueError(f"switches must lie in [0, H * W) = [0, {plane}) for input {(h, w)}")
    offsets = xp.arange(n * c, dtype=xp.int64).reshape(n, c, 1, 1) * plane
    flat = (switches.astype(xp.int64, copy=False) + offsets).reshape(-1)
    dx = xp.bincount(flat, weights=dout.reshape(-1), minlength=n * c * plane)
    return dx.astype(dout.dtype, copy=False).reshape(n, c, h, w)
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(x)
    k, s, p, out_hw = _geometry(tuple(x.shape), kernel_size, stride, padding)
    _check_float(x, "x")
    n, c, h, w = (int(v) for v in x.shape)
    if p != (0, 0):
        xpad = xp.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=x.dtype)
        xpad[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    else:
        xpad = x
    total = xp.zeros((n, c, *out_hw), dtype=x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            total += xpad[_window(i, j, s, out_hw)]
    return (total / _divisor(xp, x.dtype, (h, w), k, s, p, out_hw, count_include_pad)).astype(
        x.dtype, copy=False
    )
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout)
    shape = _check_input_shape(input_shape)
    k, s, p, out_hw = _geometry(shape, kernel_size, stride, padding)
    _check_float(dout, "dout")
    n, c, h, w = shape
    if tuple(dout.shape) != (n, c, *out_hw):
        raise ValueError(
            f"dout must have the output shape {(n, c, *out_hw)} for input_shape {shape}, "
            f"got shape {tuple(dout.shape)}"
        )
    g = dout / _divisor(xp, dout.dtype, (h, w), k, s, p, out_hw, count_include_pad)
    dxpad = xp.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=dout.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            dxpad[_window(i, j, s, out_hw)] += g
    return dxpad[:, :, p[0] : p[0] + h, p[1] : p[1] + w].copy()
    # END SOLUTION


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
    # BEGIN SOLUTION
    if x.ndim != 4:
        raise ValueError(
            f"global_avg_pool_forward expects an input of shape (N, C, H, W), got shape "
            f"{tuple(x.shape)}"
        )
    _check_float(x, "x")
    return x.mean(axis=(2, 3)).astype(x.dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout)
    n, c, h, w = _check_input_shape(input_shape)
    _check_float(dout, "dout")
    if tuple(dout.shape) != (n, c):
        raise ValueError(f"dout must have shape (N, C) = {(n, c)}, got shape {tuple(dout.shape)}")
    dx = xp.empty((n, c, h, w), dtype=dout.dtype)
    dx[...] = (dout / dout.dtype.type(h * w))[:, :, None, None]
    return dx
    # END SOLUTION
