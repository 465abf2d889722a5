"""VARIANT im2col_float64 (alternative correct submission, used by the fairness tests).

How it differs from the reference: CS231n-style im2col with explicit index arrays, computed
in float64 inside and cast back to the input dtype at the end (float64 inside, float32
outside). The forward pass gathers every window of the zero-padded float64 input with fancy
indexing ``x_pad[:, :, rows, cols]`` (no sliding-window view, no blocking over examples),
multiplies by the weight matrix with one batched ``matmul`` and adds the bias afterwards
(not as an extra row of ones). The backward pass computes ``dcols = w^T @ dout`` and scatters
the columns back with ``xp.add.at`` over the same index arrays (col2im), ``dw`` as
``dout @ cols^T`` summed over the batch, ``db`` as a float64 sum. The depthwise-separable layer
is the plain composition of ``conv_forward``/``conv_backward``.

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


def _int_pair(value: Any, label: str, low: int) -> tuple[int, int]:
    pair = list(value) if isinstance(value, (tuple, list)) else [value, value]
    ok = len(pair) == 2 and all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool) and p >= low for p in pair
    )
    if not ok:
        raise ValueError(f"{label} must be an int >= {low} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _conv_config(
    x: Array, w: Array, stride: Any, padding: Any, dilation: Any, groups: Any
) -> dict[str, Any]:
    """Validate a convolution call and collect its geometry in a dict."""
    if getattr(x, "ndim", 0) != 4 or getattr(w, "ndim", 0) != 4:
        raise ValueError("x must be (N, C, H, W) and w (F, C // groups, KH, KW), both 4-D")
    if x.dtype.kind != "f" or x.dtype != w.dtype:
        raise ValueError(f"x and w need one floating dtype, got {x.dtype} and {w.dtype}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be an int >= 1, got {groups!r}")
    n, c, h, width = (int(s) for s in x.shape)
    f, cg, kh, kw = (int(s) for s in w.shape)
    g = int(groups)
    if min(n, c, h, width, f, cg, kh, kw) == 0:
        raise ValueError("empty arrays are not supported")
    if c % g != 0 or f % g != 0 or cg * g != c:
        raise ValueError(
            f"groups={g} must divide C={c} and F={f}, and w.shape[1] must be C // groups"
        )
    sh, sw = _int_pair(stride, "stride", 1)
    ph, pw = _int_pair(padding, "padding", 0)
    dh, dw = _int_pair(dilation, "dilation", 1)
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(width, kw, sw, pw, dw)
    return dict(n=n, c=c, h=h, w=width, f=f, cg=cg, kh=kh, kw=kw, g=g,
                sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw, ho=ho, wo=wo)  # fmt: skip


def _window_indices(xp: Any, cfg: dict[str, Any]) -> tuple[Array, Array]:
    """Row and column indices into the padded plane, shaped to broadcast to (KH, KW, Ho, Wo)."""
    rows = xp.arange(cfg["kh"])[:, None] * cfg["dh"] + xp.arange(cfg["ho"])[None, :] * cfg["sh"]
    cols = xp.arange(cfg["kw"])[:, None] * cfg["dw"] + xp.arange(cfg["wo"])[None, :] * cfg["sw"]
    return rows[:, None, :, None], cols[None, :, None, :]


def _im2col(xp: Any, x: Array, cfg: dict[str, Any]) -> tuple[Array, Array, Array]:
    """float64 columns (N, G, Cg*KH*KW, Ho*Wo) of x, and the index arrays used."""
    ph, pw = cfg["ph"], cfg["pw"]
    x_pad = xp.pad(x.astype(xp.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows, cols = _window_indices(xp, cfg)
    patches = x_pad[:, :, rows, cols]  # (N, C, KH, KW, Ho, Wo)
    k = cfg["cg"] * cfg["kh"] * cfg["kw"]
    return patches.reshape(cfg["n"], cfg["g"], k, cfg["ho"] * cfg["wo"]), rows, cols


def _check_separable_weights(x: Array, w_depthwise: Array, w_pointwise: Array) -> int:
    """Check the two weights of a depthwise-separable convolution; return C * M."""
    if getattr(x, "ndim", 0) != 4:
        raise ValueError("x must have shape (N, C, H, W)")
    c = int(x.shape[1])
    if getattr(w_depthwise, "ndim", 0) != 4:
        raise ValueError("w_depthwise must have shape (C * M, 1, KH, KW)")
    cm = int(w_depthwise.shape[0])
    if w_depthwise.shape[1] != 1 or cm == 0 or cm % c != 0:
        raise ValueError(f"w_depthwise must have shape (C * M, 1, KH, KW) with C = {c}")
    if getattr(w_pointwise, "ndim", 0) != 4 or tuple(w_pointwise.shape[1:]) != (cm, 1, 1):
        raise ValueError(f"w_pointwise must have shape (F, {cm}, 1, 1)")
    return cm


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
    cfg = _conv_config(x, w, stride, padding, dilation, groups)
    if b is not None and (getattr(b, "shape", None) != (cfg["f"],) or b.dtype != x.dtype):
        raise ValueError(f"b must be None or an array of shape ({cfg['f']},) and dtype {x.dtype}")
    g, fg = cfg["g"], cfg["f"] // cfg["g"]
    columns, _, _ = _im2col(xp, x, cfg)
    w_mat = w.astype(xp.float64).reshape(g, fg, -1)
    out = xp.matmul(w_mat, columns)  # (N, G, F/G, Ho*Wo), float64
    if b is not None:
        out += b.astype(xp.float64).reshape(g, fg, 1)
    return out.reshape(cfg["n"], cfg["f"], cfg["ho"], cfg["wo"]).astype(x.dtype)


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
    cfg = _conv_config(x, w, stride, padding, dilation, groups)
    n, f, ho, wo = cfg["n"], cfg["f"], cfg["ho"], cfg["wo"]
    if getattr(dout, "shape", None) != (n, f, ho, wo) or dout.dtype != x.dtype:
        raise ValueError(f"dout must have shape {(n, f, ho, wo)} and dtype {x.dtype}")
    g = cfg["g"]
    fg = f // g
    columns, rows, cols = _im2col(xp, x, cfg)
    d = dout.astype(xp.float64).reshape(n, g, fg, ho * wo)
    w_mat = w.astype(xp.float64).reshape(g, fg, -1)
    dw = xp.matmul(d, columns.transpose(0, 1, 3, 2)).sum(axis=0)  # (G, F/G, Cg*KH*KW)
    db = d.sum(axis=(0, 3)).reshape(f)
    dcols = xp.matmul(w_mat.transpose(0, 2, 1), d)  # (N, G, Cg*KH*KW, Ho*Wo)
    dcols = dcols.reshape(n, cfg["c"], cfg["kh"], cfg["kw"], ho, wo)
    ph, pw = cfg["ph"], cfg["pw"]
    dx_pad = xp.zeros((n, cfg["c"], cfg["h"] + 2 * ph, cfg["w"] + 2 * pw), dtype=xp.float64)
    xp.add.at(dx_pad, (slice(None), slice(None), rows, cols), dcols)  # col2im
    dx = dx_pad[:, :, ph : ph + cfg["h"], pw : pw + cfg["w"]].astype(x.dtype)
    return dx, dw.reshape(w.shape).astype(x.dtype), db.astype(x.dtype)


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
    channels = int(x.shape[1])
    depthwise = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, channels)
    return conv_forward(depthwise, w_pointwise, b_pointwise, 1, 0, 1, 1)


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
    channels = int(x.shape[1])
    depthwise = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, channels)
    d_depthwise, dw_pointwise, db_pointwise = conv_backward(
        dout, depthwise, w_pointwise, 1, 0, 1, 1
    )
    dx, dw_depthwise, db_depthwise = conv_backward(
        d_depthwise, x, w_depthwise, stride, padding, dilation, channels
    )
    grads = {"dx": dx, "dw_depthwise": dw_depthwise, "db_depthwise": db_depthwise}
    grads.update(dw_pointwise=dw_pointwise, db_pointwise=db_pointwise)
    return grads
