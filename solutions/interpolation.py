"""Bilinear interpolation: resizing feature maps, and RoI Align (as in Mask R-CNN).

Conventions
-----------
* Layout is NCHW: ``x`` has shape ``(N, C, H, W)``. Interpolation acts on each ``H x W`` plane
  (each example and each channel) independently, with the same weights for every channel.
* Pixel coordinates: pixel ``(i, j)`` of a plane is the value at the point ``y = i, x = j``
  (row ``i``, column ``j``); the plane covers the continuous square ``[-0.5, H - 0.5] x
  [-0.5, W - 0.5]`` (each pixel is a unit square centred on its integer coordinates).
* Bilinear interpolation at a real point ``(y, x)`` inside the plane: with
  ``y0 = floor(y)``, ``y1 = y0 + 1``, ``ly = y - y0`` (and likewise ``x0``, ``x1``, ``lx``)::

      value = (1 - ly) * (1 - lx) * v[y0, x0] + (1 - ly) * lx * v[y0, x1]
            +      ly  * (1 - lx) * v[y1, x0] +      ly  * lx * v[y1, x1]

  The value is linear along each axis, so bilinear interpolation is separable: interpolate
  along the width first, then along the height (or the other way round). Each function below
  states how it treats points near or outside the border.
* Semantics are PyTorch's ``torch.nn.functional.interpolate(mode="bilinear")`` and
  torchvision's ``torchvision.ops.roi_align``; each docstring spells out exactly what that means.
* Functions never modify their inputs. Outputs have the dtype of ``x`` (float32 in, float32
  out). Computing with float32 where the input is float32 is fine: float32 results are compared
  with a tolerance.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
  No Python loops over examples, channels, boxes or pixels (they are far too slow). Hint: an
  interpolation along one axis is a matrix product with a small, mostly-zero "interpolation
  matrix" whose rows hold the weights ``1 - l`` and ``l``.
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


# BEGIN SOLUTION
def _check_input(x: Array, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")
    if any(int(v) < 1 for v in x.shape[2:]):
        raise ValueError(f"{name} must have H >= 1 and W >= 1, got shape {tuple(x.shape)}")


def _interp_matrix(xp: Any, in_size: int, out_size: int, align_corners: bool, dtype: Any) -> Array:
    """Matrix A of shape (out_size, in_size) such that resizing a vector v is ``A @ v``.

    Weights are computed in float64 (then cast), following PyTorch's CPU kernel:
    source index, ``i0 = min(floor(src), in - 1)``, ``l = clip(src - i0, 0, 1)``,
    ``i1 = i0 + 1`` unless ``i0`` is the last index.
    """
    dst = xp.arange(out_size, dtype=xp.float64)
    if align_corners:
        scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        src = dst * scale
    else:
        scale = in_size / out_size
        src = xp.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), in_size - 1)
    lam = xp.clip(src - i0, 0.0, 1.0)
    i1 = xp.where(i0 < in_size - 1, i0 + 1, i0)
    cols = xp.arange(in_size, dtype=xp.int64)[None, :]
    a = (1.0 - lam)[:, None] * (cols == i0[:, None]) + lam[:, None] * (cols == i1[:, None])
    return a.astype(dtype)


def _apply_separable(a_h: Array, x: Array, a_w: Array) -> Array:
    """``a_h @ x[n, c] @ a_w.T`` for every plane of x (N, C, H, W); a_h (Ho, H), a_w (Wo, W).

    Each of the two contractions is ONE 2-D matrix product over all planes (a broadcast
    ``a_h @ x`` would be N * C small products, which threaded BLAS runs badly on a busy
    machine); the axis to contract is brought to the front by a transposed copy. The order
    (height or width first) is the one with fewer multiplications.
    """
    n, c, h, w = (int(v) for v in x.shape)
    ho, wo = int(a_h.shape[0]), int(a_w.shape[0])
    nc = n * c
    if ho * w * (h + wo) <= h * wo * (w + ho):  # height first
        t = x.reshape(nc, h, w).transpose(1, 0, 2).reshape(h, nc * w)
        t = (a_h @ t).reshape(ho * nc, w) @ a_w.T  # rows ordered (Ho, N*C)
    else:  # width first
        t = (x.reshape(nc * h, w) @ a_w.T).reshape(nc, h, wo).transpose(1, 0, 2)
        t = a_h @ t.reshape(h, nc * wo)  # (Ho, N*C*Wo)
    return t.reshape(ho, n, c, wo).transpose(1, 2, 0, 3).copy()


def _roi_axis_weights(
    xp: Any,
    start: Array,
    end: Array,
    pooled: int,
    size: int,
    sampling_ratio: int,
    aligned: bool,
    dtype: Any,
) -> tuple[Array, Array]:
    """Per-box interpolation matrices along one axis, in torchvision's arithmetic.

    start, end: (K,) box limits along this axis (already scaled and shifted), dtype ``dtype``.
    Returns ``(weights, grid)``: weights (K, pooled, size) such that
    ``weights[k, p, i]`` is the sum over the samples of bin ``p`` of box ``k`` of the bilinear
    weight that pixel index ``i`` receives (zero for samples outside ``[-1, size]``), and grid
    (K,) int64, the number of samples per bin along this axis.

    Bilinear interpolation is separable, and so is torchvision's "outside -> 0" rule (a sample
    is dropped when its y OR its x is out of range: the product of two 0/1 factors), so a bin's
    sum over its grid_h x grid_w samples factorises into these two per-axis weight rows.
    """
    k = start.shape[0]
    length = end - start
    if not aligned:
        length = xp.maximum(length, 1.0)  # malformed boxes are forced to be at least 1 x 1
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = xp.full((k,), sampling_ratio, dtype=xp.int64)
    else:
        grid = xp.maximum(xp.ceil(bin_size), 0).astype(xp.int64)  # adaptive, per box
    g_max = int(grid.max())
    if g_max == 0:
        return xp.zeros((k, pooled, size), dtype=dtype), grid
    # Samples, padded to g_max per bin (the extra ones are masked): shape (K, pooled, g_max).
    p = xp.arange(pooled, dtype=dtype)[None, :, None]
    i = xp.arange(g_max, dtype=dtype)[None, None, :] + 0.5
    b = bin_size[:, None, None]
    g = xp.maximum(grid, 1).astype(dtype)[:, None, None]
    coord = start[:, None, None] + p * b + i * b / g  # same operation order as torchvision
    valid = (
        (xp.arange(g_max, dtype=xp.int64)[None, None, :] < grid[:, None, None])
        & (coord >= -1.0)
        & (coord <= size)
    )
    # (The upper clip changes no kept sample; it keeps the integers of dropped ones sane.)
    coord = xp.minimum(xp.maximum(coord, 0.0), size)
    low = xp.floor(coord).astype(xp.int64)
    top = low >= size - 1
    low = xp.where(top, size - 1, low)
    high = xp.where(top, size - 1, low + 1)
    frac = xp.where(top, 0.0, coord - low.astype(dtype))
    w_low = xp.where(valid, 1.0 - frac, 0.0)
    w_high = xp.where(valid, frac, 0.0)
    # Scatter-add the weights into the (K, pooled, size) matrices.
    row = (xp.arange(k, dtype=xp.int64)[:, None, None] * pooled) + xp.arange(
        pooled, dtype=xp.int64
    )[None, :, None]
    index = xp.concatenate([(row * size + low).ravel(), (row * size + high).ravel()])
    weights = xp.bincount(
        index, weights=xp.concatenate([w_low.ravel(), w_high.ravel()]), minlength=k * pooled * size
    )
    return weights.reshape(k, pooled, size).astype(dtype), grid


def _window(xp: Any, weights: Array) -> tuple[Array, Array]:
    """Crop per-box weight matrices (K, P, S) to the pixels they use.

    Returns ``(index, cropped)``: index (K, L) int64, the pixel indices of a window of L
    consecutive pixels per box (L = the widest window needed by any box, kept inside
    [0, S)), and cropped (K, P, L), the weights of those pixels.
    """
    used = (weights != 0).any(axis=1)  # (K, S)
    size = used.shape[1]
    first = xp.argmax(used, axis=1)
    last = size - 1 - xp.argmax(used[:, ::-1], axis=1)
    length = xp.where(used.any(axis=1), last - first + 1, 1)
    span = int(length.max())
    first = xp.minimum(first, size - span)
    index = first[:, None] + xp.arange(span, dtype=xp.int64)[None, :]
    return index, xp.take_along_axis(weights, index[:, None, :], axis=2)


# END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(x)
    _check_input(x, "x")
    ho, wo = _as_pair(size, "size")
    h, w = int(x.shape[2]), int(x.shape[3])
    a_h = _interp_matrix(xp, h, ho, bool(align_corners), x.dtype)
    a_w = _interp_matrix(xp, w, wo, bool(align_corners), x.dtype)
    return _apply_separable(a_h, x, a_w)
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout)
    _check_input(dout, "dout")
    shape = tuple(input_shape)
    if len(shape) != 4 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in shape
    ):
        raise ValueError(
            f"input_shape must be the (N, C, H, W) shape of the forward input (four positive "
            f"ints), got {input_shape!r}"
        )
    if tuple(int(v) for v in shape[:2]) != tuple(int(v) for v in dout.shape[:2]):
        raise ValueError(
            f"input_shape {tuple(shape)} and dout shape {tuple(dout.shape)} must agree on N and C"
        )
    h, w = int(shape[2]), int(shape[3])
    ho, wo = int(dout.shape[2]), int(dout.shape[3])
    a_h = _interp_matrix(xp, h, ho, bool(align_corners), dout.dtype)
    a_w = _interp_matrix(xp, w, wo, bool(align_corners), dout.dtype)
    return _apply_separable(a_h.T, dout, a_w.T)
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(x, boxes)
    _check_input(x, "x")
    ph, pw = _as_pair(output_size, "output_size")
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(
            f"boxes must have shape (K, 5), rows [batch_index, x1, y1, x2, y2], got shape "
            f"{tuple(boxes.shape)}"
        )
    if boxes.dtype.kind not in "iuf":
        raise ValueError(f"boxes must be a real-valued array, got dtype {boxes.dtype}")
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float, np.number)):
        raise ValueError(f"spatial_scale must be a positive number, got {spatial_scale!r}")
    if not (0.0 < float(spatial_scale) < float("inf")):
        raise ValueError(f"spatial_scale must be a positive number, got {spatial_scale!r}")
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, (int, np.integer)):
        raise ValueError(f"sampling_ratio must be an int, got {sampling_ratio!r}")
    n, c, h, w = (int(v) for v in x.shape)
    k = int(boxes.shape[0])
    if k == 0:
        return xp.zeros((0, c, ph, pw), dtype=x.dtype)
    if not bool(xp.isfinite(boxes).all()):
        raise ValueError("boxes must hold finite numbers (found inf or NaN)")
    batch = boxes[:, 0]
    if not bool(((batch == xp.floor(batch)) & (batch >= 0) & (batch < n)).all()):
        raise ValueError(
            f"boxes[:, 0] must hold integer batch indices in [0, N) = [0, {n}); "
            f"got values from {float(batch.min())} to {float(batch.max())}"
        )
    batch = batch.astype(xp.int64)
    # Box corners in feature-map coordinates, computed in the dtype of x (as torchvision).
    offset = 0.5 if aligned else 0.0
    corners = boxes[:, 1:].astype(x.dtype) * float(spatial_scale) - offset
    wy, grid_h = _roi_axis_weights(
        xp, corners[:, 1], corners[:, 3], ph, h, int(sampling_ratio), bool(aligned), x.dtype
    )
    wx, grid_w = _roi_axis_weights(
        xp, corners[:, 0], corners[:, 2], pw, w, int(sampling_ratio), bool(aligned), x.dtype
    )
    count = xp.maximum(grid_h * grid_w, 1).astype(x.dtype)
    # Only gather the window of pixels each box touches: (K, C, Ly, Lx).
    rows, wy = _window(xp, wy)
    cols, wx = _window(xp, wx)
    x_nhwc = x.transpose(0, 2, 3, 1).copy()  # each gathered pixel: C contiguous values
    patches = x_nhwc[batch[:, None, None], rows[:, :, None], cols[:, None, :]]  # (K, Ly, Lx, C)
    patches = patches.transpose(0, 3, 1, 2)
    out = (wy[:, None] @ patches) @ wx.transpose(0, 2, 1)[:, None]
    return out / count[:, None, None, None]
    # END SOLUTION
