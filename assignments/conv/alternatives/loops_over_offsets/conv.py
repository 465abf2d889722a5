"""VARIANT loops_over_offsets (alternative correct submission, used by the fairness tests).

How it differs from the reference: no im2col and no column matrix. The forward pass loops
over the KH * KW kernel offsets (u, v); for each offset it takes the strided slice of the
zero-padded input that tap (u, v) sees in every window and accumulates
``einsum("gfc,ngchw->ngfhw", w[..., u, v], slice)`` into the output (the sum over the taps is
done one offset at a time, the bias is added at the very end). The backward pass loops over
the same offsets: ``dw[..., u, v]`` is an einsum of ``dout`` with the slice, and the input
gradient is scattered back by adding into the strided slice of a padded buffer (``+=``), then
cropped. ``db`` is a plain sum. The depthwise-separable layer runs its depthwise part through
``conv_forward``/``conv_backward`` and its pointwise 1 x 1 part as an explicit channel-mixing
einsum. All arithmetic stays in the input dtype.

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


def _as_pair(value: Any, what: str, smallest: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints, each at least ``smallest``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair, got {value!r}")
        first, second = value
    else:
        first = second = value
    for item in (first, second):
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise ValueError(f"{what} must be made of ints, got {value!r}")
        if item < smallest:
            raise ValueError(f"{what} must be >= {smallest}, got {value!r}")
    return int(first), int(second)


def _setup(x: Array, w: Array, stride: Any, padding: Any, dilation: Any, groups: Any) -> tuple:
    """Check the arguments of a convolution; return its stride, padding, dilation, out size."""
    if len(getattr(x, "shape", ())) != 4:
        raise ValueError("x must be 4-D (N, C, H, W)")
    if len(getattr(w, "shape", ())) != 4:
        raise ValueError("w must be 4-D (F, C // groups, KH, KW)")
    if x.dtype.kind != "f":
        raise ValueError(f"x must be floating point, got {x.dtype}")
    if w.dtype != x.dtype:
        raise ValueError(f"w has dtype {w.dtype} but x has {x.dtype}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    n, c, h, width = x.shape
    f, cg, kh, kw = w.shape
    if 0 in (n, c, h, width, f, cg, kh, kw):
        raise ValueError("empty dimensions are not supported")
    if c % groups or f % groups:
        raise ValueError(f"groups={groups} must divide C={c} and F={f}")
    if cg != c // groups:
        raise ValueError(f"w.shape[1] should be C // groups = {c // groups}, got {cg}")
    sh, sw = _as_pair(stride, "stride", 1)
    ph, pw = _as_pair(padding, "padding", 0)
    dh, dw = _as_pair(dilation, "dilation", 1)
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(width, kw, sw, pw, dw)
    return (sh, sw), (ph, pw), (dh, dw), (ho, wo)


def _tap(u: int, v: int, stride: tuple, dilation: tuple, out_hw: tuple) -> tuple:
    """Index (over the last two axes) of what kernel tap (u, v) sees in every window."""
    r0, c0 = u * dilation[0], v * dilation[1]
    return (
        Ellipsis,
        slice(r0, r0 + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
        slice(c0, c0 + stride[1] * (out_hw[1] - 1) + 1, stride[1]),
    )


def _separable_shapes(x: Array, w_depthwise: Array, w_pointwise: Array) -> None:
    if len(getattr(x, "shape", ())) != 4:
        raise ValueError("x must be 4-D (N, C, H, W)")
    channels = x.shape[1]
    dw_shape = tuple(getattr(w_depthwise, "shape", ()))
    if len(dw_shape) != 4 or dw_shape[1] != 1 or dw_shape[0] < 1 or dw_shape[0] % channels:
        raise ValueError(f"w_depthwise must be (C * M, 1, KH, KW) with C = {channels}")
    pw_shape = tuple(getattr(w_pointwise, "shape", ()))
    if len(pw_shape) != 4 or pw_shape[1:] != (dw_shape[0], 1, 1):
        raise ValueError(f"w_pointwise must be (F, {dw_shape[0]}, 1, 1), got {pw_shape}")
    if w_pointwise.dtype != x.dtype:
        raise ValueError(f"w_pointwise has dtype {w_pointwise.dtype} but x has {x.dtype}")


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
    stride_hw, (ph, pw), dil_hw, out_hw = _setup(x, w, stride, padding, dilation, groups)
    n, _, h, width = x.shape
    f, cg, kh, kw = w.shape
    if b is not None:
        if tuple(getattr(b, "shape", ())) != (f,):
            raise ValueError(f"b must have shape ({f},), got {getattr(b, 'shape', None)}")
        if b.dtype != x.dtype:
            raise ValueError(f"b has dtype {b.dtype} but x has {x.dtype}")
    fg = f // groups
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant")
    x_pad = x_pad.reshape(n, groups, cg, h + 2 * ph, width + 2 * pw)
    w_groups = w.reshape(groups, fg, cg, kh, kw)
    out = xp.zeros((n, groups, fg, *out_hw), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            seen = x_pad[_tap(u, v, stride_hw, dil_hw, out_hw)]  # (n, groups, cg, ho, wo)
            out += xp.einsum("gfc,ngchw->ngfhw", w_groups[:, :, :, u, v], seen)
    out = out.reshape(n, f, *out_hw)
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
    stride_hw, (ph, pw), dil_hw, out_hw = _setup(x, w, stride, padding, dilation, groups)
    n, c, h, width = x.shape
    f, cg, kh, kw = w.shape
    if tuple(dout.shape) != (n, f, *out_hw):
        raise ValueError(f"dout must have shape {(n, f, *out_hw)}, got {tuple(dout.shape)}")
    if dout.dtype != x.dtype:
        raise ValueError(f"dout has dtype {dout.dtype} but x has {x.dtype}")
    fg = f // groups
    hp, wp = h + 2 * ph, width + 2 * pw
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant")
    x_pad = x_pad.reshape(n, groups, cg, hp, wp)
    w_groups = w.reshape(groups, fg, cg, kh, kw)
    dout_groups = dout.reshape(n, groups, fg, *out_hw)
    dx_pad = xp.zeros((n, groups, cg, hp, wp), dtype=x.dtype)
    dw = xp.zeros((groups, fg, cg, kh, kw), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            where = _tap(u, v, stride_hw, dil_hw, out_hw)
            dw[:, :, :, u, v] = xp.einsum("ngfhw,ngchw->gfc", dout_groups, x_pad[where])
            dx_pad[where] += xp.einsum("gfc,ngfhw->ngchw", w_groups[:, :, :, u, v], dout_groups)
    dx = xp.ascontiguousarray(dx_pad.reshape(n, c, hp, wp)[:, :, ph : ph + h, pw : pw + width])
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw.reshape(f, cg, kh, kw), db


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
    _separable_shapes(x, w_depthwise, w_pointwise)
    xp = get_array_module(x)
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=x.shape[1])
    # the pointwise 1 x 1 convolution is a matrix product over the channel axis at every pixel
    out = xp.einsum("fc,nchw->nfhw", w_pointwise[:, :, 0, 0], h)
    if b_pointwise is not None:
        if tuple(b_pointwise.shape) != (w_pointwise.shape[0],) or b_pointwise.dtype != x.dtype:
            raise ValueError(f"b_pointwise must be ({w_pointwise.shape[0]},) of dtype {x.dtype}")
        out = out + b_pointwise[None, :, None, None]
    return out


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
    _separable_shapes(x, w_depthwise, w_pointwise)
    xp = get_array_module(dout, x)
    channels = x.shape[1]
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=channels)
    f = w_pointwise.shape[0]
    if tuple(dout.shape) != (h.shape[0], f, *h.shape[2:]) or dout.dtype != x.dtype:
        raise ValueError(f"dout must be {(h.shape[0], f, *h.shape[2:])} of dtype {x.dtype}")
    w_mix = w_pointwise[:, :, 0, 0]
    dh = xp.einsum("fc,nfhw->nchw", w_mix, dout)
    dw_pointwise = xp.einsum("nfhw,nchw->fc", dout, h).reshape(w_pointwise.shape)
    db_pointwise = dout.sum(axis=(0, 2, 3))
    dx, dw_depthwise, db_depthwise = conv_backward(
        dh, x, w_depthwise, stride, padding, dilation, groups=channels
    )
    return {
        "dx": dx,
        "dw_depthwise": dw_depthwise,
        "db_depthwise": db_depthwise,
        "dw_pointwise": dw_pointwise,
        "db_pointwise": db_pointwise,
    }
