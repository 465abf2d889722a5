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
    mappings: list[tuple[str, Mapping]] = [(SCALE_INVERTED, _scale_inverted)]
    if not align_corners:
        mappings.append((NO_HALF_PIXEL, _no_half_pixel))
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
    return suspects
