"""2-D convolution layers: forward and backward, with stride, padding, dilation and groups.

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


# BEGIN SOLUTION
def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """Turn an int or a pair of ints into a pair, checking each is an int >= minimum."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _geometry(
    x: Array, w: Array, stride: Any, padding: Any, dilation: Any, groups: Any
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate a convolution's arguments; return (stride, padding, dilation, output size)."""
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {getattr(x, 'shape', x)}")
    if getattr(w, "ndim", None) != 4:
        raise ValueError(
            f"w must have shape (F, C // groups, KH, KW), got shape {getattr(w, 'shape', w)}"
        )
    if x.dtype.kind != "f" or w.dtype != x.dtype:
        raise ValueError(f"x and w must share one floating dtype, got x {x.dtype} and w {w.dtype}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if c % groups != 0:
        raise ValueError(f"the {c} input channels are not divisible by groups={groups}")
    if f % groups != 0:
        raise ValueError(f"the {f} filters (w.shape[0]) are not divisible by groups={groups}")
    if cg * groups != c:
        raise ValueError(
            f"w.shape[1] must be C // groups = {c} // {groups} = {c // groups}, got w of "
            f"shape {tuple(w.shape)} for x of shape {tuple(x.shape)}"
        )
    if min(n, c, h, wd, f, kh, kw) < 1:
        raise ValueError(
            f"empty dimensions are not supported: x {tuple(x.shape)}, w {tuple(w.shape)}"
        )
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    out = (
        conv_output_size(h, kh, s[0], p[0], d[0]),
        conv_output_size(wd, kw, s[1], p[1], d[1]),
    )
    return s, p, d, out


def _check_bias(b: Array | None, x: Array, f: int) -> None:
    if b is None:
        return
    if getattr(b, "shape", None) != (f,):
        raise ValueError(
            f"b must have shape (F,) = ({f},) or be None, got {getattr(b, 'shape', b)}"
        )
    if b.dtype != x.dtype:
        raise ValueError(f"b must have the dtype of x ({x.dtype}), got {b.dtype}")


def _block_size(xp: Any, n: int, bytes_per_example: int) -> int:
    """How many examples to process at once so that a block's temporaries fit _BLOCK_BYTES.

    Blocking is a CPU cache optimization; on the GPU the whole batch is one block.
    """
    if xp is not np:
        return n
    return max(1, min(n, _BLOCK_BYTES // max(1, bytes_per_example)))


# Temporaries (im2col columns) are bounded by this many bytes: large enough for efficient
# matrix products, small enough to stay in cache and to avoid fresh page faults on each call.
_BLOCK_BYTES = 4 << 20


# END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(x, w)
    (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _geometry(x, w, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    _check_bias(b, x, f)
    fg, kg = f // groups, cg * kh * kw
    # im2col + one batched matrix product per block of examples (blocks keep the column
    # matrix, KH*KW times the input, cache-sized). The bias rides along as an extra column
    # row of ones, so that the product adds it for free.
    w_mat = w.reshape(groups, fg, kg)
    if b is not None:
        w_mat = xp.concatenate([w_mat, b.reshape(groups, fg, 1)], axis=2)
    rows = w_mat.shape[2]  # kg, or kg + 1 with the row of ones
    block = _block_size(xp, n, groups * rows * ho * wo * x.itemsize)
    if ph or pw:
        x_pad = xp.zeros((block, c, h + 2 * ph, wd + 2 * pw), dtype=x.dtype)
    cols = xp.empty((block, groups, rows, ho * wo), dtype=x.dtype)
    cols[:, :, kg:] = 1
    out = xp.empty((n, f, ho, wo), dtype=x.dtype)
    for n0 in range(0, n, block):
        m = min(block, n - n0)
        if ph or pw:
            x_pad[:m, :, ph : ph + h, pw : pw + wd] = x[n0 : n0 + m]
            x_block = x_pad[:m]
        else:
            x_block = x[n0 : n0 + m]
        # windows[n, c, i, j, u, v] = x_pad[n, c, i*sh + u*dh, j*sw + v*dw]   (a view)
        windows = xp.lib.stride_tricks.sliding_window_view(
            x_block, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3)
        )[:, :, ::sh, ::sw, ::dh, ::dw]
        # cols[n, g, (c, u, v), (i, j)] = windows[n, g*cg + c, i, j, u, v]
        xp.copyto(
            cols[:m, :, :kg].reshape(m, groups, cg, kh, kw, ho, wo),
            windows.transpose(0, 1, 4, 5, 2, 3).reshape(m, groups, cg, kh, kw, ho, wo),
        )
        # out[n, g, f, (i, j)] = sum over r of w_mat[g, f, r] * cols[n, g, r, (i, j)]
        xp.matmul(w_mat, cols[:m], out=out[n0 : n0 + m].reshape(m, groups, fg, ho * wo))
    return out
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout, x, w)
    s, p, d, (ho, wo) = _geometry(x, w, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if getattr(dout, "shape", None) != (n, f, ho, wo):
        raise ValueError(
            f"dout must have the forward output's shape (N, F, H_out, W_out) = "
            f"{(n, f, ho, wo)}, got {getattr(dout, 'shape', dout)}"
        )
    if dout.dtype != x.dtype:
        raise ValueError(f"dout must have the dtype of x ({x.dtype}), got {dout.dtype}")
    (sh, sw), (ph, pw), (dh, dw) = s, p, d
    fg, kk, nq = f // groups, kh * kw, sh * sw
    kg = cg * kk
    # A flat, channel-major layout in which every kernel tap is a contiguous 1-D shift:
    # the padded input (rounded up to whole strides) is split into its sh * sw stride phases
    # x_pad[:, :, a::sh, b::sw], each of size (hq, wq), and flattened to (C, phase, n*hq*wq).
    # Output pixel (n, i, j) sits at grid position n*hq*wq + i*wq + j; its tap (u, v) reads
    # phase q at that position + o, with (q, o) below. im2col and col2im then become KH*KW
    # copies/additions of long contiguous rows, and the products are large matrix products.
    hq, wq = -(-(h + 2 * ph) // sh), -(-(wd + 2 * pw) // sw)
    taps = [
        (((u * dh) % sh) * sw + (v * dw) % sw, ((u * dh) // sh) * wq + (v * dw) // sw)
        for u in range(kh)
        for v in range(kw)
    ]
    max_shift = max(o for _, o in taps)
    # Examples are processed a block at a time to keep the column matrix cache-sized.
    block = _block_size(xp, n, (c * kk + groups) * hq * wq * x.itemsize)
    x_grid = xp.zeros((c, block, hq * sh, wq * sw), dtype=x.dtype)
    d_grid = xp.zeros((f, block, hq, wq), dtype=x.dtype)  # dout, zero off the output pixels
    cols_buffer = xp.empty(groups * (kg + 1) * block * hq * wq, dtype=x.dtype)
    dx_buffer = xp.empty(c * nq * block * hq * wq, dtype=x.dtype)
    w_t = w.reshape(groups, fg, kg).transpose(0, 2, 1)
    dwb = xp.zeros((groups, fg, kg + 1), dtype=x.dtype)  # [dw | db]
    dx = xp.empty(x.shape, dtype=x.dtype)
    for n0 in range(0, n, block):
        m = min(block, n - n0)
        size = m * hq * wq
        length = size - max_shift  # grid positions from which every tap stays in the grid
        x_grid[:, :m, ph : ph + h, pw : pw + wd] = x[n0 : n0 + m].transpose(1, 0, 2, 3)
        if nq == 1:
            x_flat = x_grid[:, :m].reshape(groups, cg, 1, size)
        else:
            x_flat = x_grid[:, :m].reshape(c, m, hq, sh, wq, sw).transpose(0, 3, 5, 1, 2, 4)
            x_flat = x_flat.reshape(groups, cg, nq, size)
        # cols[g, (c, u, v), p] = x_flat[g, c, q(u, v), p + o(u, v)], plus a row of ones
        cols = cols_buffer[: groups * (kg + 1) * length].reshape(groups, kg + 1, length)
        taps_view = cols[:, :kg].reshape(groups, cg, kk, length)
        for k, (q, o) in enumerate(taps):
            taps_view[:, :, k] = x_flat[:, :, q, o : o + length]
        cols[:, kg] = 1
        d_grid[:, :m, :ho, :wo] = dout[n0 : n0 + m].transpose(1, 0, 2, 3)
        d_flat = d_grid[:, :m].reshape(groups, fg, size)[:, :, :length]
        # [dw | db][g] += dout[g] @ [cols | 1][g]^T   (the ones row sums dout: db)
        dwb += xp.matmul(d_flat, cols.transpose(0, 2, 1))
        # dcols[g] = w[g]^T @ dout[g], written over the (used) columns
        if fg == 1:  # e.g. depthwise: an outer product, cheaper as a broadcast product
            xp.multiply(w_t, d_flat, out=cols[:, :kg])
        else:
            xp.matmul(w_t, d_flat, out=cols[:, :kg])
        # col2im: every tap adds its rows of dcols back at its shift
        dx_flat = dx_buffer[: c * nq * size].reshape(groups, cg, nq, size)
        dx_flat.fill(0)
        for k, (q, o) in enumerate(taps):
            dx_flat[:, :, q, o : o + length] += taps_view[:, :, k]
        if nq == 1:
            dx_grid = dx_flat.reshape(c, m, hq, wq)
        else:
            dx_grid = dx_flat.reshape(c, sh, sw, m, hq, wq).transpose(0, 3, 4, 1, 5, 2)
            dx_grid = dx_grid.reshape(c, m, hq * sh, wq * sw)
        dx[n0 : n0 + m] = dx_grid[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)
    dw = xp.ascontiguousarray(dwb[:, :, :kg]).reshape(f, cg, kh, kw)
    db = xp.ascontiguousarray(dwb[:, :, kg]).reshape(f)
    return dx, dw, db
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_separable(x, w_depthwise, w_pointwise)
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=x.shape[1])
    return conv_forward(h, w_pointwise, b_pointwise)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_separable(x, w_depthwise, w_pointwise)
    groups = x.shape[1]
    h = conv_forward(x, w_depthwise, b_depthwise, stride, padding, dilation, groups=groups)
    dh, dw_pointwise, db_pointwise = conv_backward(dout, h, w_pointwise)
    dx, dw_depthwise, db_depthwise = conv_backward(
        dh, x, w_depthwise, stride, padding, dilation, groups=groups
    )
    return {
        "dx": dx,
        "dw_depthwise": dw_depthwise,
        "db_depthwise": db_depthwise,
        "dw_pointwise": dw_pointwise,
        "db_pointwise": db_pointwise,
    }
    # END SOLUTION


# BEGIN SOLUTION
def _check_separable(x: Array, w_depthwise: Array, w_pointwise: Array) -> None:
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {getattr(x, 'shape', x)}")
    c = x.shape[1]
    if (
        getattr(w_depthwise, "ndim", None) != 4
        or w_depthwise.shape[1] != 1
        or w_depthwise.shape[0] % c != 0
        or w_depthwise.shape[0] == 0
    ):
        raise ValueError(
            f"w_depthwise must have shape (C * M, 1, KH, KW) with C = {c} input channels, got "
            f"shape {getattr(w_depthwise, 'shape', w_depthwise)}"
        )
    cm = w_depthwise.shape[0]
    if getattr(w_pointwise, "ndim", None) != 4 or tuple(w_pointwise.shape[1:]) != (cm, 1, 1):
        raise ValueError(
            f"w_pointwise must have shape (F, C * M, 1, 1) = (F, {cm}, 1, 1), got shape "
            f"{getattr(w_pointwise, 'shape', w_pointwise)}"
        )


# END SOLUTION
