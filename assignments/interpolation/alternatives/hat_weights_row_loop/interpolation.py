"""Bilinear interpolation and RoI Align, alternative submission "hat_weights_row_loop".

How this variant differs from the reference (same results up to rounding):

* bilinear weights come from the "hat" (triangle) function: after clamping a source
  coordinate ``s`` into ``[0, size - 1]``, pixel ``q`` gets the weight ``max(0, 1 - |s - q|)``
  (this is ``1 - l`` for ``floor(s)``, ``l`` for the next pixel and 0 elsewhere, and 1 for
  the last pixel when ``s`` is clamped there), instead of ``floor``/``where`` bookkeeping;
* ``bilinear_resize`` interpolates along the width with one such matrix (``x @ A_w.T``) and
  then along the height with a Python loop over the output rows, each row blending two input
  rows with weights computed on the host from the exact rational formula
  ``src = ((2 i + 1) H - H_out) / (2 H_out)`` (half-pixel) or ``i (H - 1) / (H_out - 1)``;
* ``bilinear_resize_backward`` is the transpose of that: the loop over output rows
  accumulates each row of ``dout`` into its two source rows, then one product with ``A_w``;
* ``roi_align`` sums the hat weights of all the (masked) samples of a bin per axis, giving
  per-box weight matrices ``(K, PH, H)`` and ``(K, PW, W)`` over the whole map (no cropping
  to a window), and contracts them with the gathered planes ``x[batch]`` by ``einsum``;
  sample coordinates are computed as ``start + (p + (i + 0.5) / grid) * bin``;
* everything is computed in the dtype of ``x`` (float32 stays float32).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def _as_pair(value: Any, name: str) -> tuple[int, int]:
    """Turn an int or a pair of ints into a pair of ints ``>= 1``, or raise ValueError.

    A small helper you may use: ``_as_pair(7, "size") == (7, 7)``,
    ``_as_pair((3, 5), "size") == (3, 5)``.
    """
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in pair
    ):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < 1 for v in pair):
        raise ValueError(f"{name} must be >= 1 (a positive size), got {value!r}")
    return int(pair[0]), int(pair[1])


def _require_nchw(x: Array, what: str) -> None:
    if len(x.shape) != 4:
        raise ValueError(f"{what} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise ValueError(f"{what} must hold floats, got {x.dtype}")
    if min(int(x.shape[2]), int(x.shape[3])) < 1:
        raise ValueError(f"{what} must have H, W >= 1, got {tuple(x.shape)}")


def _source_rows(in_size: int, out_size: int, align_corners: bool) -> list:
    """(i0, i1, l) for every output index, computed with Python floats on the host."""
    rows = []
    for i in range(out_size):
        if align_corners:
            src = i * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            src = max(((2 * i + 1) * in_size - out_size) / (2 * out_size), 0.0)
        i0 = min(math.floor(src), in_size - 1)
        i1 = min(i0 + 1, in_size - 1)
        rows.append((i0, i1, src - i0))
    return rows


def _hat_matrix(xp: Any, in_size: int, out_size: int, align_corners: bool, dtype: Any) -> Array:
    """A (out_size, in_size) with A[j, q] = max(0, 1 - |clamp(src(j)) - q|)."""
    j = xp.arange(out_size, dtype=xp.float64)
    if align_corners:
        src = j * ((in_size - 1) / (out_size - 1)) if out_size > 1 else 0.0 * j
    else:
        src = ((2.0 * j + 1.0) * in_size - out_size) / (2.0 * out_size)
    src = xp.clip(src, 0.0, in_size - 1)
    q = xp.arange(in_size, dtype=xp.float64)
    return xp.maximum(1.0 - xp.abs(src[:, None] - q[None, :]), 0.0).astype(dtype)


def _bin_weights(
    xp: Any,
    start: Array,
    end: Array,
    pooled: int,
    size: int,
    sampling_ratio: int,
    aligned: bool,
) -> tuple[Array, Array]:
    """Per-box (K, pooled, size) sums of the hat weights of each bin's samples, and the grid."""
    dtype = start.dtype
    length = end - start
    if not aligned:
        length = xp.maximum(length, 1.0)
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = xp.full(start.shape, sampling_ratio, dtype=xp.int64)
    else:
        grid = xp.maximum(xp.ceil(bin_size), 0.0).astype(xp.int64)
    g = max(int(grid.max()), 1)
    p = xp.arange(pooled, dtype=dtype)[None, :, None]
    i = xp.arange(g, dtype=dtype)[None, None, :]
    n_samples = xp.maximum(grid, 1).astype(dtype)[:, None, None]
    pos = start[:, None, None] + (p + (i + 0.5) / n_samples) * bin_size[:, None, None]
    counted = (i < grid[:, None, None].astype(dtype)) & (pos >= -1.0) & (pos <= size)
    pos = xp.clip(pos, 0.0, size - 1)  # the border rule: clamp, the last pixel repeats
    pixels = xp.arange(size, dtype=dtype)
    hat = xp.maximum(1.0 - xp.abs(pos[..., None] - pixels), 0.0)  # (K, pooled, G, size)
    hat = hat * counted[..., None].astype(dtype)
    return hat.sum(axis=2), grid


