"""Hidden tests for conv.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("conv"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]

# name: (x shape, w shape, stride, padding, dilation, groups, with bias)
CONFIGS = {
    "k3_stride1_padding0": ((2, 3, 7, 8), (4, 3, 3, 3), 1, 0, 1, 1, True),
    "k3_same_padding1": ((2, 3, 6, 6), (5, 3, 3, 3), 1, 1, 1, 1, True),
    "stride2_padding1_odd": ((2, 2, 9, 7), (3, 2, 3, 3), 2, 1, 1, 1, True),
    "stride3_padding2": ((1, 3, 11, 10), (2, 3, 3, 3), 3, 2, 1, 1, True),
    "stride2x1_padding1x2": ((2, 2, 8, 7), (3, 2, 3, 2), (2, 1), (1, 2), 1, 1, True),
    "dilation2_padding2": ((2, 2, 9, 9), (3, 2, 3, 3), 1, 2, 2, 1, True),
    "dilation2x1_stride2": ((1, 3, 10, 9), (4, 3, 3, 3), 2, 1, (2, 1), 1, True),
    "rect_kernel5x2_no_bias": ((2, 3, 8, 6), (4, 3, 5, 2), 1, (2, 0), 1, 1, False),
    "kernel1x1_stride2": ((2, 5, 7, 6), (3, 5, 1, 1), 2, 0, 1, 1, True),
    "groups2": ((2, 4, 6, 7), (6, 2, 3, 3), 1, 1, 1, 2, True),
    "depthwise": ((2, 4, 7, 6), (4, 1, 3, 3), 1, 1, 1, 4, True),
    "depthwise_multiplier2_stride2_no_bias": ((2, 3, 8, 9), (6, 1, 3, 3), 2, 1, 1, 3, False),
}
ALL = [pytest.param(*v, id=k) for k, v in CONFIGS.items()]
BACKWARD = [
    pytest.param(CONFIGS[k], id=k)
    for k in (
        "stride2_padding1_odd",
        "stride2x1_padding1x2",
        "dilation2x1_stride2",
        "rect_kernel5x2_no_bias",
        "groups2",
        "depthwise_multiplier2_stride2_no_bias",
    )
]


def _inputs(rng, x_shape, w_shape, bias, dtype):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return x, w, b


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups, bias", ALL)
def test_forward(
    student, reference, rng, x_shape, w_shape, stride, padding, dilation, groups, bias, dtype
):
    x, w, b = _inputs(rng, x_shape, w_shape, bias, dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert_close(student.conv_forward(x, w, b, **kw), reference.conv_forward(x, w, b, **kw))


def _backward_case(student, reference, rng, config, dtype, index, name):
    """Compare one of conv_backward's three outputs (index 0: dx, 1: dw, 2: db)."""
    x_shape, w_shape, stride, padding, dilation, groups, bias = config
    x, w, _ = _inputs(rng, x_shape, w_shape, bias, dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out_shape = reference.conv_forward(x, w, None, **kw).shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    got = student.conv_backward(dout, x, w, **kw)
    assert isinstance(got, tuple) and len(got) == 3, "conv_backward must return (dx, dw, db)"
    want = reference.conv_backward(dout, x, w, **kw)
    assert_close(got[index], want[index], name=name)


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", BACKWARD)
def test_backward_dx(student, reference, rng, config, dtype):
    _backward_case(student, reference, rng, config, dtype, 0, "dx")


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", BACKWARD)
def test_backward_dw(student, reference, rng, config, dtype):
    _backward_case(student, reference, rng, config, dtype, 1, "dw")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "config",
    [pytest.param(CONFIGS[k], id=k) for k in ("k3_same_padding1", "stride3_padding2", "groups2")],
)
def test_backward_db(student, reference, rng, config):
    _backward_case(student, reference, rng, config, np.float64, 2, "db")


