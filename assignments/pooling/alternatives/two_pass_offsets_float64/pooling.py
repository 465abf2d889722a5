"""VARIANT two_pass_offsets_float64 (alternative correct submission, used by the fairness tests).

How it differs from the reference: loops over the window offsets, but in two passes for max
pooling: pass 1 takes the running ``xp.maximum`` (NaN-propagating) over the offsets, pass 2
walks the offsets again in row-major order and records the first real element equal to that
maximum (or, in a window whose maximum is NaN, keeps overwriting with every NaN, so the last
NaN wins). The max-pool backward builds a one-hot comparison of every switch with every
input position and sums ``dout`` over the windows (no ``bincount``, no scatter). Average
pooling accumulates the window sums in float64, counts real elements by pooling a padded mask
of ones in the same loop, and casts back to the input dtype at the end; its backward
multiplies ``dout`` by the reciprocal of the divisor and accumulates in float64. Global
average pooling takes a float64 mean; its backward multiplies by ``1 / (H * W)``.

Pooling layers: max pooling, average pooling and global average pooling (forward, backward).

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


def _hw_pair(value: Any, what: str, at_least: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        items = tuple(value)
    else:
        items = (value, value)
    if len(items) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    for item in items:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
        if item < at_least:
            raise ValueError(f"{what} must be at least {at_least}, got {value!r}")
    return int(items[0]), int(items[1])


def _geometry(shape: Any, kernel_size: Any, stride: Any, padding: Any) -> dict[str, Any]:
    """All the numbers of one pooling call, checked, in a dict."""
    if len(tuple(shape)) != 4:
        raise ValueError(f"pooling needs an (N, C, H, W) input, got shape {tuple(shape)}")
    kh, kw = _hw_pair(kernel_size, "kernel_size", 1)
    sh, sw = _hw_pair(kernel_size if stride is None else stride, "stride", 1)
    ph, pw = _hw_pair(padding, "padding", 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding {(ph, pw)} must be <= kernel_size // 2 {(kh // 2, kw // 2)}")
    n, c, h, w = (int(d) for d in shape)
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"the kernel {(kh, kw)} is larger than the padded input")
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (w + 2 * pw - kw) // sw + 1
    return dict(n=n, c=c, h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, ho=ho, wo=wo)


def _offsets(g: dict[str, Any]) -> Any:
    """(a, b, index) for every window offset, row-major; index selects, in a padded plane,
    the element at offset (a, b) of every window."""
    for a in range(g["kh"]):
        for b in range(g["kw"]):
            rows = slice(a, a + g["sh"] * (g["ho"] - 1) + 1, g["sh"])
            cols = slice(b, b + g["sw"] * (g["wo"] - 1) + 1, g["sw"])
            yield a, b, (Ellipsis, rows, cols)


def _padded(xp: Any, x: Array, g: dict[str, Any], fill: float, dtype: Any) -> Array:
    out = xp.full((g["n"], g["c"], g["h"] + 2 * g["ph"], g["w"] + 2 * g["pw"]), fill, dtype=dtype)
    out[:, :, g["ph"] : g["ph"] + g["h"], g["pw"] : g["pw"] + g["w"]] = x
    return out


def _divisor(xp: Any, g: dict[str, Any], count_include_pad: bool) -> Any:
    """float64 divisor of every window sum, (H_out, W_out), or a number."""
    if count_include_pad:
        return float(g["kh"] * g["kw"])
    ones = xp.zeros((g["h"] + 2 * g["ph"], g["w"] + 2 * g["pw"]), dtype=xp.float64)
    ones[g["ph"] : g["ph"] + g["h"], g["pw"] : g["pw"] + g["w"]] = 1.0
    count = xp.zeros((g["ho"], g["wo"]), dtype=xp.float64)
    for _, _, index in _offsets(g):
        count += ones[index]
    return count


def _need_float(a: Array, what: str) -> None:
    if a.dtype.kind != "f":
        raise ValueError(f"{what} must be a floating-point array, got {a.dtype}")


def _shape_of_input(input_shape: Any) -> tuple[int, int, int, int]:
    dims = tuple(int(d) for d in input_shape)
    if len(dims) != 4 or any(d <= 0 for d in dims):
        raise ValueError(f"input_shape must be (N, C, H, W) with positive sizes, got {dims}")
    return dims  # type: ignore[return-value]


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
    xp = get_array_module(x)
    g = _geometry(x.shape, kernel_size, stride, padding)
    _need_float(x, "x")
    x_pad = _padded(xp, x, g, -xp.inf, x.dtype)
    # pass 1: the maximum of every window (xp.maximum propagates NaN)
    best = None
    for _, _, index in _offsets(g):
        best = x_pad[index].copy() if best is None else xp.maximum(best, x_pad[index])
    # pass 2: where is it? first real element equal to it, or the last NaN of a NaN window
    nan_window = xp.isnan(best)
    found = xp.zeros(best.shape, dtype=bool)
    switches = xp.zeros(best.shape, dtype=xp.int64)
    top = xp.arange(g["ho"], dtype=xp.int64) * g["sh"] - g["ph"]
    left = xp.arange(g["wo"], dtype=xp.int64) * g["sw"] - g["pw"]
    for a, b, index in _offsets(g):
        r, q = top + a, left + b
        real = ((r >= 0) & (r < g["h"]))[:, None] & ((q >= 0) & (q < g["w"]))[None, :]
        value = x_pad[index]
        first_hit = real & ~found & ~nan_window & (value == best)
        hit = first_hit | (nan_window & xp.isnan(value))
        switches = xp.where(hit, r[:, None] * g["w"] + q[None, :], switches)
        found = found | first_hit
    return best, switches


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
    xp = get_array_module(dout, switches)
    n, c, h, w = _shape_of_input(input_shape)
    _need_float(dout, "dout")
    if dout.ndim != 4 or tuple(dout.shape[:2]) != (n, c):
        raise ValueError(f"dout must have shape (N, C, H_out, W_out) with N, C = {n}, {c}")
    if tuple(switches.shape) != tuple(dout.shape):
        raise ValueError("switches must have the shape of dout")
    if switches.dtype.kind not in "iu":
        raise ValueError(f"switches must hold integers, got {switches.dtype}")
    low, high = int(switches.min()), int(switches.max())
    if low < 0 or high >= h * w:
        raise ValueError(f"switches must lie in [0, {h * w}), got values in [{low}, {high}]")
    # one_hot[n, c, p, q] is True where window p of plane (n, c) routes to input position q
    flat = switches.reshape(n, c, -1, 1).astype(xp.int64)
    one_hot = flat == xp.arange(h * w, dtype=xp.int64).reshape(1, 1, 1, h * w)
    dx = (one_hot * dout.reshape(n, c, -1, 1)).sum(axis=2)
    return dx.astype(dout.dtype).reshape(n, c, h, w)


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
    xp = get_array_module(x)
    g = _geometry(x.shape, kernel_size, stride, padding)
    _need_float(x, "x")
    x_pad = _padded(xp, x, g, 0.0, xp.float64)
    total = xp.zeros((g["n"], g["c"], g["ho"], g["wo"]), dtype=xp.float64)
    for _, _, index in _offsets(g):
        total += x_pad[index]
    return (total / _divisor(xp, g, count_include_pad)).astype(x.dtype)


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
    xp = get_array_module(dout)
    g = _geometry(_shape_of_input(input_shape), kernel_size, stride, padding)
    _need_float(dout, "dout")
    if tuple(dout.shape) != (g["n"], g["c"], g["ho"], g["wo"]):
        raise ValueError(
            f"dout must have shape {(g['n'], g['c'], g['ho'], g['wo'])}, got {tuple(dout.shape)}"
        )
    share = dout.astype(xp.float64) * (1.0 / _divisor(xp, g, count_include_pad))
    grad = xp.zeros((g["n"], g["c"], g["h"] + 2 * g["ph"], g["w"] + 2 * g["pw"]), dtype=xp.float64)
    for _, _, index in _offsets(g):
        grad[index] += share
    inner = grad[:, :, g["ph"] : g["ph"] + g["h"], g["pw"] : g["pw"] + g["w"]]
    return inner.astype(dout.dtype)


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
    if x.ndim != 4:
        raise ValueError(f"global average pooling needs (N, C, H, W), got {tuple(x.shape)}")
    _need_float(x, "x")
    return x.astype(get_array_module(x).float64).mean(axis=(2, 3)).astype(x.dtype)


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
    xp = get_array_module(dout)
    n, c, h, w = _shape_of_input(input_shape)
    _need_float(dout, "dout")
    if tuple(dout.shape) != (n, c):
        raise ValueError(f"dout must have shape {(n, c)}, got {tuple(dout.shape)}")
    dx = xp.zeros((n, c, h, w), dtype=dout.dtype)
    dx += (dout * (1.0 / (h * w)))[:, :, None, None]
    return dx