def bilinear_resize(x: Array, size: int | tuple[int, int], align_corners: bool = False) -> Array:
    """Resize every plane of ``x`` to ``size`` by bilinear interpolation.

    Exactly ``torch.nn.functional.interpolate(x, size=size, mode="bilinear",
    align_corners=align_corners)``. Each output pixel is computed independently along each axis.
    For the height axis (input size ``H``, output size ``H_out``; the width is the same with
    ``W``, ``W_out``), output row ``i`` reads the input at the real "source" row ``src(i)``:

    * ``align_corners=True``: the centres of the corner pixels of input and output are aligned,
      ``src(i) = i * (H - 1) / (H_out - 1)``, and ``src(i) = 0`` when ``H_out == 1``.
    * ``align_corners=False`` (the default): the outer edges of the pixel squares are aligned
      (the half-pixel convention), ``src(i) = (i + 0.5) * H / H_out - 0.5``, then clamped to
      ``src(i) = 0`` where it is negative.

    Then, with ``i0 = floor(src(i))``, ``l = src(i) - i0`` and ``i1 = i0 + 1`` (or ``i1 = i0``
    if ``i0 = H - 1`` is the last row)::

        out_row(i) = (1 - l) * in_row(i0) + l * in_row(i1)

    so the output never reads outside the input (the border pixels are repeated). Resizing to
    the same size returns the input unchanged, for both values of ``align_corners``.

    Note: PyTorch's ``scale_factor=`` argument (instead of ``size=``) uses ``1 / scale_factor``
    rather than ``H / H_out`` as the scale in the ``align_corners=False`` formula; that is NOT
    what this function does (with ``size`` given, the scale is always ``H / H_out``).

    Args:
        x: input of shape ``(N, C, H, W)``, float32 or float64, ``H, W >= 1``.
        size: output size ``(H_out, W_out)``, or an int for a square output; positive.
        align_corners: which source-coordinate rule to use (see above).

    Returns:
        ``out`` of shape ``(N, C, H_out, W_out)``, dtype of ``x``.

    Raises:
        ValueError: if ``x`` is not a 4-D floating-point array with ``H, W >= 1``, or ``size``
            is not a positive int or pair of positive ints.
    """
    xp = get_array_module(x)
    _require_nchw(x, "x")
    out_h, out_w = _as_pair(size, "size")
    in_h, in_w = int(x.shape[2]), int(x.shape[3])
    a_w = _hat_matrix(xp, in_w, out_w, bool(align_corners), x.dtype)
    t = x @ a_w.T  # interpolate along the width: (N, C, H, W_out)
    rows = []
    for i0, i1, lam in _source_rows(in_h, out_h, bool(align_corners)):
        rows.append((1.0 - lam) * t[:, :, i0, :] + lam * t[:, :, i1, :])
    return xp.stack(rows, axis=2).astype(x.dtype, copy=False)


