"""Public tests for interpolation.py: known answers and numeric gradient checks.

Run them from your copy of the template with ``pytest public/``. Both ``align_corners``
conventions, ``(height, width)`` sizes, ``aligned``, ``spatial_scale`` and fixed and adaptive
``sampling_ratio`` each have a known answer here, and the resize's backward a numeric
gradient check for both conventions. The hidden tests compare your functions with a reference
implementation over many more shapes, dtypes and options (boxes partly outside the image,
tiny and degenerate boxes, every ``sampling_ratio``, ...).

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("interpolation")]

ALIGN = [pytest.param(False, id="half_pixel"), pytest.param(True, id="align_corners")]


# --------------------------------------------------------------------------------------------
# bilinear_resize
# --------------------------------------------------------------------------------------------


@pytest.mark.points(0.75)
def test_resize_2x2_to_3x3_align_corners_hand_computed(student):
    # align_corners=True: the corners stay put; the new middle row/column are midpoints.
    a, b, c, d = 1.0, 2.0, 5.0, -3.0
    x = np.array([[[[a, b], [c, d]]]])
    expected = np.array(
        [
            [
                [
                    [a, (a + b) / 2, b],
                    [(a + c) / 2, (a + b + c + d) / 4, (b + d) / 2],
                    [c, (c + d) / 2, d],
                ]
            ]
        ]
    )
    assert_close(student.bilinear_resize(x, (3, 3), align_corners=True), expected, name="out")


@pytest.mark.points(0.75)
def test_resize_one_row_to_four_columns_hand_computed(student):
    # A 1 x 2 image [0, 1] resized to 1 x 4.
    # half-pixel: src = (j + 0.5) * 2 / 4 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the
    #   last reads column 1 and its right neighbour, which is column 1 again).
    # align_corners: src = j * (2 - 1) / (4 - 1) = 0, 1/3, 2/3, 1.
    x = np.array([[[[0.0, 1.0]]]])
    half = student.bilinear_resize(x, (1, 4), align_corners=False)
    assert_close(half, np.array([[[[0.0, 0.25, 0.75, 1.0]]]]), name="out (align_corners=False)")
    corners = student.bilinear_resize(x, (1, 4), align_corners=True)
    assert_close(corners, np.array([[[[0.0, 1 / 3, 2 / 3, 1.0]]]]), name="out (align_corners=True)")


@pytest.mark.points(0.75)
def test_resize_halving_is_2x2_average(student, rng):
    # half-pixel downsampling by exactly 2: src = 2 * i + 0.5, halfway between rows 2i and
    # 2i + 1 (and likewise for columns), so each output pixel is the mean of a 2 x 2 block.
    x = rng.standard_normal((2, 3, 6, 8))
    expected = x.reshape(2, 3, 3, 2, 4, 2).mean(axis=(3, 5))
    assert_close(student.bilinear_resize(x, (3, 4)), expected, name="out")


@pytest.mark.points(0.25)
@pytest.mark.parametrize("align_corners", ALIGN)
def test_resize_same_size_returns_input(student, rng, align_corners):
    x = rng.standard_normal((2, 3, 5, 7))
    assert_close(student.bilinear_resize(x, (5, 7), align_corners=align_corners), x, name="out")


@pytest.mark.points(0.25)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize("size", [(9, 4), (1, 1), 6], ids=["9x4", "1x1", "int_6"])
def test_resize_constant_image_stays_constant_float32(student, align_corners, size):
    # The weights of every output pixel sum to 1, so a constant image stays constant.
    # size may be an int (a square output). float32 in -> float32 out.
    x = np.full((2, 3, 5, 3), 2.5, dtype=np.float32)
    hw = (size, size) if isinstance(size, int) else size
    out = student.bilinear_resize(x, size, align_corners=align_corners)
    assert_close(out, np.full((2, 3, *hw), 2.5, dtype=np.float32), name="out")


@pytest.mark.points(0.25)
def test_resize_size_is_height_then_width(student):
    # size (3, 2) with align_corners=True: three rows (a new middle row of midpoints) and the
    # two columns unchanged.
    a, b, c, d = 1.0, 2.0, 5.0, -3.0
    x = np.array([[[[a, b], [c, d]]]])
    expected = np.array([[[[a, b], [(a + c) / 2, (b + d) / 2], [c, d]]]])
    assert_close(student.bilinear_resize(x, (3, 2), align_corners=True), expected, name="out")


@pytest.mark.points(0.75)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 2, 3, 4), (5, 7)), ((1, 2, 7, 6), (3, 4)), ((1, 1, 2, 5), (4, 3))],
    ids=["upsample_3x4_to_5x7", "downsample_7x6_to_3x4", "mixed_2x5_to_4x3"],
)
def test_resize_backward_numeric_gradient(student, forward_oracle, rng, shape, size, align_corners):
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape[:2] + size)
    dx = student.bilinear_resize_backward(dout, shape, align_corners=align_corners)

    def f(z):
        return forward_oracle.bilinear_resize(z, size, align_corners=align_corners)

    assert_gradient_close(dx, f, x, dout, name="dx", rtol=1e-6, atol_scale=1e-6)
    # float32 in -> float32 out: the same dx (checked above), in float32.
    dx32 = student.bilinear_resize_backward(
        dout.astype(np.float32), shape, align_corners=align_corners
    )
    assert_close(dx32, dx.astype(np.float32), name="dx (float32 dout)")


# --------------------------------------------------------------------------------------------
# roi_align
# --------------------------------------------------------------------------------------------


@pytest.mark.points(1.5)
def test_roi_align_one_pixel_boxes(student, rng):
    x = rng.standard_normal((2, 3, 5, 6))
    # aligned=True: the box [j, i, j + 1, i + 1] is exactly the square of pixel (i, j); with
    # one sample per bin, that sample is the pixel centre (i, j).
    boxes = np.array([[0, 2, 1, 3, 2], [1, 0, 4, 1, 5], [1, 5, 0, 6, 1]], dtype=np.float64)
    out = student.roi_align(x, boxes, 1, spatial_scale=1.0, sampling_ratio=1, aligned=True)
    expected = np.stack([x[0, :, 1, 2], x[1, :, 4, 0], x[1, :, 0, 5]])[:, :, None, None]
    assert_close(out, expected, name="out (aligned=True)")
    # aligned=False: a zero-size box at (i, j) is forced to be 1 x 1, [j, i, j + 1, i + 1],
    # whose only sample (sampling_ratio=1) is (i + 0.5, j + 0.5): the mean of a 2 x 2 block.
    boxes = np.array([[0, 2, 1, 2, 1], [1, 0, 3, 0, 3]], dtype=np.float64)
    out = student.roi_align(x, boxes, (1, 1), spatial_scale=1.0, sampling_ratio=1, aligned=False)
    expected = np.stack([x[0, :, 1:3, 2:4].mean(axis=(1, 2)), x[1, :, 3:5, 0:2].mean(axis=(1, 2))])
    assert_close(out, expected[:, :, None, None], name="out (aligned=False)")
    # aligned=True forces no minimum size: the 0.4 x 0.4 box x 1.2..1.6, y 2.1..2.5 is shifted to
    # x 0.7..1.1, y 1.6..2.0, and its one adaptive sample (ceil(0.4) = 1) is its centre (1.8, 0.9).
    boxes = np.array([[0, 1.2, 2.1, 1.6, 2.5]])
    out = student.roi_align(x, boxes, 1, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    expected = np.einsum("i,cij,j->c", _mean_of_samples([1.8], 5), x[0], _mean_of_samples([0.9], 6))
    assert_close(out, expected[None, :, None, None], name="out (aligned=True, a box under 1 x 1)")


@pytest.mark.points(1)
def test_roi_align_whole_image_box_returns_input(student, rng):
    # aligned=True, box [0, 0, W, H], output (H, W), one sample per bin: the samples are the
    # pixel centres, so each box returns its image.
    x = rng.standard_normal((2, 3, 4, 7))
    boxes = np.array([[1, 0, 0, 7, 4], [0, 0, 0, 7, 4]], dtype=np.float64)
    out = student.roi_align(x, boxes, (4, 7), spatial_scale=1.0, sampling_ratio=1, aligned=True)
    assert_close(out, x[[1, 0]], name="out")


@pytest.mark.points(0.75)
@pytest.mark.parametrize(
    "spatial_scale", [1.0, 0.5, 0.25], ids=["scale_1", "scale_0.5", "scale_0.25"]
)
def test_roi_align_adaptive_sampling_is_average_pooling(student, rng, spatial_scale):
    # aligned=True and sampling_ratio=-1 (adaptive): a box of side 8 (feature-map units) cut
    # into 2 x 2 bins has bins of side 4 and ceil(4) = 4 x 4 samples per bin, at the pixel
    # centres: each bin is the mean of a 4 x 4 block. A box of side 4 in the same call gets
    # 2 x 2 samples per bin: the means of 2 x 2 blocks. float32 in -> float32 out.
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    boxes = np.array([[0, 0, 0, 8, 8], [0, 0, 0, 4, 4]], dtype=np.float32) / spatial_scale
    boxes[:, 0] = 0
    expected = np.stack(
        [
            x[0].reshape(2, 2, 4, 2, 4).mean(axis=(2, 4)),
            x[0, :, :4, :4].reshape(2, 2, 2, 2, 2).mean(axis=(2, 4)),
        ]
    )
    for sampling_ratio in (-1, 0):  # every sampling_ratio <= 0 is adaptive
        out = student.roi_align(
            x, boxes, 2, spatial_scale=spatial_scale, sampling_ratio=sampling_ratio, aligned=True
        )
        assert_close(out, expected, name=f"out (sampling_ratio={sampling_ratio})")
    # Bins of a non-integer side round the sample count up: the box 1..4 (shifted to 0.5..3.5)
    # has bins of side 1.5 and ceil(1.5) = 2 samples per bin along each axis, 0.75 apart.
    box = np.array([[0, 1, 1, 4, 4]], dtype=np.float32) / spatial_scale
    box[:, 0] = 0
    out = student.roi_align(x, box, 2, spatial_scale=spatial_scale, sampling_ratio=-1, aligned=True)
    weights = np.stack(
        [_mean_of_samples(start + np.array([0.375, 1.125]), 8) for start in (0.5, 2)]
    )
    expected = np.einsum("pi,cij,qj->cpq", weights, x[0].astype(np.float64), weights)
    assert_close(out, expected[None].astype(np.float32), name="out (bins of side 1.5)")


def _mean_of_samples(samples, size):
    """The weights pixels 0 .. size - 1 receive in the mean of bilinear samples at the given
    coordinates (all inside [0, size - 1]): the "hat" max(0, 1 - |c - i|) of each sample."""
    pixels = np.arange(size)[None, :]
    return np.maximum(0.0, 1.0 - np.abs(np.asarray(samples)[:, None] - pixels)).mean(axis=0)


@pytest.mark.points(0.75)
@pytest.mark.parametrize("aligned", [False, True], ids=["unaligned", "aligned"])
def test_roi_align_fixed_sampling_ratio_hand_computed(student, rng, aligned):
    # Box x 0.4..3.4, y 0.2..3.2 (corners are never rounded), one bin, sampling_ratio=2: the
    # bin's two sample rows sit at y1 + 0.75 and y1 + 2.25 (y1 - 0.5 when aligned), likewise
    # the columns; the bin is the mean of the 2 x 2 bilinear samples.
    x = rng.standard_normal((1, 2, 5, 5))
    boxes = np.array([[0, 0.4, 0.2, 3.4, 3.2]])
    out = student.roi_align(x, boxes, 1, spatial_scale=1.0, sampling_ratio=2, aligned=aligned)
    shift = 0.5 if aligned else 0.0
    rows = _mean_of_samples(0.2 - shift + np.array([0.75, 2.25]), 5)
    cols = _mean_of_samples(0.4 - shift + np.array([0.75, 2.25]), 5)
    expected = np.einsum("i,cij,j->c", rows, x[0], cols)
    assert_close(out, expected[None, :, None, None], name="out")


@pytest.mark.points(0.75)
def test_roi_align_samples_outside_still_count_in_the_divisor(student, rng):
    # Box x 0.5..2.5, y -3..1, one bin, sampling_ratio=2, unaligned: sample rows at -2 (below
    # -1: the samples there are 0) and 0; sample columns at 1 and 2. The bin averages its 4
    # samples, the two outside ones included: (x[0, 1] + x[0, 2]) / 4.
    x = rng.standard_normal((1, 2, 5, 5))
    boxes = np.array([[0, 0.5, -3.0, 2.5, 1.0]])
    out = student.roi_align(x, boxes, 1, spatial_scale=1.0, sampling_ratio=2, aligned=False)
    expected = (x[0, :, 0, 1] + x[0, :, 0, 2]) / 4
    assert_close(out, expected[None, :, None, None], name="out")
    # Samples between -1 and 0 are not outside: they are clamped to 0. Box x 0..2, y 0..1,
    # aligned (shifted to x -0.5..1.5, y -0.5..0.5), sampling_ratio=2: sample rows at -0.25
    # (read as row 0) and 0.25, sample columns at 0 and 1.
    boxes = np.array([[0, 0.0, 0.0, 2.0, 1.0]])
    out = student.roi_align(x, boxes, 1, spatial_scale=1.0, sampling_ratio=2, aligned=True)
    rows, cols = _mean_of_samples([0.0, 0.25], 5), _mean_of_samples([0.0, 1.0], 5)
    expected = np.einsum("i,cij,j->c", rows, x[0], cols)
    assert_close(out, expected[None, :, None, None], name="out (samples between -1 and 0)")


@pytest.mark.points(0.5)
def test_roi_align_box_outside_image_is_zero_and_shapes(student, rng):
    # Samples with y < -1, y > H, x < -1 or x > W contribute 0. Output shape (K, C, PH, PW).
    x = rng.standard_normal((1, 2, 5, 5)) + 10.0
    boxes = np.array([[0, -12, -12, -4, -3], [0, 7.5, 0, 11, 5], [0, 1, 6.5, 4, 9]])
    out = student.roi_align(x, boxes, (3, 2), spatial_scale=1.0, sampling_ratio=2, aligned=False)
    assert_close(out, np.zeros((3, 2, 3, 2)), name="out")
