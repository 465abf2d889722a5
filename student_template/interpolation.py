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
    raise NotImplementedError("bilinear_resize is not implemented yet")


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
    raise NotImplementedError("bilinear_resize_backward is not implemented yet")


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
    raise NotImplementedError("roi_align is not implemented yet")
