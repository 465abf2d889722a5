"""Hidden tests for interpolation.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("interpolation"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
ALIGN = [pytest.param(False, id="half_pixel"), pytest.param(True, id="align_corners")]

# (N, C, H, W) input shape and (H_out, W_out) output size. Sizes stay small enough that
# computing the source coordinates in float32 is well within the float32 tolerance.
RESIZE_CASES = [
    pytest.param((2, 3, 4, 5), (7, 9), id="upsample_4x5_to_7x9"),
    pytest.param((1, 2, 9, 7), (4, 3), id="downsample_9x7_to_4x3"),
    pytest.param((2, 2, 5, 8), (8, 3), id="mixed_5x8_to_8x3"),
    pytest.param((1, 3, 6, 5), (1, 1), id="to_1x1"),
    pytest.param((2, 2, 1, 1), (4, 3), id="from_1x1"),
    pytest.param((1, 2, 1, 6), (3, 4), id="one_row_1x6_to_3x4"),
    pytest.param((1, 1, 13, 3), (29, 2), id="nonsquare_13x3_to_29x2"),
]
BACKWARD_CASES = [RESIZE_CASES[i] for i in (0, 1, 3, 4, 6)]
ROI_ALIGN_SAMPLING = [-1, 0, 1, 2, 3]


def _compare_resize(student, reference, x, size, align_corners):
    got = student.bilinear_resize(x, size, align_corners=align_corners)
    want = reference.bilinear_resize(x, size, align_corners=align_corners)
    assert_close(got, want, name="out")


def _compare_resize_backward(student, reference, dout, shape, align_corners):
    got = student.bilinear_resize_backward(dout, shape, align_corners=align_corners)
    want = reference.bilinear_resize_backward(dout, shape, align_corners=align_corners)
    assert_close(got, want, name="dx")


def _compare_roi_align(student, reference, x, boxes, *args):
    assert_close(student.roi_align(x, boxes, *args), reference.roi_align(x, boxes, *args))


def _boxes(rng, kind, n, h, w, scale):
    """Boxes (K, 5) in input-image coordinates for a feature map h x w seen at ``scale``."""
    big_h, big_w = h / scale, w / scale
    if kind == "inside":
        k = 6
        x1, y1 = rng.uniform(0, 0.6 * big_w, k), rng.uniform(0, 0.6 * big_h, k)
        x2 = x1 + rng.uniform(0.5, 0.5 + 0.4 * big_w, k)
        y2 = y1 + rng.uniform(0.5, 0.5 + 0.4 * big_h, k)
    elif kind == "partly_outside":
        k = 8
        x1, y1 = rng.uniform(-0.6 * big_w, big_w, k), rng.uniform(-0.6 * big_h, big_h, k)
        x2 = x1 + rng.uniform(1, 1.6 * big_w, k)
        y2 = y1 + rng.uniform(1, 1.6 * big_h, k)
    elif kind == "tiny":  # smaller than one feature-map pixel
        k = 6
        x1, y1 = rng.uniform(-1, big_w, k), rng.uniform(-1, big_h, k)
        x2 = x1 + rng.uniform(0, 0.9 / scale, k)
        y2 = y1 + rng.uniform(0, 0.9 / scale, k)
    elif kind == "degenerate":  # zero width and/or height, or corners the wrong way round
        k = 5
        x1, y1 = rng.uniform(0, big_w, k), rng.uniform(0, big_h, k)
        x2 = x1 - np.array([0.0, 1.5, 3.0, 0.0, -2.0]) / scale
        y2 = y1 + np.array([0.0, 2.0, -1.0, -0.3, 0.0]) / scale
    else:  # "mixed"
        parts = [_boxes(rng, kind, n, h, w, scale) for kind in ("inside", "partly_outside")]
        parts += [_boxes(rng, kind, n, h, w, scale)[:3] for kind in ("tiny", "degenerate")]
        boxes = np.concatenate(parts)
        return boxes[rng.permutation(len(boxes))]
    return np.column_stack([rng.integers(0, n, k).astype(np.float64), x1, y1, x2, y2])


# --------------------------------------------------------------------------------------------
# bilinear_resize
# --------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize(("shape", "size"), RESIZE_CASES)
def test_resize_forward_float64(student, reference, rng, shape, size, align_corners):
    x = rng.standard_normal(shape)
    _compare_resize(student, reference, x, size, align_corners)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize(("shape", "size"), [RESIZE_CASES[0], RESIZE_CASES[2]])
def test_resize_forward_float32(student, reference, rng, shape, size, align_corners):
    x = rng.standard_normal(shape).astype(np.float32)
    _compare_resize(student, reference, x, size, align_corners)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_resize_forward_int_size_and_strided_input(student, reference, rng, dtype):
    # size given as an int; x a non-contiguous view (every other example, transposed planes).
    x = rng.standard_normal((4, 2, 7, 5)).astype(dtype).transpose(0, 1, 3, 2)[::2]
    _compare_resize(student, reference, x, 4, False)
    _compare_resize(student, reference, x, 11, True)


@pytest.mark.points(0.75)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize(("shape", "size"), BACKWARD_CASES)
def test_resize_backward_float64(student, reference, rng, shape, size, align_corners):
    dout = rng.standard_normal(shape[:2] + size)
    _compare_resize_backward(student, reference, dout, shape, align_corners)


@pytest.mark.points(0.75)
@pytest.mark.parametrize("align_corners", ALIGN)
def test_resize_backward_float32(student, reference, rng, align_corners):
    shape, size = (2, 3, 6, 5), (9, 4)
    dout = rng.standard_normal(shape[:2] + size).astype(np.float32)
    _compare_resize_backward(student, reference, dout, shape, align_corners)


@pytest.mark.points(0.5)
def test_resize_rejects_bad_arguments(student):
    x = np.zeros((1, 1, 4, 4))
    for bad_size in [0, (3, 0), (3,), (2.5, 3)]:
        with pytest.raises(ValueError):
            student.bilinear_resize(x, bad_size)
    with pytest.raises(ValueError):
        student.bilinear_resize(np.zeros((4, 4)), (2, 2))


# --------------------------------------------------------------------------------------------
# roi_align
# --------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize("sampling_ratio", ROI_ALIGN_SAMPLING)
@pytest.mark.parametrize(
    "aligned", [pytest.param(False, id="unaligned"), pytest.param(True, id="aligned")]
)
def test_roi_align_mixed_boxes_float64(student, reference, rng, aligned, sampling_ratio):
    x = rng.standard_normal((2, 3, 7, 9))
    boxes = _boxes(rng, "mixed", 2, 7, 9, 1.0)
    _compare_roi_align(student, reference, x, boxes, (3, 4), 1.0, sampling_ratio, aligned)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("spatial_scale", [1.0, 0.5, 0.25])
def test_roi_align_spatial_scale(student, reference, rng, spatial_scale):
    x = rng.standard_normal((2, 2, 8, 6))
    boxes = _boxes(rng, "mixed", 2, 8, 6, spatial_scale)
    for aligned in (False, True):
        _compare_roi_align(student, reference, x, boxes, (2, 3), spatial_scale, -1, aligned)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize(
    "aligned", [pytest.param(False, id="unaligned"), pytest.param(True, id="aligned")]
)
def test_roi_align_mixed_boxes_float32(student, reference, rng, aligned, sampling_ratio):
    x = rng.standard_normal((2, 4, 10, 8)).astype(np.float32)
    boxes = _boxes(rng, "mixed", 2, 10, 8, 0.5).astype(np.float32)
    _compare_roi_align(student, reference, x, boxes, (3, 2), 0.5, sampling_ratio, aligned)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("kind", ["partly_outside", "tiny", "degenerate"])
@pytest.mark.parametrize(
    "aligned", [pytest.param(False, id="unaligned"), pytest.param(True, id="aligned")]
)
def test_roi_align_edge_boxes(student, reference, rng, kind, aligned):
    x = rng.standard_normal((3, 2, 6, 7))
    boxes = _boxes(rng, kind, 3, 6, 7, 0.5)
    for sampling_ratio in (-1, 2):
        _compare_roi_align(student, reference, x, boxes, (2, 2), 0.5, sampling_ratio, aligned)


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "output_size",
    [pytest.param(5, id="int_5"), pytest.param((1, 6), id="1x6"), pytest.param((4, 1), id="4x1")],
)
def test_roi_align_output_sizes(student, reference, rng, output_size):
    x = rng.standard_normal((2, 3, 9, 11))
    boxes = _boxes(rng, "mixed", 2, 9, 11, 1.0)
    for aligned in (False, True):
        _compare_roi_align(student, reference, x, boxes, output_size, 1.0, 0, aligned)


@pytest.mark.points(0.5)
def test_roi_align_large_boxes_adaptive_grid(student, reference, rng):
    # Very different adaptive grids in one call (1 sample per bin up to 10 x 14).
    x = rng.standard_normal((1, 2, 30, 41))
    boxes = np.array([[0, 0, 0, 41, 30], [0, 3.3, 4.1, 5.0, 5.2], [0, -6, 9, 50, 40]])
    for aligned in (False, True):
        _compare_roi_align(student, reference, x, boxes, (3, 3), 1.0, -1, aligned)


@pytest.mark.points(0.5)
def test_roi_align_single_row_and_column_maps(student, reference, rng):
    # H = 1 or W = 1: every sample hits the border rules.
    for shape in [(1, 2, 1, 1), (2, 1, 1, 6), (1, 2, 5, 1)]:
        x = rng.standard_normal(shape)
        boxes = _boxes(rng, "mixed", shape[0], shape[2], shape[3], 1.0)
        for aligned in (False, True):
            _compare_roi_align(student, reference, x, boxes, (2, 3), 1.0, -1, aligned)


@pytest.mark.points(0.5)
def test_roi_align_no_boxes(student, reference, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    _compare_roi_align(student, reference, x, np.zeros((0, 5)), (2, 3), 1.0, -1, False)


@pytest.mark.points(0.5)
def test_roi_align_rejects_bad_arguments(student):
    x = np.zeros((2, 1, 4, 4))
    good = np.array([[1.0, 0, 0, 2, 2]])
    with pytest.raises(ValueError):  # batch index out of range
        student.roi_align(x, np.array([[2.0, 0, 0, 2, 2]]), (2, 2))
    with pytest.raises(ValueError):  # boxes not (K, 5)
        student.roi_align(x, np.zeros((3, 4)), (2, 2))
    with pytest.raises(ValueError):  # output size not positive
        student.roi_align(x, good, (0, 2))
    with pytest.raises(ValueError):  # spatial_scale not positive
        student.roi_align(x, good, (2, 2), spatial_scale=0.0)
