"""Public tests for pooling.py: hand-computed answers and numeric gradient checks.

Run them from your copy of the template with ``pytest public/``. Every option (stride,
overlapping windows, padding, ``(height, width)`` pairs, ``count_include_pad``) has a known
answer here and a numeric gradient check of its backward. The hidden tests compare your
functions with a reference implementation over many more shapes, dtypes and options (ties,
NaN, float32).

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("pooling")]

GRAD_TOL = dict(rtol=1e-6, atol_scale=1e-6)


def _plane(rows):
    """A (1, 1, H, W) float64 input from a list of rows."""
    return np.array(rows, dtype=np.float64)[None, None]


@pytest.mark.points(1)
def test_max_pool_forward_hand_computed_4x4(student):
    x = _plane([[1, 2, 5, 3], [4, 0, 6, 1], [7, 9, 2, 2], [3, 8, 1, 4]])
    out, switches = student.max_pool_forward(x, 2)
    assert_close(out, _plane([[4, 6], [9, 4]]), name="out")
    # Switches are flat indices h * W + w into the 4 x 4 input plane: 4 -> (1, 0),
    # 6 -> (1, 2), 9 -> (2, 1), 15 -> (3, 3).
    assert_close(switches, np.array([[[[4, 6], [9, 15]]]], dtype=np.int64), name="switches")


@pytest.mark.points(1)
def test_max_pool_forward_padding_is_minus_infinity(student):
    # All inputs are negative: zero padding would (wrongly) win every border window.
    x = -_plane([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    out, switches = student.max_pool_forward(x, 3, stride=2, padding=1)
    assert_close(out, _plane([[-1, -2], [-4, -5]]), name="out")
    # Switches index the UNPADDED 3 x 3 plane.
    assert_close(switches, np.array([[[[0, 1], [3, 4]]]], dtype=np.int64), name="switches")


@pytest.mark.points(1)
def test_max_pool_forward_ties_first_maximum_wins(student):
    # Window 1 holds 5 at (0, 1) and at (1, 0): the first in row-major order, (0, 1), wins.
    # Window 2 is constant: its first element (0, 2) wins.
    x = _plane([[0, 5, 2, 2], [5, 1, 2, 2]])
    out, switches = student.max_pool_forward(x, 2)
    assert_close(out, _plane([[5, 2]]), name="out")
    assert_close(switches, np.array([[[[1, 2]]]], dtype=np.int64), name="switches")


@pytest.mark.points(1)
def test_max_pool_forward_overlapping_windows_hand_computed(student):
    # 2 x 2 windows with stride 1 overlap: 7 at (1, 0) wins the two left windows.
    x = _plane([[1, 5, 2], [7, 3, 4], [0, 6, 8]])
    out, switches = student.max_pool_forward(x, 2, stride=1)
    assert_close(out, _plane([[7, 5], [7, 8]]), name="out")
    assert_close(switches, np.array([[[[3, 1], [3, 8]]]], dtype=np.int64), name="switches")


@pytest.mark.points(1)
def test_max_pool_forward_pairs_are_height_then_width(student):
    # kernel (1, 3) and stride (1, 2): windows one row high and three columns wide, two
    # columns apart; columns 0-2 and 2-4 of each row.
    x = _plane([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]])
    out, switches = student.max_pool_forward(x, (1, 3), stride=(1, 2))
    assert_close(out, _plane([[4, 5], [9, 6]]), name="out")
    assert_close(switches, np.array([[[[2, 4], [5, 7]]]], dtype=np.int64), name="switches")


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "kernel_size, stride, padding, out_hw",
    [
        (3, 2, 1, (4, 5)),
        (2, None, 0, (3, 4)),
        ((3, 2), (2, 1), 0, (3, 8)),
        (3, 1, (1, 0), (7, 7)),
    ],
    ids=["k3_s2_p1", "k2_default_stride", "k3x2_s2x1", "k3_s1_p1x0"],
)
def test_pool_output_shapes(student, rng, kernel_size, stride, padding, out_hw):
    x = rng.standard_normal((2, 3, 7, 9))
    out, switches = student.max_pool_forward(x, kernel_size, stride, padding)
    assert out.shape == (2, 3, *out_hw), (
        f"max_pool out: expected {(2, 3, *out_hw)}, got {out.shape}"
    )
    assert switches.shape == out.shape and switches.dtype == np.int64, (
        f"switches: expected int64 {out.shape}, got {switches.dtype} {switches.shape}"
    )
    avg = student.avg_pool_forward(x, kernel_size, stride, padding)
    assert avg.shape == (2, 3, *out_hw), (
        f"avg_pool out: expected {(2, 3, *out_hw)}, got {avg.shape}"
    )


@pytest.mark.points(0.75)
def test_max_pool_backward_hand_computed(student):
    switches = np.array([[[[4, 6], [9, 15]]]], dtype=np.int64)
    dout = _plane([[1, 2], [3, 4]])
    dx = student.max_pool_backward(dout, switches, (1, 1, 4, 4))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1, 0], expected[0, 0, 1, 2] = 1, 2
    expected[0, 0, 2, 1], expected[0, 0, 3, 3] = 3, 4
    assert_close(dx, expected, name="dx")
    # float32 in -> float32 out.
    dx = student.max_pool_backward(dout.astype(np.float32), switches, (1, 1, 4, 4))
    assert_close(dx, expected.astype(np.float32), name="dx (float32 dout)")


@pytest.mark.points(0.75)
def test_max_pool_backward_shared_maximum_sums(student):
    # 2 x 2 windows with stride 1 on a 3 x 3 plane whose maximum is the centre: all four
    # windows select the centre (flat index 4), which receives the sum of their gradients.
    switches = np.full((1, 1, 2, 2), 4, dtype=np.int64)
    dout = _plane([[1, 2], [3, 4]])
    dx = student.max_pool_backward(dout, switches, (1, 1, 3, 3))
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 10
    assert_close(dx, expected, name="dx")


@pytest.mark.points(1.5)
@pytest.mark.parametrize(
    "kernel_size, stride, padding",
    [(2, None, 0), (3, 2, 1), ((2, 3), 1, (1, 1))],
    ids=["k2", "k3_s2_p1_overlapping", "k2x3_s1_p1_overlapping"],
)
def test_max_pool_backward_numeric_gradient(
    student, forward_oracle, rng, kernel_size, stride, padding
):
    # Distinct values 1 apart: no ties. At a tie the maximum has no derivative (nudging either
    # tied value by +-h changes which one wins), so central differences would not match any
    # analytic gradient. With gaps of 1 >> h the winner never changes while differencing.
    shape = (2, 2, 5, 6)
    x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64)
    out, switches = student.max_pool_forward(x, kernel_size, stride, padding)
    dout = rng.standard_normal(out.shape)
    dx = student.max_pool_backward(dout, switches, x.shape)

    def f(z):
        return forward_oracle.max_pool_forward(z, kernel_size, stride, padding)[0]

    assert_gradient_close(dx, f, x, dout, name="dx", **GRAD_TOL)


@pytest.mark.points(1.5)
def test_avg_pool_forward_hand_computed(student):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    out = student.avg_pool_forward(x, 2)
    assert_close(out, _plane([[2.5, 4.5], [10.5, 12.5]]), name="out")


def _window_means(x, kernel_size, stride, padding, count_include_pad):
    """Average pooling written out window by window: the zero-padded window's sum divided by
    k_h * k_w, or by the number of real (non-padding) elements it covers."""
    (kh, kw), (sh, sw), (ph, pw) = (
        v if isinstance(v, tuple) else (v, v) for v in (kernel_size, stride, padding)
    )
    real = np.pad(np.ones(x.shape[2:]), ((ph, ph), (pw, pw)))
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (x.shape[2] + 2 * ph - kh) // sh + 1
    wo = (x.shape[3] + 2 * pw - kw) // sw + 1
    out = np.zeros((*x.shape[:2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            divisor = kh * kw if count_include_pad else real[rows, cols].sum()
            out[:, :, i, j] = x_pad[:, :, rows, cols].sum(axis=(2, 3)) / divisor
    return out


@pytest.mark.points(1.5)
@pytest.mark.parametrize(
    "kernel_size, stride, padding, count_include_pad",
    [(3, 1, 0, True), ((3, 2), (2, 1), (1, 0), False)],
    ids=["k3_s1_overlapping", "k3x2_s2x1_p1x0_exclude_pad"],
)
def test_avg_pool_forward_window_by_window(
    student, rng, kernel_size, stride, padding, count_include_pad
):
    x = rng.standard_normal((2, 2, 5, 6))
    args = (kernel_size, stride, padding, count_include_pad)
    out = student.avg_pool_forward(x, *args)
    assert_close(out, _window_means(x, *args), name="out")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("count_include_pad, value", [(True, 4 / 9), (False, 1.0)])
def test_avg_pool_forward_count_include_pad(student, count_include_pad, value):
    # A 2 x 2 plane of ones, 3 x 3 windows, padding 1: every window covers the 4 ones and
    # 5 padding zeros. Divide by 9 (padding counted) or by 4 (real elements only).
    x = np.ones((1, 1, 2, 2))
    out = student.avg_pool_forward(x, 3, stride=1, padding=1, count_include_pad=count_include_pad)
    assert_close(out, np.full((1, 1, 2, 2), value), name="out")


@pytest.mark.points(1.25)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize(
    "kernel_size, stride, padding",
    [(2, None, 0), (3, 2, 1), ((3, 2), (2, 1), (1, 0))],
    ids=["k2", "k3_s2_p1_overlapping", "k3x2_s2x1_p1x0"],
)
def test_avg_pool_backward_numeric_gradient(
    student, forward_oracle, rng, kernel_size, stride, padding, count_include_pad
):
    x = rng.standard_normal((2, 2, 5, 6))
    args = (kernel_size, stride, padding, count_include_pad)
    out = student.avg_pool_forward(x, *args)
    dout = rng.standard_normal(out.shape)
    dx = student.avg_pool_backward(dout, x.shape, *args)

    def f(z):
        return forward_oracle.avg_pool_forward(z, *args)

    assert_gradient_close(dx, f, x, dout, name="dx", **GRAD_TOL)


@pytest.mark.points(1.5)
def test_global_avg_pool_forward_constants(student):
    # Plane (n, c) is filled with 10 * n + c: its mean is that constant.
    values = 10.0 * np.arange(2)[:, None] + np.arange(3)[None, :]
    x = np.broadcast_to(values[:, :, None, None], (2, 3, 4, 5)).copy()
    out = student.global_avg_pool_forward(x)
    assert_close(out, values, name="out")
    # float32 in -> float32 out.
    out = student.global_avg_pool_forward(x.astype(np.float32))
    assert_close(out, values.astype(np.float32), name="out (float32 x)")


@pytest.mark.points(1.5)
def test_global_avg_pool_backward_numeric_gradient(student, forward_oracle, rng):
    x = rng.standard_normal((2, 3, 3, 4))
    dout = rng.standard_normal((2, 3))
    dx = student.global_avg_pool_backward(dout, x.shape)
    forward = forward_oracle.global_avg_pool_forward
    assert_gradient_close(dx, forward, x, dout, name="dx", **GRAD_TOL)