@pytest.mark.points(0.5)
def test_forward_and_backward_batch_of_one_single_channel_1x1_image(student, reference, rng):
    # A 1 x 1 image with padding 1: only the kernel's centre tap ever sees a real pixel.
    x = rng.standard_normal((1, 1, 1, 1))
    w = rng.standard_normal((2, 1, 3, 3))
    b = rng.standard_normal(2)
    assert_close(
        student.conv_forward(x, w, b, padding=1), reference.conv_forward(x, w, b, padding=1)
    )
    dout = rng.standard_normal((1, 2, 1, 1))
    got = student.conv_backward(dout, x, w, padding=1)
    want = reference.conv_backward(dout, x, w, padding=1)
    for name, g, e in zip(("dx", "dw", "db"), got, want, strict=True):
        assert_close(g, e, name=name)


SEPARABLE = {
    # name: (x shape, channel multiplier, F, (KH, KW), stride, padding, dilation, biases)
    "k3_padding1": ((2, 3, 7, 7), 1, 4, (3, 3), 1, 1, 1, (True, True)),
    "multiplier2_stride2_rect": ((2, 2, 8, 9), 2, 3, (3, 2), 2, (1, 0), 1, (True, False)),
    "dilation2_no_biases": ((1, 3, 9, 8), 1, 2, (3, 3), 1, 2, 2, (False, False)),
}
SEPARABLE_CASES = [
    pytest.param("k3_padding1", np.float64, id="k3_padding1-float64"),
    pytest.param("multiplier2_stride2_rect", np.float64, id="multiplier2_stride2_rect-float64"),
    pytest.param("dilation2_no_biases", np.float64, id="dilation2_no_biases-float64"),
    pytest.param("multiplier2_stride2_rect", np.float32, id="multiplier2_stride2_rect-float32"),
]


def _separable_inputs(rng, config, dtype):
    x_shape, mult, f, (kh, kw), stride, padding, dilation, (bias_dw, bias_pw) = config
    c = x_shape[1]
    x = rng.standard_normal(x_shape).astype(dtype)
    w_dw = rng.standard_normal((c * mult, 1, kh, kw)).astype(dtype)
    w_pw = rng.standard_normal((f, c * mult, 1, 1)).astype(dtype)
    b_dw = rng.standard_normal(c * mult).astype(dtype) if bias_dw else None
    b_pw = rng.standard_normal(f).astype(dtype) if bias_pw else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    return x, w_dw, w_pw, b_dw, b_pw, kwargs


@pytest.mark.points(1)
@pytest.mark.parametrize("name, dtype", SEPARABLE_CASES)
def test_depthwise_separable_forward(student, reference, rng, name, dtype):
    x, w_dw, w_pw, b_dw, b_pw, kw = _separable_inputs(rng, SEPARABLE[name], dtype)
    assert_close(
        student.depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kw),
        reference.depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kw),
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("name, dtype", SEPARABLE_CASES)
def test_depthwise_separable_backward(student, reference, rng, name, dtype):
    x, w_dw, w_pw, b_dw, b_pw, kw = _separable_inputs(rng, SEPARABLE[name], dtype)
    out_shape = reference.depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kw).shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    got = student.depthwise_separable_backward(dout, x, w_dw, w_pw, b_dw, **kw)
    want = reference.depthwise_separable_backward(dout, x, w_dw, w_pw, b_dw, **kw)
    assert isinstance(got, dict) and set(got) == set(want), (
        f"depthwise_separable_backward must return a dict with keys {sorted(want)}"
    )
    for key in sorted(want):
        assert_close(got[key], want[key], name=key)


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, groups",
    [
        pytest.param((2, 3, 5, 5), (4, 2, 3, 3), (4,), 1, id="w_channels_not_matching_x"),
        pytest.param((2, 4, 5, 5), (6, 2, 3, 3), (6,), 4, id="w_channels_not_C_over_groups"),
        pytest.param((2, 4, 5, 5), (5, 2, 3, 3), (5,), 2, id="filters_not_divisible_by_groups"),
        pytest.param((2, 3, 5, 5), (4, 3, 3, 3), (3,), 1, id="bias_of_wrong_length"),
        pytest.param((3, 5, 5), (4, 3, 3, 3), (4,), 1, id="x_not_4d"),
        pytest.param((2, 3, 2, 5), (4, 3, 3, 3), (4,), 1, id="kernel_larger_than_input"),
    ],
)
def test_forward_raises_value_error(student, x_shape, w_shape, b_shape, groups):
    with pytest.raises(ValueError):
        student.conv_forward(
            np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), 1, 0, 1, groups
        )
