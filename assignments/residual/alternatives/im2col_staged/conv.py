"""Alternative correct submission, variant ``im2col_staged`` (conv part).

How it differs from the reference: im2col with rows = output pixels (CS231n layout): the
padded input (``xp.pad``) is cut into windows with ``sliding_window_view`` and laid out as
``(N, G, H_out * W_out, C_g * KH * KW)``, and the forward pass is ``cols @ w_mat.T`` per group,
with the bias added afterwards by broadcasting (not as an extra row of ones). The backward pass
recomputes the same columns: ``dw = sum_n dout @ cols``, ``dcols = dout.T @ w_mat``, and col2im
adds each kernel tap's slice of ``dcols`` back into a zero padded gradient with strided slice
assignments; ``db`` is a plain sum of ``dout``. No blocking over examples.

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


def _as_pair(value: Any, name: str, low: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {value!r}")
        a, b = value
    else:
        a = b = value
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be int(s) >= {low}, got {value!r}")
    return int(a), int(b)


def _setup(x: Array, w: Array, stride: Any, padding: Any, dilation: Any, groups: Any) -> tuple:
    """Validate the arguments; return (stride, padding, dilation, (H_out, W_out))."""
    if getattr(x, "ndim", None) != 4 or getattr(w, "ndim", None) != 4:
        raise ValueError("x must be (N, C, H, W) and w must be (F, C // groups, KH, KW)")
    if x.dtype.kind != "f" or w.dtype != x.dtype:
        raise ValueError(f"x and w must share a floating dtype, got {x.dtype} and {w.dtype}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    _, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if c % groups or f % groups or cg * groups != c:
        raise ValueError(
            f"groups={groups} must divide C={c} and F={f}, and w.shape[1] must be C // groups"
        )
    if 0 in x.shape or 0 in w.shape:
        raise ValueError("empty arrays are not supported")
    s = _as_pair(stride, "stride", 1)
    p = _as_pair(padding, "padding", 0)
    d = _as_pair(dilation, "dilation", 1)
    ho = conv_output_size(h, kh, s[0], p[0], d[0])
    wo = conv_output_size(wd, kw, s[1], p[1], d[1])
    return s, p, d, (ho, wo)


def _im2col(x: Array, kh: int, kw: int, s: tuple, p: tuple, d: tuple, groups: int) -> Array:
    """cols[n, g, i * W_out + j, (c, u, v)] = x_pad[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw]."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    x_pad = xp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    win = xp.lib.stride_tricks.sliding_window_view(
        x_pad, (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1), axis=(2, 3)
    )[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]
    ho, wo = win.shape[2], win.shape[3]
    win = win.reshape(n, groups, c // groups, ho, wo, kh, kw).transpose(0, 1, 3, 4, 2, 5, 6)
    return win.reshape(n, groups, ho * wo, (c // groups) * kh * kw)


def _col2im(
    dcols: Array, x_shape: tuple, kh: int, kw: int, s: tuple, p: tuple, d: tuple, out_hw: tuple
) -> Array:
    """Adjoint of _im2col: every tap adds its columns back where it read them."""
    xp = get_array_module(dcols)
    n, c, h, wd = x_shape
    groups = dcols.shape[1]
    ho, wo = out_hw
    cols = dcols.reshape(n, groups, ho, wo, c // groups, kh, kw)
    dx_pad = xp.zeros((n, groups, c // groups, h + 2 * p[0], wd + 2 * p[1]), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            r0, c0 = u * d[0], v * d[1]
            rows = slice(r0, r0 + s[0] * (ho - 1) + 1, s[0])
            colz = slice(c0, c0 + s[1] * (wo - 1) + 1, s[1])
            dx_pad[:, :, :, rows, colz] += cols[:, :, :, :, :, u, v].transpose(0, 1, 4, 2, 3)
    dx_pad = dx_pad.reshape(n, c, h + 2 * p[0], wd + 2 * p[1])
    return xp.ascontiguousarray(dx_pad[:, :, p[0] : p[0] + h, p[1] : p[1] + wd])


def _check_separable_weights(x: Array, w_depthwise: Array, w_pointwise: Array) -> None:
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"x must be (N, C, H, W), got {getattr(x, 'shape', x)}")
    c = x.shape[1]
    wd_shape = getattr(w_depthwise, "shape", ())
    if len(wd_shape) != 4 or wd_shape[1] != 1 or wd_shape[0] < 1 or wd_shape[0] % c:
        raise ValueError(f"w_depthwise must be (C * M, 1, KH, KW) with C = {c}, got {wd_shape}")
    wp_shape = getattr(w_pointwise, "shape", ())
    if len(wp_shape) != 4 or tuple(wp_shape[1:]) != (wd_shape[0], 1, 1):
        raise ValueError(f"w_pointwise must be (F, {wd_shape[0]}, 1, 1), got {wp_shape}")


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
    s, p, d, (ho, wo) = _setup(x, w, stride, padding, dilation, groups)
    n = x.shape[0]
    f, cg, kh, kw = w.shape
    if b is not None and (getattr(b, "shape", None) != (f,) or b.dtype != x.dtype):
        raise ValueError(f"b must be None or an array of shape ({f},) and dtype {x.dtype}")
    fg = f // groups
    cols = _im2col(x, kh, kw, s, p, d, groups)  # (N, G, P, K)
    w_mat = w.reshape(groups, fg, cg * kh * kw)  # (G, Fg, K)
    out = cols @ w_mat.transpose(0, 2, 1)  # (N, G, P, Fg)
    out = out.transpose(0, 1, 3, 2).reshape(n, f, ho, wo)
    if b is not None:
        out = out + b.reshape(1, f, 1, 1)
    return out


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
    s, p, d, (ho, wo) = _setup(x, w, stride, padding, dilation, groups)
    n = x.shape[0]
    f, cg, kh, kw = w.shape
    if getattr(dout, "shape", None) != (n, f, ho, wo) or dout.dtype != x.dtype:
        raise ValueError(f"dout must have shape {(n, f, ho, wo)} and dtype {x.dtype}")
    fg = f // groups
    cols = _im2col(x, kh, kw, s, p, d, groups)  # (N, G, P, K)
    w_mat = w.reshape(groups, fg, cg * kh * kw)
    dy = dout.reshape(n, groups, fg, ho * wo)  # (N, G, Fg, P)
    db = dout.sum(axis=(0, 2, 3))
    dw = (dy @ cols).sum(axis=0).reshape(f, cg, kh, kw)
    dcols = dy.transpose(0, 1, 3, 2) @ w_mat  # (N, G, P, K)
    dx = _col2im(dcols, x.shape, kh, kw, s, p, d, (ho, wo))
    return dx, xp.ascontiguousarray(dw), db


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
    _check_separable_weights(x, w_depthwise, w_pointwise)
    c = x.shape[1]
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=c)
    return conv_forward(h, w_pointwise, b_pointwise, stride=1, padding=0)


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
    _check_separable_weights(x, w_depthwise, w_pointwise)
    c = x.shape[1]
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=c)
    dh, dw_pw, db_pw = conv_backward(dout, h, w_pointwise, stride=1, padding=0)
    dx, dw_dw, db_dw = conv_backward(dh, x, w_depthwise, stride, padding, dilation, groups=c)
    return {
        "dx": dx,
        "dw_depthwise": dw_dw,
        "db_depthwise": db_dw,
        "dw_pointwise": dw_pw,
        "db_pointwise": db_pw,
    }
