"""Hints for interpolation: the usual mistakes in bilinear resize and RoI Align.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (public course material, forums and solutions):

* the asymmetric mapping ``src = i * H / H_out`` (no half-pixel offset): TensorFlow 1's
  ``resize_bilinear`` without ``half_pixel_centers``, github.com/tensorflow/tensorflow/
  issues/6720; the half-pixel rule of PyTorch and OpenCV is what ``align_corners=False`` means.
* ``size`` read as ``(width, height)``: ``cv2.resize`` takes ``dsize = (width, height)``,
  stackoverflow.com/questions/21248245.
* the scale inverted (``H_out / H`` instead of ``H / H_out``): PyTorch's ``scale_factor=``
  path uses ``1 / scale_factor``; the docstring's note is there because of it.
* the backward pass taken as a resize of ``dout`` back to the input size, instead of the
  transpose of the interpolation: the expectation of github.com/pytorch/pytorch/issues/42772
  (the true gradient of a downsampling is sparse).
* ``spatial_scale`` ignored, or divided by instead of multiplied by:
  github.com/pytorch/vision/pull/4522 (its documentation clarified which way it maps),
  github.com/zplizzi/tensorflow-fast-rcnn/issues/4.
* boxes read as ``[b, y1, x1, y2, x2]``: ``tf.image.crop_and_resize``'s order,
  github.com/onnx/onnx/issues/2100, github.com/open-mmlab/mmcv/issues/809.
* box coordinates rounded to whole pixels: what RoI Pool does and RoI Align removes
  (github.com/zplizzi/tensorflow-fast-rcnn/issues/4 casts them to int).
* each bin divided by its samples inside the map only: torchvision and Detectron divide by
  ``grid_h * grid_w`` whether or not a sample fell outside
  (github.com/facebookresearch/detectron2/issues/804).
* the weights ``1 - l`` and ``l`` given to the wrong neighbours (``l`` on ``i0``):
  github.com/NASA-LIS/LISF/pull/1021 ("the order of the weights and neighbours was
  backwards"), github.com/PyAutoLabs/PyAutoArray/pull/490 (mirrored row weights).
* the half-pixel source coordinate left unclamped where it is negative (the first output
  rows of an upsampling): github.com/PaddlePaddle/Paddle/pull/18238 ("set src_idx > 0"),
  github.com/antimora/burn-flex/pull/7; a gather then reads index -1 (the last pixel), or a
  clipped index extrapolates with a negative weight.
* the backward pass scattered with fancy-index ``dx[..., i0, j0] += w * dout``, which keeps
  one of the repeated indices only (an upsampling's output rows share their source rows):
  github.com/numpy/numpy/pull/2821 (why ``ufunc.at`` exists), github.com/pytorch/pytorch/
  issues/3844.
* RoI Align's samples at the bin's start (``iy * bin / grid``, without the ``+ 0.5``):
  the sample placement questioned in github.com/open-mmlab/mmdetection/issues/1032 and
  github.com/TuSimple/mx-maskrcnn/issues/49 (samples at the bin's corners).
* the adaptive grid ``ceil(roi_h / PH)`` truncated to an int (``int(roi_h / PH)``):
  github.com/apache/tvm/pull/3296 (``int32(div_h)`` where ceil could not be used), the
  ``ceil`` of the OpenVINO spec, github.com/openvinotoolkit/openvino/pull/2128; or the grid
  taken from the whole box, ``ceil(roi_h)``, instead of one bin.
* the 1 x 1 minimum box size with ``aligned=False`` forgotten, or applied with
  ``aligned=True`` too: github.com/pytorch/vision/pull/2438 (torchvision's own clamp had the
  condition the wrong way round), github.com/pytorch/vision/pull/1908.
* samples outside ``[-1, H] x [-1, W]`` clamped to the border instead of counted as 0:
  github.com/jwyang/faster-rcnn.pytorch/issues/683 (which samples the bounds test keeps),
  github.com/PaddlePaddle/Paddle/pull/13904 (``y < -1.0 || y > height``: weights 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    computed,
    diagnoses_for,
    suspect,
)

NO_HALF_PIXEL = (
    "your result matches the source coordinate src = i * H / H_out, without the half-pixel "
    "offset: with align_corners=False, src = (i + 0.5) * H / H_out - 0.5, clamped at 0"
)
SCALE_INVERTED = (
    "your result matches the scale inverted (H_out / H instead of H / H_out): output row i "
    "reads the input at a source row computed with scale = input size / output size"
)
SIZE_SWAPPED = (
    "your output matches size read as (width, height): size is (H_out, W_out), the height first"
)
BACKWARD_AS_RESIZE = (
    "your dx matches dout resized back to the input size: the gradient of a resize is the "
    "transpose of its interpolation, dx = A_h.T @ dout @ A_w (each input pixel collects the "
    "gradients of the output pixels it contributed to, times its weights)"
)
SCALE_IGNORED = (
    "your output matches spatial_scale=1: multiply the box coordinates by spatial_scale to get "
    "feature-map coordinates"
)
SCALE_DIVIDED = (
    "your output matches the box coordinates divided by spatial_scale: multiply them by "
    "spatial_scale (boxes are in input-image coordinates, spatial_scale maps them onto the "
    "feature map)"
)
BOXES_YX = (
    "your output matches boxes read as [b, y1, x1, y2, x2]: each row is [batch_index, x1, y1, "
    "x2, y2], x (the width) first"
)
CORNERS_ROUNDED = (
    "your output matches box corners rounded to whole pixels (RoI Pool's quantization): RoI "
    "Align rounds nothing, it interpolates at the exact sample positions"
)
VALID_SAMPLES_ONLY = (
    "your output matches bins averaged over their samples inside the feature map only: "
    "samples outside count as 0 and the divisor is always grid_h * grid_w"
)

WEIGHTS_SWAPPED = (
    "your result matches the two interpolation weights given to the wrong neighbours: with "
    "l = src - i0, pixel i0 gets 1 - l and pixel i1 = i0 + 1 gets l (the nearer pixel weighs "
    "more)"
)
SOURCE_UNCLAMPED = (
    "your result matches the half-pixel source coordinate left negative for the first output "
    "rows or columns: clamp src = (i + 0.5) * H / H_out - 0.5 at 0 before taking "
    "i0 = floor(src) and l = src - i0 (the border pixel repeats; nothing wraps around to the "
    "last pixel or extrapolates)"
)
BACKWARD_FANCY_ADD = (
    "your dx matches gradients scattered with fancy-index assignment (dx[..., i0, j0] += "
    "w * dout): where several output pixels read the same input pixel only one of their "
    "additions survives; accumulate them with xp.add.at, or use dx = A_h.T @ dout @ A_w"
)
SAMPLES_AT_BIN_START = (
    "your output matches each sample placed at the start of its sub-cell: sample iy of bin ph "
    "is at y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h, the centre of its sub-cell "
    "(likewise x)"
)
GRID_TRUNCATED = (
    "your output matches the adaptive number of samples rounded down (int(roi_h / PH)): with "
    "sampling_ratio <= 0, grid_h = ceil(roi_h / PH) samples per bin (likewise grid_w)"
)
GRID_FROM_BOX = (
    "your output matches the adaptive number of samples computed from the whole box, "
    "ceil(roi_h): it counts the samples of one bin, grid_h = ceil(roi_h / PH) (likewise "
    "grid_w = ceil(roi_w / PW))"
)
MIN_SIZE_FORGOTTEN = (
    "your output matches tiny boxes used at their own size with aligned=False: then "
    "roi_h = max(roi_h, 1) and roi_w = max(roi_w, 1) (malformed boxes are forced to be at "
    "least 1 x 1)"
)
MIN_SIZE_ALWAYS = (
    "your output matches boxes forced to be at least 1 x 1 with aligned=True too: only "
    "aligned=False clamps roi_h = max(roi_h, 1); with aligned=True a box keeps its own size"
)
OUTSIDE_CLAMPED = (
    "your output matches samples outside the map clamped onto its border: a sample with "
    "y < -1, y > H, x < -1 or x > W is 0 (it still counts in the divisor); only samples in "
    "range are clamped"
)


def _matrix(in_size: int, out_size: int, src: np.ndarray) -> np.ndarray:
    """The (out_size, in_size) interpolation matrix reading the input at ``src`` (the
    reference's border rules: the last pixel repeats, weights clipped to [0, 1])."""
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
    rows = np.arange(out_size)
    a = np.zeros((out_size, in_size))
    np.add.at(a, (rows, i0), 1.0 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


def _no_half_pixel(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    return _matrix(in_size, out_size, np.arange(out_size) * (in_size / out_size))


def _scale_inverted(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        scale = (out_size - 1) / (in_size - 1) if in_size > 1 else 0.0
        return _matrix(in_size, out_size, dst * scale)
    return _matrix(in_size, out_size, np.maximum((dst + 0.5) * (out_size / in_size) - 0.5, 0.0))


def _source(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    """The source coordinates of the output pixels, the half-pixel ones NOT clamped at 0."""
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        return dst * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    return (dst + 0.5) * (in_size / out_size) - 0.5


def _taps(src: np.ndarray, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i0, i1, l)`` of the reference's border rules at the source coordinates ``src``."""
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    return i0, np.where(i0 < in_size - 1, i0 + 1, i0), lam


def _weights_swapped(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    src = np.maximum(_source(in_size, out_size, align_corners), 0.0)
    i0, i1, lam = _taps(src, in_size)
    rows = np.arange(out_size)
    a = np.zeros((out_size, in_size))
    np.add.at(a, (rows, i0), lam)
    np.add.at(a, (rows, i1), 1.0 - lam)
    return a


def _unclamped_wrapped(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    """Index -1 read as the last pixel (a gather ``x[..., i0, :]``)."""
    return _matrix(in_size, out_size, _source(in_size, out_size, align_corners))


def _unclamped_dropped(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    """The weight of index -1 lost (a one-hot ``cols == i0`` matrix; also the "hat" weights
    ``max(0, 1 - |src - i|)`` over the pixels)."""
    src = _source(in_size, out_size, align_corners)
    i0, i1, lam = _taps(src, in_size)
    cols = np.arange(in_size)[None, :]
    return (1.0 - lam)[:, None] * (cols == i0[:, None]) + lam[:, None] * (cols == i1[:, None])


def _unclamped_extrapolated(in_size: int, out_size: int, align_corners: bool) -> np.ndarray:
    """The indices clipped into the plane, the weights not: ``l = src - i0`` below 0."""
    src = _source(in_size, out_size, align_corners)
    i0 = np.clip(np.floor(src).astype(np.int64), 0, in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    lam = np.where(i0 < in_size - 1, src - i0, 0.0)
    rows = np.arange(out_size)
    a = np.zeros((out_size, in_size))
    np.add.at(a, (rows, i0), 1.0 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


Mapping = Callable[[int, int, bool], np.ndarray]


def _resized(x: np.ndarray, size: tuple[int, int], align_corners: bool, mapping: Mapping) -> Any:
    a_h = mapping(x.shape[2], size[0], align_corners)
    a_w = mapping(x.shape[3], size[1], align_corners)
    return np.einsum("ih,nchw,jw->ncij", a_h, x, a_w).astype(x.dtype)


def _resized_backward(
    dout: np.ndarray, shape: tuple[int, ...], align_corners: bool, mapping: Mapping
) -> Any:
    a_h = mapping(int(shape[2]), dout.shape[2], align_corners)
    a_w = mapping(int(shape[3]), dout.shape[3], align_corners)
    return np.einsum("ih,ncij,jw->nchw", a_h, dout, a_w).astype(dout.dtype)


def _fancy_added(dout: np.ndarray, shape: tuple[int, ...], align_corners: bool) -> list[Any]:
    """bilinear_resize_backward scattered with ``dx[idx] += v`` (buffered: of repeated
    indices one addition survives): the four corners in turn, or one axis after the other
    (either axis first)."""
    n, c, h, w = (int(v) for v in shape)
    ys = _taps(np.maximum(_source(h, dout.shape[2], align_corners), 0.0), h)
    xs = _taps(np.maximum(_source(w, dout.shape[3], align_corners), 0.0), w)
    g = dout.astype(np.float64)
    corners = np.zeros((n, c, h, w))
    for y, wy in ((ys[0], 1.0 - ys[2]), (ys[1], ys[2])):
        for x, wx in ((xs[0], 1.0 - xs[2]), (xs[1], xs[2])):
            corners[:, :, y[:, None], x[None, :]] += wy[:, None] * wx[None, :] * g
    rows = np.zeros((n, c, h, dout.shape[3]))
    rows[:, :, ys[0], :] += (1.0 - ys[2])[:, None] * g
    rows[:, :, ys[1], :] += ys[2][:, None] * g
    height_first = np.zeros((n, c, h, w))
    height_first[..., xs[0]] += (1.0 - xs[2]) * rows
    height_first[..., xs[1]] += xs[2] * rows
    cols = np.zeros((n, c, dout.shape[2], w))
    cols[..., xs[0]] += (1.0 - xs[2]) * g
    cols[..., xs[1]] += xs[2] * g
    width_first = np.zeros((n, c, h, w))
    width_first[:, :, ys[0], :] += (1.0 - ys[2])[:, None] * cols
    width_first[:, :, ys[1], :] += ys[2][:, None] * cols
    return [v.astype(dout.dtype) for v in (corners, height_first, width_first)]


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        return int(value[0]), int(value[1])
    return int(value), int(value)


@diagnoses_for("bilinear_resize", "bilinear_resize_backward")
def _bilinear(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    align_corners = bool(arguments["align_corners"])
    hint = (
        f"your result matches align_corners={not align_corners}, but this call used "
        f"align_corners={align_corners}: check how output pixels map to input coordinates"
    )
    suspects = [suspect(function, call, hint, align_corners=not align_corners)]
    mappings: list[tuple[str, Mapping]] = [
        (SCALE_INVERTED, _scale_inverted),
        (WEIGHTS_SWAPPED, _weights_swapped),
    ]
    if not align_corners:
        mappings.append((NO_HALF_PIXEL, _no_half_pixel))
        for unclamped in (_unclamped_wrapped, _unclamped_dropped, _unclamped_extrapolated):
            mappings.append((SOURCE_UNCLAMPED, unclamped))
    if call.function == "bilinear_resize":
        x, size = arguments["x"], _size(arguments["size"])
        for text, mapping in mappings:
            suspects.append(computed(text, lambda m=mapping: _resized(x, size, align_corners, m)))
        if size[0] != size[1]:
            suspects.append(suspect(function, call, SIZE_SWAPPED, size=size[::-1]))
        return suspects
    dout, shape = arguments["dout"], tuple(arguments["input_shape"])
    for text, mapping in mappings:
        suspects.append(
            computed(text, lambda m=mapping: _resized_backward(dout, shape, align_corners, m))
        )
    resized = (int(shape[2]), int(shape[3]))
    suspects.append(
        computed(
            BACKWARD_AS_RESIZE, lambda: reference.bilinear_resize(dout, resized, align_corners)
        )
    )
    try:
        fancy = _fancy_added(dout, shape, align_corners)
    except Exception:  # the mistake cannot be made in this call
        fancy = []
    suspects += [Suspect(BACKWARD_FANCY_ADD, variant) for variant in fancy]
    return suspects


def _rounded_corners(arguments: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments with the scaled box corners rounded to whole pixels."""
    x, boxes, scale = arguments["x"], arguments["boxes"], float(arguments["spatial_scale"])
    corners = np.round(boxes[:, 1:].astype(x.dtype) * scale)
    rounded = np.column_stack([boxes[:, :1].astype(x.dtype), corners])
    return dict(arguments, boxes=rounded, spatial_scale=1.0)


def _valid_samples_only(roi_align: Any, arguments: dict[str, Any]) -> Any:
    """roi_align with each bin divided by its samples inside the map only.

    RoI Align of a plane of ones is the fraction of each bin's samples inside the map (the
    bilinear weights of a sample inside sum to 1); dividing by it turns the average over all
    grid_h * grid_w samples into the average over those inside."""
    out = roi_align(**arguments)
    inside = roi_align(**dict(arguments, x=np.ones_like(arguments["x"])))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inside > 0, out / inside, 0).astype(out.dtype)


def _roi_axis(
    start: np.ndarray,
    end: np.ndarray,
    pooled: int,
    size: int,
    sampling_ratio: int,
    at_least_one: bool,
    mistake: str,
) -> tuple[np.ndarray, np.ndarray]:
    """RoI Align's per-box weights along one axis, (K, pooled, size), and its grid (K,), in
    the reference's arithmetic (the dtype of ``start``), but for one ``mistake``: "start"
    (samples at their sub-cells' start), "floor" or "box" (the adaptive grid rounded down, or
    of the whole box), "outside" (samples out of range clamped, not 0), or "" (none)."""
    dtype = start.dtype
    length = end - start
    if at_least_one:
        length = np.maximum(length, dtype.type(1.0))
    bin_size = length / dtype.type(pooled)
    if sampling_ratio > 0:
        grid = np.full(start.shape, sampling_ratio, dtype=np.int64)
    elif mistake == "floor":
        grid = np.maximum(np.floor(bin_size), 0).astype(np.int64)
    elif mistake == "box":
        grid = np.maximum(np.ceil(length), 0).astype(np.int64)
    else:
        grid = np.maximum(np.ceil(bin_size), 0).astype(np.int64)
    k, g_max = start.shape[0], int(grid.max(initial=0))
    if g_max == 0:
        return np.zeros((k, pooled, size)), grid
    p = np.arange(pooled, dtype=dtype)[None, :, None]
    i = np.arange(g_max, dtype=dtype)[None, None, :]
    if mistake != "start":
        i = i + dtype.type(0.5)
    b = bin_size[:, None, None]
    g = np.maximum(grid, 1).astype(dtype)[:, None, None]
    coord = start[:, None, None] + p * b + i * b / g
    valid = np.arange(g_max)[None, None, :] < grid[:, None, None]
    if mistake != "outside":
        valid = valid & (coord >= -1.0) & (coord <= size)
    coord = np.minimum(np.maximum(coord, 0.0), size).astype(np.float64)
    low = np.floor(coord).astype(np.int64)
    top = low >= size - 1
    low = np.where(top, size - 1, low)
    high = np.where(top, size - 1, low + 1)
    frac = np.where(top, 0.0, coord - low)
    weights = np.zeros((k, pooled, size))
    boxes, bins = (
        np.broadcast_to(np.arange(k)[:, None, None], low.shape),
        np.broadcast_to(np.arange(pooled)[None, :, None], low.shape),
    )
    np.add.at(weights, (boxes, bins, low), np.where(valid, 1.0 - frac, 0.0))
    np.add.at(weights, (boxes, bins, high), np.where(valid, frac, 0.0))
    return weights, grid


def _roi_align_mistaken(arguments: dict[str, Any], mistake: str = "", clamp: str = "") -> Any:
    """roi_align with one mistake (see :func:`_roi_axis`), and with the 1 x 1 minimum box
    size applied as ``clamp`` says: "never", "always", or "" (with aligned=False only)."""
    x, boxes = arguments["x"], arguments["boxes"]
    output_size = arguments["output_size"]
    ph, pw = _size(output_size)
    aligned = bool(arguments["aligned"])
    at_least_one = {"never": False, "always": True}.get(clamp, not aligned)
    offset = x.dtype.type(0.5 if aligned else 0.0)
    corners = boxes[:, 1:].astype(x.dtype) * x.dtype.type(float(arguments["spatial_scale"]))
    corners = corners - offset
    ratio = int(arguments["sampling_ratio"])
    h, w = int(x.shape[2]), int(x.shape[3])
    wy, grid_h = _roi_axis(corners[:, 1], corners[:, 3], ph, h, ratio, at_least_one, mistake)
    wx, grid_w = _roi_axis(corners[:, 0], corners[:, 2], pw, w, ratio, at_least_one, mistake)
    planes = x[boxes[:, 0].astype(np.int64)].astype(np.float64)  # (K, C, H, W)
    out = np.einsum("kph,kchw,kqw->kcpq", wy, planes, wx)
    count = np.maximum(grid_h * grid_w, 1).astype(np.float64)
    return (out / count[:, None, None, None]).astype(x.dtype)


@diagnoses_for("roi_align")
def _roi_align(reference: Any, call: Call) -> list[Suspect | str]:
    roi_align = reference.roi_align
    arguments = bound(roi_align, call)
    aligned = bool(arguments["aligned"])
    hint = (
        f"your result matches aligned={not aligned}: with aligned=True box coordinates are "
        f"shifted by -0.5 pixel; with aligned=False boxes are at least 1x1"
    )
    suspects = [suspect(roi_align, call, hint, aligned=not aligned)]
    scale = float(arguments["spatial_scale"])
    if scale != 1.0:
        suspects.append(suspect(roi_align, call, SCALE_IGNORED, spatial_scale=1.0))
        suspects.append(suspect(roi_align, call, SCALE_DIVIDED, spatial_scale=1.0 / scale))
    boxes = arguments["boxes"]
    if getattr(boxes, "ndim", 0) == 2 and boxes.shape[1] == 5:
        suspects.append(suspect(roi_align, call, BOXES_YX, boxes=boxes[:, [0, 2, 1, 4, 3]]))
        suspects.append(computed(CORNERS_ROUNDED, lambda: roi_align(**_rounded_corners(arguments))))
    suspects.append(computed(VALID_SAMPLES_ONLY, lambda: _valid_samples_only(roi_align, arguments)))
    if getattr(boxes, "ndim", 0) != 2 or boxes.shape[1] != 5 or boxes.shape[0] == 0:
        return suspects
    mistakes = [
        (SAMPLES_AT_BIN_START, "start", ""),
        (OUTSIDE_CLAMPED, "outside", ""),
        (
            MIN_SIZE_FORGOTTEN if not aligned else MIN_SIZE_ALWAYS,
            "",
            "always" if aligned else "never",
        ),
    ]
    if int(arguments["sampling_ratio"]) <= 0:
        mistakes += [(GRID_TRUNCATED, "floor", ""), (GRID_FROM_BOX, "box", "")]
    for text, mistake, clamp in mistakes:
        suspects.append(
            computed(text, lambda m=mistake, c=clamp: _roi_align_mistaken(arguments, m, c))
        )
    return suspects