def bilinear_resize_backward(
    dout: Array, input_shape: tuple[int, int, int, int], align_corners: bool = False
) -> Array:
    """Backward pass of :func:`bilinear_resize`: the gradient with respect to its input.

    The forward pass is linear in ``x``: ``out = A_h @ x @ A_w.T`` for each plane, where
    ``A_h`` (shape ``(H_out, H)``) and ``A_w`` (shape ``(W_out, W)``) hold the interpolation
    weights. Its backward pass is the transpose, ``dx = A_h.T @ dout @ A_w``: each input pixel
    collects the gradients of all output pixels it contributed to, times its weights.

    Args:
        dout: upstream gradient of shape ``(N, C, H_out, W_out)`` (the output size of the
            forward pass), float32 or float64.
        input_shape: the shape ``(N, C, H, W)`` of the forward input ``x``.
        align_corners: the value used in the forward pass.

    Returns:
        ``dx`` of shape ``input_shape``, dtype of ``dout``.

    Raises:
        ValueError: if ``dout`` is not a 4-D floating-point array, ``input_shape`` is not four
            positive ints, or its ``N, C`` differ from those of ``dout``.
    """
    xp = get_array_module(dout)
    _require_nchw(dout, "dout")
    if len(input_shape) != 4 or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in input_shape
    ):
        raise ValueError(f"input_shape must be (N, C, H, W), four positive ints: {input_shape!r}")
    n, c, in_h, in_w = (int(s) for s in input_shape)
    if n != dout.shape[0] or c != dout.shape[1]:
        raise ValueError(f"dout {tuple(dout.shape)} does not match input_shape {input_shape}")
    out_h, out_w = int(dout.shape[2]), int(dout.shape[3])
    a_w = _hat_matrix(xp, in_w, out_w, bool(align_corners), dout.dtype)
    dt = xp.zeros((n, c, in_h, out_w), dtype=dout.dtype)
    for i, (i0, i1, lam) in enumerate(_source_rows(in_h, out_h, bool(align_corners))):
        dt[:, :, i0, :] += (1.0 - lam) * dout[:, :, i, :]
        dt[:, :, i1, :] += lam * dout[:, :, i, :]
    return (dt @ a_w).astype(dout.dtype, copy=False)


