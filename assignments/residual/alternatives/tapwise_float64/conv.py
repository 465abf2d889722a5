"""Alternative correct submission, variant ``tapwise_float64`` (conv part).

How it differs from the reference: no im2col matrix at all. The convolution is accumulated
one kernel tap ``(u, v)`` at a time ("shift and multiply"): for each tap, the strided slice of
the zero padded input that the tap reads is contracted with ``w[:, :, u, v]`` by a batched
matrix product per group and added into the output. The backward pass loops over the same
taps: ``dw[:, :, u, v]`` is the product of ``dout`` with that slice, and ``w[:, :, u, v].T @
dout`` is added back into the padded input gradient at that slice. Everything is computed in
float64 and cast back to the dtype of ``x`` at the end. The pointwise (1x1) half of the
depthwise separable convolution is written directly as an ``einsum`` over channels.

2-D convolution layers: forward and backward, with stride, padding, dilation and groups.

Conventions
-----------
* Layout is NCHW. An input batch ``x`` has shape ``(N, C, H, W)``: ``N`` examples, ``C``
  channels, height ``H``, width ``W``. Filters ``w`` have shape ``(F, C // groups, KH, KW)``:
  ``F`` output channels (filters), each seeing ``C // groups`` input channels through a
  ``KH x KW`` kernel. The bias ``b`` has shape ``(F,)`` (or is ``None``: no bias).
* The operation is cross-correlation (the kernel is NOT flipped), exactly as in
  ``torch.nn.functional.conv2d`` -- what deep-learning libraries call "convolution":

      out[n, f, i, j] = b[f] + sum over c, u, v of
          w[f, c, u, v] * x_pad[n, g * Cg + c, i * sh + u * dh, j * sw + v * dw]

  where ``x_pad`` is ``x`` with ``padding`` rows/columns of zeros added on every side,
  ``(sh, sw)`` is the stride, ``(dh, dw)`` the dilation, ``Cg = C // groups`` and
  ``g = f // (F // groups)`` is the group that filter ``f`` belongs to.
* ``stride``, ``padding`` and ``dilation`` are each an int (same value for height and width)
  or a pair ``(height, width)``, e.g. ``stride=(2, 1)``. Padding is zero padding, added
  symmetrically: ``padding=(1, 2)`` adds 1 row at the top and 1 at the bottom, 2 columns on the
  left and 2 on the right.
* Dilation spreads the kernel taps apart: with ``dilation=2`` a 3 x 3 kernel touches the input
  on a 5 x 5 footprint (every other row and column).
* Groups split the channels into ``groups`` independent convolutions: input channels
  ``[g * C/groups, (g + 1) * C/groups)`` feed output channels
  ``[g * F/groups, (g + 1) * F/groups)`` only. ``groups=1`` is an ordinary convolution;
  ``groups=C`` is a *depthwise* convolution (each channel filtered on its own).
* Output size per spatial dimension (``conv_output_size`` below computes it):
  ``out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``.
  Rows/columns at the bottom/right that do not fill a whole (strided) window are ignored.
* Functions never modify their inputs. Outputs have the dtype of the input ``x`` (float32 in,
  float32 out); ``x``, ``w``, ``b`` and ``dout`` must share one floating dtype.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
  Loops over the ``KH * KW`` kernel offsets are fine; loops over examples, channels or output
  pixels are not (they are far too slow). ``xp.lib.stride_tricks.sliding_window_view`` and
  ``xp.matmul`` / ``xp.einsum`` / ``xp.tensordot`` are your friends.
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


def _int_pair(value: Any, what: str, smallest: int) -> tuple[int, int]:
    pair = list(value) if isinstance(value, (tuple, list)) else [value, value]
    ok = len(pair) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= smallest for v in pair
    )
    if not ok:
        raise ValueError(f"{what} must be an int >= {smallest} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _geometry(x: Array, w: Array, stride: Any, padding: Any, dilation: Any, groups: Any):
    if getattr(x, "ndim", 0) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {getattr(x, 'shape', x)}")
    if getattr(w, "ndim", 0) != 4:
        raise ValueError(
            f"w must have shape (F, C // groups, KH, KW), got {getattr(w, 'shape', w)}"
        )
    if x.dtype.kind != "f" or x.dtype != w.dtype:
        raise ValueError(f"x and w must have the same floating dtype, got {x.dtype}, {w.dtype}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if c % groups != 0 or f % groups != 0:
        raise ValueError(f"groups={groups} must divide both C={c} and F={f}")
    if cg != c // groups:
        raise ValueError(f"w.shape[1] must be C // groups = {c // groups}, got {cg}")
    if min(n, c, h, wd, f, kh, kw) == 0:
        raise ValueError("empty dimensions are not supported")
    sh, sw = _int_pair(stride, "stride", 1)
    ph, pw = _int_pair(padding, "padding", 0)
    dh, dw = _int_pair(dilation, "dilation", 1)
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(wd, kw, sw, pw, dw)
    return (sh, sw), (ph, pw), (dh, dw), (ho, wo)


def _tap_slices(u: int, v: int, s: tuple, d: tuple, out_hw: tuple) -> tuple[slice, slice]:
    """Rows and columns of the padded input that kernel tap (u, v) reads, for every output."""
    rows = slice(u * d[0], u * d[0] + s[0] * (out_hw[0] - 1) + 1, s[0])
    cols = slice(v * d[1], v * d[1] + s[1] * (out_hw[1] - 1) + 1, s[1])
    return rows, cols


def _padded64(x: Array, p: tuple, groups: int) -> Array:
    """x in float64, zero padded, viewed as (N, G, C // G, H + 2 ph, W + 2 pw)."""
    xp = get_array_module(x)
    n, c, h, wd = x.shape
    out = xp.zeros((n, c, h + 2 * p[0], wd + 2 * p[1]), dtype=xp.float64)
    out[:, :, p[0] : p[0] + h, p[1] : p[1] + wd] = x
    return out.reshape(n, groups, c // groups, h + 2 * p[0], wd + 2 * p[1])


def _check_dsc(x: Array, w_depthwise: Array, w_pointwise: Array) -> None:
    if getattr(x, "ndim", 0) != 4:
        raise ValueError("x must have shape (N, C, H, W)")
    c = x.shape[1]
    if (
        getattr(w_depthwise, "ndim", 0) != 4
        or w_depthwise.shape[1] != 1
        or w_depthwise.shape[0] == 0
        or w_depthwise.shape[0] % c != 0
    ):
        raise ValueError(f"w_depthwise must have shape (C * M, 1, KH, KW), C = {c}")
    cm = w_depthwise.shape[0]
    if getattr(w_pointwise, "ndim", 0) != 4 or tuple(w_pointwise.shape[1:]) != (cm, 1, 1):
        raise ValueError(f"w_pointwise must have shape (F, {cm}, 1, 1)")
    if w_pointwise.dtype != x.dtype:
        raise ValueError("w_pointwise must have the dtype of x")


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution along one spatial dimension (this helper is given).

    ``out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``

    The dilated kernel covers ``dilation * (kernel - 1) + 1`` input positions; it is slid over
    the padded input (length ``size + 2 * padding``) in steps of ``stride``, and only positions
    where it fits entirely count. Examples: ``conv_output_size(32, 3, 1, 1, 1) == 32`` ("same"
    convolution), ``conv_output_size(7, 3, 2, 1, 1) == 4``, ``conv_output_size(5, 3, 1, 0, 2)
    == 1``.

    Args:
        size: input length (height or width), >= 1.
        kernel: kernel length, >= 1.
        stride: step between windows, >= 1.
        padding: zeros added on each side, >= 0.
        dilation: spacing between kernel taps, >= 1.

    Returns:
        The output length, an int >= 1.

    Raises:
        ValueError: if an argument is out of range, or if the dilated kernel is larger than
            the padded input (the output would be empty).
    """
    if size < 1 or kernel < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise ValueError(
            f"invalid convolution geometry: size={size}, kernel={kernel}, stride={stride}, "
            f"padding={padding}, dilation={dilation} (need size, kernel, stride, dilation >= 1 "
            f"and padding >= 0)"
        )
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(
            f"the dilated kernel (footprint {dilation * (kernel - 1) + 1}) is larger than the "
            f"padded input (size {size} + 2 * padding {padding} = {size + 2 * padding}): the "
            f"output would be empty"
        )
    return int(out)


def conv_forward(
    x: Array,
    w: Array,
    b: Array | None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Array:
    """Forward pass of a 2-D convolution (cross-correlation), like ``torch.nn.functional.conv2d``.

    ``out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] *
    x_pad[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw]`` with ``Cg = C // groups`` and
    ``g = f // (F // groups)`` (see the module docstring).

    Args:
        x: input, shape ``(N, C, H, W)``, a floating dtype (float32 or float64).
        w: filters, shape ``(F, C // groups, KH, KW)``, same dtype as ``x``.
        b: bias, shape ``(F,)``, same dtype as ``x``; or ``None`` for no bias.
        stride: int or ``(sh, sw)``, each >= 1.
        padding: int or ``(ph, pw)``, each >= 0: zeros added on both sides of each dimension.
        dilation: int or ``(dh, dw)``, each >= 1: spacing between kernel taps.
        groups: int >= 1 dividing both ``C`` and ``F``.

    Returns:
        ``out`` of shape ``(N, F, H_out, W_out)`` and the dtype of ``x``, where
        ``H_out = conv_output_size(H, KH, sh, ph, dh)`` and
        ``W_out = conv_output_size(W, KW, sw, pw, dw)``.

    Raises:
        ValueError: if ``x`` or ``w`` is not 4-D, the dtypes differ or are not floating,
            ``groups`` does not divide ``C`` or ``F``, ``w.shape[1] != C // groups``, ``b`` is
            not ``None`` and not of shape ``(F,)``, a hyper-parameter is out of range, or the
            output would be empty.
    """
    xp = get_array_module(x, w)
    s, p, d, (ho, wo) = _geometry(x, w, stride, padding, dilation, groups)
    n = x.shape[0]
    f, cg, kh, kw = w.shape
    if b is not None:
        if getattr(b, "shape", None) != (f,) or b.dtype != x.dtype:
            raise ValueError(f"b must be None or of shape ({f},) and dtype {x.dtype}")
    fg = f // groups
    x_pad = _padded64(x, p, groups)
    w64 = w.astype(xp.float64).reshape(groups, fg, cg, kh, kw)
    out = xp.zeros((n, groups, fg, ho * wo), dtype=xp.float64)
    for u in range(kh):
        for v in range(kw):
            rows, cols = _tap_slices(u, v, s, d, (ho, wo))
            patch = x_pad[:, :, :, rows, cols].reshape(n, groups, cg, ho * wo)
            out += w64[:, :, :, u, v] @ patch  # (G, Fg, Cg) @ (N, G, Cg, P)
    out = out.reshape(n, f, ho, wo)
    if b is not None:
        out += b.astype(xp.float64).reshape(1, f, 1, 1)
    return out.astype(x.dtype)


def conv_backward(
    dout: Array,
    x: Array,
    w: Array,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[Array, Array, Array]:
    """Backward pass of ``conv_forward``: gradients of the loss w.r.t. x, w and b.

    Given ``dout = dL/dout``, with the same ``x``, ``w`` and hyper-parameters as the forward
    call (the bias does not influence any gradient, so it is not an argument):

    * ``dx[n, g*Cg + c, y, z] = sum over f in group g and u, v, i, j with
      i*sh + u*dh - ph == y and j*sw + v*dw - pw == z of w[f, c, u, v] * dout[n, f, i, j]``
      (every input pixel collects the gradient of every window it took part in; padding
      positions receive gradient too, but they are not inputs, so it is discarded).
    * ``dw[f, c, u, v] = sum_{n, i, j} dout[n, f, i, j] * x_pad[n, g*Cg + c, i*sh + u*dh,
      j*sw + v*dw]``.
    * ``db[f] = sum_{n, i, j} dout[n, f, i, j]``.

    Args:
        dout: upstream gradient, shape ``(N, F, H_out, W_out)`` (the forward output's shape),
            same dtype as ``x``.
        x: the forward input, shape ``(N, C, H, W)``.
        w: the filters, shape ``(F, C // groups, KH, KW)``.
        stride, padding, dilation, groups: as in ``conv_forward``.

    Returns:
        ``(dx, dw, db)``: arrays shaped like ``x``, ``w`` and ``(F,)``, in the dtype of ``x``.
        ``db`` is always returned, whether or not the forward pass used a bias.

    Raises:
        ValueError: for the argument errors of ``conv_forward``, and if ``dout`` does not have
            the shape ``(N, F, H_out, W_out)`` of the forward output or the dtype of ``x``.
    """
    xp = get_array_module(dout, x, w)
    s, p, d, (ho, wo) = _geometry(x, w, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if getattr(dout, "shape", None) != (n, f, ho, wo):
        raise ValueError(
            f"dout must have shape {(n, f, ho, wo)}, got {getattr(dout, 'shape', dout)}"
        )
    if dout.dtype != x.dtype:
        raise ValueError(f"dout must have dtype {x.dtype}, got {dout.dtype}")
    fg = f // groups
    x_pad = _padded64(x, p, groups)
    w64 = w.astype(xp.float64).reshape(groups, fg, cg, kh, kw)
    dy = dout.astype(xp.float64).reshape(n, groups, fg, ho * wo)
    dw64 = xp.zeros((groups, fg, cg, kh, kw), dtype=xp.float64)
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.float64)
    for u in range(kh):
        for v in range(kw):
            rows, cols = _tap_slices(u, v, s, d, (ho, wo))
            patch = x_pad[:, :, :, rows, cols].reshape(n, groups, cg, ho * wo)
            dw64[:, :, :, u, v] = (dy @ patch.transpose(0, 1, 3, 2)).sum(axis=0)
            back = w64[:, :, :, u, v].transpose(0, 2, 1) @ dy  # (N, G, Cg, P)
            dx_pad[:, :, :, rows, cols] += back.reshape(n, groups, cg, ho, wo)
    db = dy.sum(axis=3).sum(axis=0).reshape(f)
    dx = dx_pad.reshape(n, c, h + 2 * p[0], wd + 2 * p[1])[:, :, p[0] : p[0] + h, p[1] : p[1] + wd]
    return dx.astype(x.dtype), dw64.reshape(f, cg, kh, kw).astype(x.dtype), db.astype(x.dtype)


def depthwise_separable_forward(
    x: Array,
    w_depthwise: Array,
    w_pointwise: Array,
    b_depthwise: Array | None = None,
    b_pointwise: Array | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Array:
    """Depthwise separable convolution (as in MobileNet), built from ``conv_forward``.

    Two convolutions in a row, with no non-linearity between them:

    1. depthwise: ``h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation,
       groups=C)`` -- each input channel is filtered on its own by ``M`` kernels (the
       *channel multiplier*), giving ``C * M`` channels; channel ``c * M + m`` of ``h`` is
       input channel ``c`` filtered by ``w_depthwise[c * M + m, 0]``;
    2. pointwise: ``out = conv_forward(h, w_pointwise, b_pointwise)`` -- a 1 x 1 convolution
       (stride 1, no padding) that mixes the ``C * M`` channels into ``F`` outputs.

    Args:
        x: input, shape ``(N, C, H, W)``, a floating dtype.
        w_depthwise: shape ``(C * M, 1, KH, KW)``, ``M >= 1``.
        w_pointwise: shape ``(F, C * M, 1, 1)``.
        b_depthwise: shape ``(C * M,)`` or ``None``.
        b_pointwise: shape ``(F,)`` or ``None``.
        stride, padding, dilation: of the depthwise convolution, as in ``conv_forward``.

    Returns:
        ``out`` of shape ``(N, F, H_out, W_out)`` (``H_out``, ``W_out`` as for the depthwise
        convolution), dtype of ``x``.

    Raises:
        ValueError: if ``w_depthwise`` is not ``(C * M, 1, KH, KW)``, ``w_pointwise`` is not
            ``(F, C * M, 1, 1)``, or for any error ``conv_forward`` reports.
    """
    xp = get_array_module(x, w_depthwise, w_pointwise)
    _check_dsc(x, w_depthwise, w_pointwise)
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=x.shape[1])
    if b_pointwise is not None and (
        getattr(b_pointwise, "shape", None) != (w_pointwise.shape[0],)
        or b_pointwise.dtype != x.dtype
    ):
        raise ValueError(
            f"b_pointwise must have shape ({w_pointwise.shape[0]},) and dtype {x.dtype}"
        )
    # a 1x1 convolution only mixes channels
    out = xp.einsum("fk,nkhw->nfhw", w_pointwise[:, :, 0, 0], h)
    if b_pointwise is not None:
        out = out + b_pointwise.reshape(1, -1, 1, 1)
    return out.astype(x.dtype, copy=False)


def depthwise_separable_backward(
    dout: Array,
    x: Array,
    w_depthwise: Array,
    w_pointwise: Array,
    b_depthwise: Array | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> dict[str, Array]:
    """Backward pass of ``depthwise_separable_forward``, built from ``conv_backward``.

    The intermediate ``h`` (the depthwise output) is not passed in: recompute it with
    ``conv_forward`` (it needs ``b_depthwise``, since ``h`` includes that bias and the
    pointwise weight gradient depends on ``h``). Then back-propagate through the pointwise
    convolution (giving ``dh``) and through the depthwise one. ``b_pointwise`` does not
    influence any gradient, so it is not an argument.

    Args:
        dout: upstream gradient, shape ``(N, F, H_out, W_out)``, dtype of ``x``.
        x, w_depthwise, w_pointwise, b_depthwise, stride, padding, dilation: as passed to
            ``depthwise_separable_forward``.

    Returns:
        A dict of five arrays, each in the dtype of ``x``:
        ``"dx"`` shaped like ``x``; ``"dw_depthwise"`` like ``w_depthwise``;
        ``"db_depthwise"`` of shape ``(C * M,)``; ``"dw_pointwise"`` like ``w_pointwise``;
        ``"db_pointwise"`` of shape ``(F,)``. Both bias gradients are always returned, whether
        or not the forward pass used the biases.

    Raises:
        ValueError: for the argument errors of ``depthwise_separable_forward``, and if
            ``dout`` does not have the forward output's shape or dtype.
    """
    xp = get_array_module(dout, x, w_depthwise, w_pointwise)
    _check_dsc(x, w_depthwise, w_pointwise)
    c = x.shape[1]
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=c)
    f = w_pointwise.shape[0]
    if getattr(dout, "shape", None) != (h.shape[0], f, *h.shape[2:]) or dout.dtype != x.dtype:
        raise ValueError(
            f"dout must have shape {(h.shape[0], f, *h.shape[2:])} and dtype {x.dtype}"
        )
    wp = w_pointwise[:, :, 0, 0]
    dh = xp.einsum("fk,nfhw->nkhw", wp, dout)
    dw_pointwise = xp.einsum("nfhw,nkhw->fk", dout, h).reshape(w_pointwise.shape)
    db_pointwise = dout.sum(axis=(0, 2, 3))
    dx, dw_depthwise, db_depthwise = conv_backward(
        dh.astype(x.dtype, copy=False), x, w_depthwise, stride, padding, dilation, groups=c
    )
    return {
        "dx": dx,
        "dw_depthwise": dw_depthwise,
        "db_depthwise": db_depthwise,
        "dw_pointwise": dw_pointwise.astype(x.dtype, copy=False),
        "db_pointwise": db_pointwise.astype(x.dtype, copy=False),
    }
