"""Hidden tests for pooling.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("pooling"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]

# (input shape, kernel_size, stride, padding)
CONFIGS = {
    "k2_default_stride": ((2, 3, 8, 8), 2, None, 0),
    "k3_s2_p1_overlapping_odd": ((2, 3, 7, 9), 3, 2, 1),
    "k3_s1_overlapping": ((1, 2, 9, 6), 3, 1, 0),
    "k3x2_s2x1_p1x0": ((2, 2, 6, 7), (3, 2), (2, 1), (1, 0)),
    "k5_p2_single_window": ((3, 1, 5, 5), 5, None, 2),
    "k2_s3_p1_gaps": ((2, 2, 7, 5), 2, 3, 1),
    "k1x3_s1x2_p0x1": ((1, 3, 4, 6), (1, 3), (1, 2), (0, 1)),
    "k4_s1_p2_output_larger": ((2, 2, 5, 5), 4, 1, 2),
}
ALL = [pytest.param(*v, id=k) for k, v in CONFIGS.items()]
SOME = [
    pytest.param(*CONFIGS[k], id=k)
    for k in (
        "k2_default_stride",
        "k3_s2_p1_overlapping_odd",
        "k3x2_s2x1_p1x0",
        "k2_s3_p1_gaps",
        "k4_s1_p2_output_larger",
    )
]


def _max_pool_case(student, reference, x, k, s, p):
    got = student.max_pool_forward(x, k, s, p)
    want = reference.max_pool_forward(x, k, s, p)
    assert isinstance(got, tuple) and len(got) == 2, (
        "max_pool_forward must return a tuple (out, switches)"
    )
    assert_close(got[0], want[0], name="out")
    assert_close(got[1], want[1], name="switches")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p", ALL)
def test_max_pool_forward(student, reference, rng, shape, k, s, p, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    _max_pool_case(student, reference, x, k, s, p)


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "shape, k, s, p",
    [
        pytest.param(*CONFIGS["k3_s1_overlapping"], id="quantized_k3_s1_overlapping"),
        pytest.param(*CONFIGS["k3_s2_p1_overlapping_odd"], id="quantized_k3_s2_p1"),
        pytest.param(*CONFIGS["k4_s1_p2_output_larger"], id="quantized_k4_s1_p2"),
    ],
)
def test_max_pool_forward_ties(student, reference, rng, shape, k, s, p):
    # Only 3 distinct values: most windows have several maxima; the first in row-major
    # window order must win.
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    _max_pool_case(student, reference, x, k, s, p)


@pytest.mark.points(0.5)
def test_max_pool_forward_ties_constant_regions(student, reference, rng):
    x = rng.standard_normal((2, 2, 8, 7))
    x[:, :, 1:6, 2:7] = 1.5  # a constant block spanning several overlapping windows
    x[1, 1] = -2.0  # a constant plane, negative (padding must never win)
    _max_pool_case(student, reference, x, 3, 2, 1)


@pytest.mark.points(0.5)
def test_max_pool_forward_nan_propagates(student, reference, rng):
    # One NaN in some windows (never two in one window): the NaN wins, as in PyTorch.
    x = rng.standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 2] = np.nan
    _max_pool_case(student, reference, x, 2, None, 0)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("p", [0, 1], ids=["unpadded", "padded"])
def test_max_pool_forward_all_minus_infinity_windows(student, reference, rng, p):
    # Blocks of -inf fill whole windows away from the plane's corner: their output is -inf
    # and their switch is the window's first real element (PyTorch's rule).
    x = rng.standard_normal((2, 2, 8, 8))
    x[0, 0, 2:6, 4:8] = -np.inf
    x[1, 1, 4:8, 0:8] = -np.inf
    _max_pool_case(student, reference, x, 2, 2, p)


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p", SOME)
def test_max_pool_backward(student, reference, rng, shape, k, s, p, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    _, switches = reference.max_pool_forward(x, k, s, p)
    dout = rng.standard_normal(switches.shape).astype(dtype)
    got = student.max_pool_backward(dout, switches, x.shape)
    assert_close(got, reference.max_pool_backward(dout, switches, x.shape), name="dx")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "shape, k, s, p",
    [
        pytest.param(*CONFIGS["k3_s1_overlapping"], id="quantized_k3_s1_overlapping"),
        pytest.param(*CONFIGS["k4_s1_p2_output_larger"], id="quantized_k4_s1_p2"),
    ],
)
def test_max_pool_backward_overlapping_ties(student, reference, rng, shape, k, s, p):
    # Few distinct values and overlapping windows: many windows share one switch, whose
    # gradient is the sum of theirs.
    x = rng.integers(0, 2, size=shape).astype(np.float64)
    _, switches = reference.max_pool_forward(x, k, s, p)
    dout = rng.standard_normal(switches.shape)
    got = student.max_pool_backward(dout, switches, x.shape)
    assert_close(got, reference.max_pool_backward(dout, switches, x.shape), name="dx")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include_pad", "exclude_pad"])
@pytest.mark.parametrize("shape, k, s, p", SOME)
def test_avg_pool_forward(student, reference, rng, shape, k, s, p, count_include_pad):
    x = rng.standard_normal(shape)
    got = student.avg_pool_forward(x, k, s, p, count_include_pad)
    assert_close(got, reference.avg_pool_forward(x, k, s, p, count_include_pad), name="out")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include_pad", "exclude_pad"])
@pytest.mark.parametrize("shape, k, s, p", SOME)
def test_avg_pool_backward(student, reference, rng, shape, k, s, p, count_include_pad):
    x = rng.standard_normal(shape)
    out = reference.avg_pool_forward(x, k, s, p, count_include_pad)
    dout = rng.standard_normal(out.shape)
    got = student.avg_pool_backward(dout, x.shape, k, s, p, count_include_pad)
    want = reference.avg_pool_backward(dout, x.shape, k, s, p, count_include_pad)
    assert_close(got, want, name="dx")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include_pad", "exclude_pad"])
def test_avg_pool_float32(student, reference, rng, count_include_pad):
    shape, k, s, p = CONFIGS["k3_s2_p1_overlapping_odd"]
    x = rng.standard_normal(shape).astype(np.float32)
    got = student.avg_pool_forward(x, k, s, p, count_include_pad)
    assert_close(got, reference.avg_pool_forward(x, k, s, p, count_include_pad), name="out")
    dout = rng.standard_normal(got.shape).astype(np.float32)
    got = student.avg_pool_backward(dout, x.shape, k, s, p, count_include_pad)
    want = reference.avg_pool_backward(dout, x.shape, k, s, p, count_include_pad)
    assert_close(got, want, name="dx")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 4, 1, 1)], ids=["5x7", "1x1"])
def test_global_avg_pool(student, reference, rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    assert_close(
        student.global_avg_pool_forward(x), reference.global_avg_pool_forward(x), name="out"
    )
    dout = rng.standard_normal(shape[:2]).astype(dtype)
    assert_close(
        student.global_avg_pool_backward(dout, shape),
        reference.global_avg_pool_backward(dout, shape),
        name="dx",
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "k, s, p",
    [
        pytest.param(2, 1, 2, id="padding_over_half_kernel"),
        pytest.param(6, 1, 0, id="kernel_too_big"),
    ],
)
def test_invalid_hyper_parameters_raise(student, k, s, p):
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError):
        student.max_pool_forward(x, k, s, p)
    with pytest.raises(ValueError):
        student.avg_pool_forward(x, k, s, p)