def roi_align(
    x: Array,
    boxes: Array,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Array:
    """RoI Align: pool a fixed-size ``PH x PW`` feature map out of each box (region of interest).

    Exactly ``torchvision.ops.roi_align(x, boxes, output_size, spatial_scale, sampling_ratio,
    aligned)``. For each box ``k`` (a row ``[b, x1, y1, x2, y2]`` of ``boxes``) and channel
    ``c``, the box is cut into ``PH x PW`` equal bins, and each bin's value is the average of
    bilinear samples of plane ``x[b, c]`` taken on a regular grid inside the bin. No rounding
    of coordinates happens anywhere (that is the point of RoI Align, versus RoI Pool).

    Step by step, for box ``k`` (the width direction is the same with ``x``/``W``/``PW``):

    1. Scale and shift: ``y1' = y1 * spatial_scale - offset`` and
       ``y2' = y2 * spatial_scale - offset``, where ``offset = 0.5`` if ``aligned`` else ``0``
       (``aligned=True`` accounts for pixel ``i`` being centred at ``i``, so that a box
       ``[0, 0, W, H]`` covers the whole image exactly).
    2. Box height ``roi_h = y2' - y1'``; if ``aligned`` is False, ``roi_h = max(roi_h, 1)``
       (malformed/tiny boxes are forced to be at least one pixel). Bin height
       ``bin_h = roi_h / PH``.
    3. Samples per bin along the height: ``grid_h = sampling_ratio`` if ``sampling_ratio > 0``,
       else ``grid_h = ceil(roi_h / PH)`` (adaptive: it differs from box to box!), and
       ``grid_h = 0`` samples when that is ``<= 0`` (then the box's output is all zeros).
    4. Sample rows of bin ``ph``: ``y = y1' + ph * bin_h + (iy + 0.5) * bin_h / grid_h`` for
       ``iy = 0 .. grid_h - 1`` (likewise ``x`` with ``ix``, ``pw``, ``bin_w``, ``grid_w``).
    5. Each sample ``(y, x)`` is read from plane ``x[b, c]`` (``H x W``) with this border rule:

       * if ``y < -1`` or ``y > H`` or ``x < -1`` or ``x > W``: the sample is ``0``;
       * otherwise clamp ``y = max(y, 0)``, ``y_low = floor(y)``; if ``y_low >= H - 1`` then
         ``y_low = y_high = H - 1`` and ``y = y_low``, else ``y_high = y_low + 1``;
         ``ly = y - y_low`` (likewise for ``x``), and the sample is the bilinear combination
         of the four pixels ``(y_low or y_high, x_low or x_high)`` with weights
         ``(1 - ly) * (1 - lx)``, ``(1 - ly) * lx``, ``ly * (1 - lx)``, ``ly * lx``.

    6. ``out[k, c, ph, pw] = (sum of the grid_h * grid_w samples) / max(grid_h * grid_w, 1)``
       (the samples that were ``0`` because they fell outside still count in the divisor).

    Args:
        x: feature maps of shape ``(N, C, H, W)``, float32 or float64.
        boxes: array of shape ``(K, 5)`` (any real dtype); row ``k`` is
            ``[batch_index, x1, y1, x2, y2]``: the index in ``[0, N)`` of the image the box
            belongs to (an integer value), then the top-left and bottom-right corners in
            input-image coordinates (multiplied by ``spatial_scale`` to get feature-map
            coordinates). ``K = 0`` is allowed. Box coordinates are used in the dtype of ``x``.
        output_size: ``(PH, PW)``, or an int for ``PH = PW``; positive.
        spatial_scale: factor from input-image to feature-map coordinates, e.g. ``1 / 16``
            for a stride-16 feature map; positive.
        sampling_ratio: samples per bin along each axis when ``> 0``; adaptive when ``<= 0``.
        aligned: if True, shift the scaled box by ``-0.5`` pixel (see step 1) and do not force
            boxes to be at least 1 x 1.

    Returns:
        ``out`` of shape ``(K, C, PH, PW)``, dtype of ``x``.

    Raises:
        ValueError: if ``x`` is not a 4-D floating-point array, ``boxes`` is not ``(K, 5)``
            with finite values, a batch index is not an integer in ``[0, N)``,
            ``output_size`` is not a positive int or pair, ``spatial_scale`` is not a positive
            number, or ``sampling_ratio`` is not an int.
    """
    xp = get_array_module(x, boxes)
    _require_nchw(x, "x")
    out_h, out_w = _as_pair(output_size, "output_size")
    if len(boxes.shape) != 2 or boxes.shape[1] != 5:
        raise ValueError(f"boxes must be (K, 5) rows [b, x1, y1, x2, y2], got {tuple(boxes.shape)}")
    if boxes.dtype.kind not in ("i", "u", "f"):
        raise ValueError(f"boxes must be real-valued, got {boxes.dtype}")
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float, np.number)):
        raise ValueError(f"spatial_scale must be a positive number, got {spatial_scale!r}")
    if not (float(spatial_scale) > 0 and math.isfinite(float(spatial_scale))):
        raise ValueError(f"spatial_scale must be a positive number, got {spatial_scale!r}")
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, (int, np.integer)):
        raise ValueError(f"sampling_ratio must be an int, got {sampling_ratio!r}")
    n, c, h, w = (int(s) for s in x.shape)
    if boxes.shape[0] == 0:
        return xp.zeros((0, c, out_h, out_w), dtype=x.dtype)
    if not bool(xp.isfinite(boxes).all()):
        raise ValueError("boxes contain inf or NaN")
    idx = boxes[:, 0]
    bad = (idx != xp.floor(idx)) | (idx < 0) | (idx >= n)
    if bool(bad.any()):
        raise ValueError(f"batch indices (boxes[:, 0]) must be integers in [0, {n})")
    idx = idx.astype(xp.int64)

    shift = 0.5 if aligned else 0.0
    coords = boxes[:, 1:].astype(x.dtype) * float(spatial_scale) - shift  # x1, y1, x2, y2
    ratio = int(sampling_ratio)
    wy, grid_h = _bin_weights(xp, coords[:, 1], coords[:, 3], out_h, h, ratio, bool(aligned))
    wx, grid_w = _bin_weights(xp, coords[:, 0], coords[:, 2], out_w, w, ratio, bool(aligned))
    planes = x[idx]  # (K, C, H, W)
    out = xp.einsum("kph,kchw->kcpw", wy, planes)
    out = xp.einsum("kcpw,kqw->kcpq", out, wx)
    count = xp.maximum(grid_h * grid_w, 1).astype(x.dtype)
    return (out / count[:, None, None, None]).astype(x.dtype, copy=False)
