"""VARIANT sliding_windows_argmax (alternative correct submission, used by the fairness tests).

How it differs from the reference: every window is materialized at once with
``sliding_window_view`` (no loop over kernel offsets). Max pooling takes ``max`` over the
flattened window axis (NaN propagates) and finds the switch with ``argmax`` over a boolean
"equals the maximum and is a real element" mask (first maximum in row-major order wins; a
window holding NaN takes its last NaN, found with an ``argmax`` over the reversed window).
The max-pool backward scatters with ``xp.add.at`` instead of ``bincount``. Average pooling
uses ``mean`` over the windows (padding counted) or their ``sum`` divided by the number of
real elements, itself counted by pooling a padded mask of ones; its backward scatters with
``xp.add.at`` through an index map of the padded plane. Global average pooling divides a sum
by ``H * W``; its backward broadcasts.

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


def _two_ints(value: Any, name: str, low: int) -> tuple[int, int]:
    both = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(both) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    for item in both:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < low:
            raise ValueError(f"{name} must hold ints >= {low}, got {value!r}")
    return int(both[0]), int(both[1])


def _pool_setup(shape: Any, kernel_size: Any, stride: Any, padding: Any) -> tuple:
    """Check pooling arguments; return kernel, stride, padding and output size pairs."""
    if len(shape) != 4:
        raise ValueError(f"expected an (N, C, H, W) input, got shape {tuple(shape)}")
    kh, kw = _two_ints(kernel_size, "kernel_size", 1)
    sh, sw = (kh, kw) if stride is None else _two_ints(stride, "stride", 1)
    ph, pw = _two_ints(padding, "padding", 0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"padding {(ph, pw)} is more than half the kernel {(kh, kw)}")
    h, w = int(shape[2]), int(shape[3])
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"kernel {(kh, kw)} does not fit in the padded input")
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (w + 2 * pw - kw) // sw + 1
    return (kh, kw), (sh, sw), (ph, pw), (ho, wo)


def _float_array(a: Array, name: str) -> None:
    if a.dtype.kind != "f":
        raise ValueError(f"{name} must be float32 or float64, got {a.dtype}")


def _windows(xp: Any, a: Array, k: tuple, s: tuple) -> Array:
    """Windows of the last two axes: shape (..., H_out, W_out, kh, kw) (a view)."""
    view = xp.lib.stride_tricks.sliding_window_view(a, k, axis=(-2, -1))
    return view[..., :: s[0], :: s[1], :, :]


def _input_shape(input_shape: Any) -> tuple[int, int, int, int]:
    try:
        dims = tuple(int(d) for d in input_shape)
    except TypeError:
        raise ValueError(f"input_shape must be a tuple (N, C, H, W), got {input_shape!r}") from None
    if len(dims) != 4 or min(dims) < 1:
        raise ValueError(f"input_shape must be 4 positive ints, got {input_shape!r}")
    return dims  # type: ignore[return-value]


def _real_counts(xp: Any, hw: tuple, k: tuple, s: tuple, p: tuple, dtype: Any) -> Array:
    """How many real (non-padding) elements each window holds, shape (H_out, W_out)."""
    mask = xp.zeros((hw[0] + 2 * p[0], hw[1] + 2 * p[1]), dtype=dtype)
    mask[p[0] : p[0] + hw[0], p[1] : p[1] + hw[1]] = 1
    return _windows(xp, mask, k, s).sum(axis=(-2, -1))


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
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = _pool_setup(x.shape, kernel_size, stride, padding)
    _float_array(x, "x")
    n, c, h, w = x.shape
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf)
    win = _windows(xp, x_pad, (kh, kw), (sh, sw)).reshape(n, c, ho, wo, kh * kw)
    out = win.max(axis=-1)  # a NaN anywhere in the window makes the maximum NaN
    real = xp.zeros((h + 2 * ph, w + 2 * pw), dtype=bool)
    real[ph : ph + h, pw : pw + w] = True
    real_win = _windows(xp, real, (kh, kw), (sh, sw)).reshape(ho, wo, kh * kw)
    # first real element equal to the maximum (row-major window order)
    first_max = xp.argmax((win == out[..., None]) & real_win, axis=-1)
    # NaN windows: the last NaN is the switch (PyTorch replaces the maximum at every NaN)
    nans = xp.isnan(win)
    last_nan = kh * kw - 1 - xp.argmax(nans[..., ::-1], axis=-1)
    pick = xp.where(nans.any(axis=-1), last_nan, first_max)
    top = (xp.arange(ho) * sh - ph)[:, None]
    left = (xp.arange(wo) * sw - pw)[None, :]
    switches = (top + pick // kw) * w + (left + pick % kw)
    return out, switches.astype(xp.int64)


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
    n, c, h, w = _input_shape(input_shape)
    _float_array(dout, "dout")
    if dout.ndim != 4 or dout.shape[0] != n or dout.shape[1] != c:
        raise ValueError(f"dout must be (N, C, H_out, W_out) with N, C = {n}, {c}")
    if switches.shape != dout.shape:
        raise ValueError(f"switches {switches.shape} and dout {dout.shape} differ in shape")
    if switches.dtype.kind not in "iu":
        raise ValueError(f"switches must be integers, got {switches.dtype}")
    if switches.size and (int(switches.min()) < 0 or int(switches.max()) >= h * w):
        raise ValueError(f"a switch lies outside [0, H * W) = [0, {h * w})")
    plane_start = (xp.arange(n * c, dtype=xp.int64) * (h * w)).reshape(n, c, 1, 1)
    target = (plane_start + switches.astype(xp.int64)).ravel()
    dx = xp.zeros(n * c * h * w, dtype=dout.dtype)
    xp.add.at(dx, target, dout.ravel())
    return dx.reshape(n, c, h, w)


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
    k, s, (ph, pw), _ = _pool_setup(x.shape, kernel_size, stride, padding)
    _float_array(x, "x")
    h, w = x.shape[2], x.shape[3]
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(xp, x_pad, k, s)  # (N, C, H_out, W_out, kh, kw)
    if count_include_pad:
        return win.mean(axis=(-2, -1))
    return win.sum(axis=(-2, -1)) / _real_counts(xp, (h, w), k, s, (ph, pw), x.dtype)


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
    n, c, h, w = _input_shape(input_shape)
    k, s, (ph, pw), (ho, wo) = _pool_setup((n, c, h, w), kernel_size, stride, padding)
    _float_array(dout, "dout")
    if tuple(dout.shape) != (n, c, ho, wo):
        raise ValueError(f"dout must have shape {(n, c, ho, wo)}, got {tuple(dout.shape)}")
    if count_include_pad:
        share = dout / (k[0] * k[1])
    else:
        share = dout / _real_counts(xp, (h, w), k, s, (ph, pw), dout.dtype)
    hp, wp = h + 2 * ph, w + 2 * pw
    where = _windows(xp, xp.arange(hp * wp).reshape(hp, wp), k, s)  # (H_out, W_out, kh, kw)
    dx_pad = xp.zeros((n, c, hp * wp), dtype=dout.dtype)
    spread = xp.broadcast_to(share[..., None, None], (n, c, ho, wo, k[0], k[1]))
    xp.add.at(dx_pad, (slice(None), slice(None), where), spread)
    dx_pad = dx_pad.reshape(n, c, hp, wp)
    return xp.ascontiguousarray(dx_pad[:, :, ph : ph + h, pw : pw + w])


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
    if getattr(x, "ndim", 0) != 4:
        raise ValueError(f"expected an (N, C, H, W) input, got shape {tuple(x.shape)}")
    _float_array(x, "x")
    return x.sum(axis=(2, 3)) / (x.shape[2] * x.shape[3])


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
    n, c, h, w = _input_shape(input_shape)
    _float_array(dout, "dout")
    if tuple(dout.shape) != (n, c):
        raise ValueError(f"dout must have shape {(n, c)}, got {tuple(dout.shape)}")
    return xp.broadcast_to((dout / (h * w))[:, :, None, None], (n, c, h, w)).copy()
