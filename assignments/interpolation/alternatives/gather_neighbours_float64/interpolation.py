"""Bilinear interpolation and RoI Align, alternative submission "gather_neighbours_float64".

How this variant differs from the reference (same results up to rounding):

* everything is computed in float64 (inputs upcast, outputs cast back to the input's dtype);
  RoI Align rounds the box coordinates to the dtype of ``x`` first, as documented, and only
  then upcasts them;
* ``bilinear_resize`` gathers the four neighbours ``v[y0, x0], v[y0, x1], v[y1, x0],
  v[y1, x1]`` of every output pixel with fancy indexing and combines them with the four
  products of weights (no interpolation matrices); source coordinates are computed as
  ``(i + 0.5) * H / H_out - 0.5`` and ``i * (H - 1) / (H_out - 1)`` (product first);
* ``bilinear_resize_backward`` scatters ``weight * dout`` back onto the four neighbours with
  ``xp.add.at`` (no transposed matrices);
* ``roi_align`` builds the full sampling grid of every box, ``(K, PH, grid_h, PW, grid_w)``
  (padded to the largest adaptive grid, with a mask for the padding and for the samples
  outside the map), reads the four neighbours of every sample by fancy indexing and averages
  (no separable weight matrices, no cropping to a window); sample coordinates are computed
  as ``start + (p + (i + 0.5) / grid) * bin``.
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


def _check_4d(x: Array, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be floating-point, got {x.dtype}")
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"{name} needs H >= 1 and W >= 1, got shape {tuple(x.shape)}")


def _neighbours(xp: Any, in_size: int, out_size: int, align_corners: bool) -> tuple:
    """For each output index: the two input indices it reads and the weight of the second."""
    i = xp.arange(out_size, dtype=xp.float64)
    if align_corners:
        if out_size == 1:
            src = xp.zeros(1, dtype=xp.float64)
        else:
            src = i * (in_size - 1) / (out_size - 1)
    else:
        src = (i + 0.5) * in_size / out_size - 0.5
        src = xp.where(src < 0.0, 0.0, src)
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), in_size - 1)
    i1 = xp.minimum(i0 + 1, in_size - 1)  # the last row/column is repeated
    frac = src - i0
    return i0, i1, frac


def _roi_samples(
    xp: Any,
    start: Array,
    end: Array,
    pooled: int,
    size: int,
    sampling_ratio: int,
    aligned: bool,
) -> tuple:
    """Sample positions of every box along one axis, shape (K, pooled, G) (G = largest grid).

    Returns (low, high, frac, keep, grid): the two pixel indices each sample reads, the weight
    of ``high``, whether the sample counts (inside its box's grid and not outside the map),
    and the number of samples per bin of each box.
    """
    length = end - start
    if not aligned:
        length = xp.maximum(length, 1.0)
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = xp.full(start.shape, sampling_ratio, dtype=xp.int64)
    else:
        grid = xp.maximum(xp.ceil(bin_size), 0.0).astype(xp.int64)
    g = max(int(grid.max()), 1)
    bins = xp.arange(pooled, dtype=xp.float64)[None, :, None]
    steps = xp.arange(g, dtype=xp.float64)[None, None, :]
    per_bin = xp.maximum(grid, 1).astype(xp.float64)[:, None, None]
    coord = start[:, None, None] + (bins + (steps + 0.5) / per_bin) * bin_size[:, None, None]
    keep = (steps < grid[:, None, None]) & (coord >= -1.0) & (coord <= size)
    coord = xp.maximum(coord, 0.0)
    low = xp.floor(coord).astype(xp.int64)
    at_edge = low >= size - 1
    low = xp.where(at_edge, size - 1, low)
    high = xp.where(at_edge, size - 1, low + 1)
    frac = xp.where(at_edge, 0.0, coord - low)
    return low, high, frac, keep, grid


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
    _check_4d(x, "x")
    h_out, w_out = _as_pair(size, "size")
    h, w = x.shape[2], x.shape[3]
    y0, y1, ly = _neighbours(xp, h, h_out, bool(align_corners))
    x0, x1, lx = _neighbours(xp, w, w_out, bool(align_corners))
    v = x.astype(xp.float64)
    top = v[:, :, y0, :]  # (N, C, H_out, W)
    bottom = v[:, :, y1, :]
    ly = ly[:, None]
    lx = lx[None, :]
    out = (
        (1.0 - ly) * (1.0 - lx) * top[:, :, :, x0]
        + (1.0 - ly) * lx * top[:, :, :, x1]
        + ly * (1.0 - lx) * bottom[:, :, :, x0]
        + ly * lx * bottom[:, :, :, x1]
    )
    return out.astype(x.dtype)


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
    _check_4d(dout, "dout")
    shape = tuple(input_shape)
    if len(shape) != 4 or any(
        isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape
    ):
        raise ValueError(f"input_shape must be four positive ints, got {input_shape!r}")
    n, c, h, w = (int(s) for s in shape)
    if (n, c) != (int(dout.shape[0]), int(dout.shape[1])):
        raise ValueError(f"input_shape {shape} and dout {tuple(dout.shape)} disagree on N, C")
    h_out, w_out = int(dout.shape[2]), int(dout.shape[3])
    y0, y1, ly = _neighbours(xp, h, h_out, bool(align_corners))
    x0, x1, lx = _neighbours(xp, w, w_out, bool(align_corners))
    # Work with the spatial axes first so that a scatter index is just (row, column).
    g = dout.astype(xp.float64).transpose(2, 3, 0, 1)  # (H_out, W_out, N, C)
    dx = xp.zeros((h, w, n, c), dtype=xp.float64)
    for rows, wy in ((y0, 1.0 - ly), (y1, ly)):
        for cols, wx in ((x0, 1.0 - lx), (x1, lx)):
            weight = (wy[:, None] * wx[None, :])[:, :, None, None]
            xp.add.at(dx, (rows[:, None], cols[None, :]), weight * g)
    return xp.ascontiguousarray(dx.transpose(2, 3, 0, 1)).astype(dout.dtype)


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
    _check_4d(x, "x")
    ph, pw = _as_pair(output_size, "output_size")
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(f"boxes must have shape (K, 5), got {tuple(boxes.shape)}")
    if boxes.dtype.kind not in "iuf":
        raise ValueError(f"boxes must be real numbers, got {boxes.dtype}")
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float, np.number)):
        raise ValueError(f"spatial_scale must be a number, got {spatial_scale!r}")
    if not 0.0 < float(spatial_scale) < float("inf"):
        raise ValueError(f"spatial_scale must be positive, got {spatial_scale!r}")
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, (int, np.integer)):
        raise ValueError(f"sampling_ratio must be an int, got {sampling_ratio!r}")
    n, c, h, w = (int(s) for s in x.shape)
    k = int(boxes.shape[0])
    if k == 0:
        return xp.zeros((0, c, ph, pw), dtype=x.dtype)
    if not bool(xp.all(xp.isfinite(boxes))):
        raise ValueError("boxes must be finite")
    batch = boxes[:, 0]
    if not bool(xp.all((batch == xp.floor(batch)) & (batch >= 0) & (batch < n))):
        raise ValueError(f"boxes[:, 0] must be integer batch indices in [0, {n})")
    batch = batch.astype(xp.int64)

    offset = 0.5 if aligned else 0.0
    # Coordinates in the dtype of x (as documented), then float64 for everything else.
    corners = boxes[:, 1:].astype(x.dtype).astype(xp.float64) * float(spatial_scale) - offset
    ratio = int(sampling_ratio)
    y_lo, y_hi, ly, keep_y, grid_h = _roi_samples(
        xp, corners[:, 1], corners[:, 3], ph, h, ratio, bool(aligned)
    )
    x_lo, x_hi, lx, keep_x, grid_w = _roi_samples(
        xp, corners[:, 0], corners[:, 2], pw, w, ratio, bool(aligned)
    )
    # Index arrays broadcast to the sampling grid (K, PH, GH, PW, GW).
    b = batch[:, None, None, None, None]
    yl, yh = y_lo[:, :, :, None, None], y_hi[:, :, :, None, None]
    xl, xh = x_lo[:, None, None, :, :], x_hi[:, None, None, :, :]
    ly = ly[:, :, :, None, None]
    lx = lx[:, None, None, :, :]
    keep = keep_y[:, :, :, None, None] & keep_x[:, None, None, :, :]
    planes = x.astype(xp.float64).transpose(0, 2, 3, 1)  # (N, H, W, C): gathers give (..., C)
    samples = (
        ((1.0 - ly) * (1.0 - lx))[..., None] * planes[b, yl, xl]
        + ((1.0 - ly) * lx)[..., None] * planes[b, yl, xh]
        + (ly * (1.0 - lx))[..., None] * planes[b, yh, xl]
        + (ly * lx)[..., None] * planes[b, yh, xh]
    )
    samples = xp.where(keep[..., None], samples, 0.0)
    total = samples.sum(axis=(2, 4))  # (K, PH, PW, C)
    count = xp.maximum(grid_h * grid_w, 1).astype(xp.float64)[:, None, None, None]
    out = (total / count).transpose(0, 3, 1, 2)
    return xp.ascontiguousarray(out).astype(x.dtype)
