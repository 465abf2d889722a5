"""Public tests for conv.py: hand-computed answers, output shapes and numeric gradient checks.

Run them from your copy of the template with ``pytest public/``. Every option (stride, padding,
dilation, groups, ``(height, width)`` pairs) has a known answer here and a numeric gradient
check of its backward. The hidden tests compare your functions with a reference implementation
over many more shapes and options (rectangular kernels, no bias, float32).

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("conv")]

GRAD_TOL = dict(rtol=1e-6, atol_scale=1e-6)


def _plane(rows):
    """A (1, 1, H, W) float64 array from a list of rows."""
    return np.array(rows, dtype=np.float64)[None, None]


def _pair(value):
    return tuple(value) if isinstance(value, tuple) else (value, value)


def _picked(x, tap, stride, padding, dilation, out_hw):
    """What a kernel with a single 1 at ``tap`` computes: ``out[n, c, i, j] =
    x_pad[n, c, i*sh + u*dh, j*sw + v*dw]``, read off the zero-padded input by slicing."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    u, v = tap
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = out_hw
    rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
    cols = slice(v * dw, v * dw + sw * (wo - 1) + 1, sw)
    return x_pad[:, :, rows, cols]


# ------------------------------------------------------------------------------ forward


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, dilation, groups, out_shape",
    [
        ((2, 3, 32, 32), (8, 3, 3, 3), 1, 1, 1, 1, (2, 8, 32, 32)),  # "same" convolution
        ((1, 2, 7, 7), (4, 2, 3, 3), 2, 1, 1, 1, (1, 4, 4, 4)),
        ((3, 1, 10, 6), (2, 1, 3, 2), (2, 1), (0, 1), 1, 1, (3, 2, 4, 7)),
        ((1, 2, 9, 9), (5, 2, 3, 3), 1, 0, 2, 1, (1, 5, 5, 5)),  # dilated footprint 5 x 5
        ((2, 4, 5, 8), (6, 2, 1, 1), 1, 0, 1, 2, (2, 6, 5, 8)),  # 1 x 1, two groups
        ((1, 3, 11, 11), (3, 1, 5, 5), 3, 2, 1, 3, (1, 3, 4, 4)),  # depthwise
    ],
    ids=["same_k3_p1", "stride2_p1", "rect", "dilation2", "groups2_1x1", "depthwise_stride3"],
)
def test_forward_output_shape(
    student, x_shape, w_shape, stride, padding, dilation, groups, out_shape
):
    x = np.zeros(x_shape)
    w = np.zeros(w_shape)
    out = student.conv_forward(
        x, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    assert_close(out, np.zeros(out_shape), name="out")


@pytest.mark.points(1)
def test_forward_vertical_edge_filter_hand_computed(student):
    # A dark-to-bright vertical edge between columns 1 and 2, and a Sobel-like filter that
    # responds to "brighter on the right". Cross-correlation (no kernel flip): the windows
    # straddling the edge give +4, the flat window gives 0; the bias 0.5 is added everywhere.
    x = _plane([[0, 0, 1, 1, 1]] * 5)
    w = _plane([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    out = student.conv_forward(x, w, np.array([0.5]))
    assert_close(out, _plane([[4.5, 4.5, 0.5]] * 3), name="out")


@pytest.mark.points(1)
def test_forward_1x1_convolution_is_a_channel_mixing_matmul(student, rng):
    # A 1 x 1 convolution mixes channels independently at every pixel:
    # out[n, f, i, j] = sum_c w[f, c, 0, 0] * x[n, c, i, j] + b[f]
    x = rng.standard_normal((2, 4, 3, 5))
    w = rng.standard_normal((6, 4, 1, 1))
    b = rng.standard_normal(6)
    out = student.conv_forward(x, w, b)
    expected = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[None, :, None, None]
    assert_close(out, expected, name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "stride, expected",
    [
        (1, [[4, 6, 4], [6, 9, 6], [4, 6, 4]]),
        (2, [[4, 4], [4, 4]]),
        ((2, 1), [[4, 6, 4], [4, 6, 4]]),
    ],
    ids=["stride1", "stride2", "stride2x1"],
)
def test_forward_zero_padding_counts_real_pixels(student, stride, expected):
    # A 3 x 3 all-ones kernel on an all-ones image with padding 1 counts how many real
    # (non-padding) pixels each window covers: 4 in corners, 6 on edges, 9 inside.
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 3, 3))
    out = student.conv_forward(x, w, None, stride=stride, padding=1)
    assert_close(out, _plane(expected), name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("tap", [(1, 1), (0, 0)], ids=["center", "top_left"])
def test_forward_identity_and_shift_kernels(student, rng, tap):
    # w[c, c] is a 3 x 3 kernel with a single 1: at the center it copies each channel
    # unchanged; at the top-left tap (u, v) = (0, 0) with padding 1, out[i, j] = x_pad[i, j] =
    # x[i - 1, j - 1]: the image moves one pixel down and right, zeros come in.
    x = rng.standard_normal((2, 3, 5, 6))
    w = np.zeros((3, 3, 3, 3))
    for c in range(3):
        w[c, c][tap] = 1.0
    out = student.conv_forward(x, w, None, padding=1)
    if tap == (1, 1):
        expected = x
    else:
        expected = np.zeros_like(x)
        expected[:, :, 1:, 1:] = x[:, :, :-1, :-1]
    assert_close(out, expected, name="out")


SINGLE_TAP_CASES = {
    # name: (x shape, kernel size, tap, stride, padding, dilation, output size)
    "stride2": ((1, 2, 7, 6), (3, 3), (2, 1), 2, 0, 1, (3, 2)),
    "stride3_padding1": ((2, 2, 8, 7), (3, 3), (0, 2), 3, 1, 1, (3, 3)),
    "dilation2": ((1, 2, 7, 7), (3, 3), (2, 1), 1, 0, 2, (3, 3)),
    "dilation3_padding2": ((1, 2, 6, 6), (2, 2), (1, 1), 1, 2, 3, (7, 7)),
    "padding2x1": ((1, 2, 4, 5), (3, 3), (0, 0), 1, (2, 1), 1, (6, 5)),
    "pairs": ((2, 2, 8, 9), (3, 2), (2, 1), (2, 1), (1, 0), (1, 3), (4, 6)),
}


@pytest.mark.points(0.5)
@pytest.mark.parametrize("case", SINGLE_TAP_CASES)
def test_forward_single_tap_kernel_reads_the_strided_dilated_padded_input(student, rng, case):
    # A kernel whose only nonzero tap is w[c, c, u, v] = 1 copies one input pixel per output
    # pixel: out[n, c, i, j] = x_pad[n, c, i*sh + u*dh, j*sw + v*dw] (the formula of the
    # module docstring with one term left). Pairs are (height, width).
    x_shape, (kh, kw), tap, stride, padding, dilation, out_hw = SINGLE_TAP_CASES[case]
    c = x_shape[1]
    x = rng.standard_normal(x_shape)
    w = np.zeros((c, c, kh, kw))
    for channel in range(c):
        w[channel, channel][tap] = 1.0
    out = student.conv_forward(x, w, None, stride=stride, padding=padding, dilation=dilation)
    assert_close(out, _picked(x, tap, stride, padding, dilation, out_hw), name="out")


@pytest.mark.points(1)
def test_forward_dilation_hand_computed(student):
    # A 2 x 2 all-ones kernel with dilation 2 adds the 4 corners of each 3 x 3 footprint.
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    w = np.ones((1, 1, 2, 2))
    out = student.conv_forward(x, w, None, dilation=2)
    p = x[0, 0]
    expected = p[:3, :3] + p[:3, 2:] + p[2:, :3] + p[2:, 2:]
    assert_close(out, expected[None, None], name="out")


@pytest.mark.points(1)
def test_forward_groups_mix_channels_within_their_group_only(student, rng):
    # groups=2 with 1 x 1 kernels: input channels 0-1 feed filters 0-2 only (through
    # w[0:3, :, 0, 0]), channels 2-3 feed filters 3-5 (through w[3:6, :, 0, 0]).
    x = rng.standard_normal((2, 4, 3, 4))
    w = rng.standard_normal((6, 2, 1, 1))
    b = rng.standard_normal(6)
    out = student.conv_forward(x, w, b, groups=2)
    first = np.einsum("fc,nchw->nfhw", w[:3, :, 0, 0], x[:, :2])
    second = np.einsum("fc,nchw->nfhw", w[3:, :, 0, 0], x[:, 2:])
    expected = np.concatenate([first, second], axis=1) + b[None, :, None, None]
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
def test_forward_depthwise_filters_each_channel_on_its_own(student):
    # groups = C = 3, channel multiplier 2: filter f sees input channel f // 2 only. Filter f
    # is (f + 1) times the all-ones 3 x 3 kernel; input channel c is the constant c + 1; with
    # padding 1 each window sums (c + 1) over the real pixels it covers (4, 6 or 9).
    x = np.ones((1, 3, 3, 3)) * np.arange(1.0, 4.0)[None, :, None, None]
    w = np.ones((6, 1, 3, 3)) * np.arange(1.0, 7.0)[:, None, None, None]
    out = student.conv_forward(x, w, None, padding=1, groups=3)
    counts = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]], dtype=np.float64)
    scale = np.arange(1.0, 7.0) * (np.arange(6) // 2 + 1)  # (f + 1) * (c + 1), c = f // 2
    assert_close(out, scale[None, :, None, None] * counts[None, None], name="out")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "x_shape, w_shape, groups",
    [((1, 3, 5, 5), (4, 1, 3, 3), 2), ((1, 2, 2, 5), (1, 2, 3, 3), 1)],
    ids=["channels_not_divisible_by_groups", "kernel_larger_than_input"],
)
def test_forward_rejects_impossible_shapes(student, x_shape, w_shape, groups):
    with pytest.raises(ValueError):
        student.conv_forward(np.zeros(x_shape), np.zeros(w_shape), None, groups=groups)


# ------------------------------------------------------------------------------ backward

GRADIENT_CASES = {
    # name: (x shape, w shape, stride, padding, dilation, groups)
    "basic": ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0, 1, 1),
    "stride2": ((1, 2, 7, 6), (3, 2, 3, 3), 2, 0, 1, 1),
    "padding1": ((2, 2, 4, 5), (3, 2, 3, 3), 1, 1, 1, 1),
    "dilation2": ((1, 2, 7, 6), (2, 2, 3, 2), 1, 0, 2, 1),
    "groups2": ((2, 4, 5, 4), (6, 2, 3, 3), 1, 1, 1, 2),
    "pairs": ((1, 2, 8, 7), (2, 2, 3, 2), (2, 1), (1, 0), (1, 2), 1),
}


@pytest.mark.points(2)
@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    x_shape, w_shape, stride, padding, dilation, groups = GRADIENT_CASES[case]
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out = student.conv_forward(x, w, b, **kw)
    dout = rng.standard_normal(out.shape)
    grads = student.conv_backward(dout, x, w, **kw)
    assert isinstance(grads, tuple) and len(grads) == 3, "conv_backward returns (dx, dw, db)"
    dx, dw, db = grads
    forward = forward_oracle.conv_forward
    assert_gradient_close(dx, lambda v: forward(v, w, b, **kw), x, dout, name="dx", **GRAD_TOL)
    assert_gradient_close(dw, lambda v: forward(x, v, b, **kw), w, dout, name="dw", **GRAD_TOL)
    assert_gradient_close(db, lambda v: forward(x, w, v, **kw), b, dout, name="db", **GRAD_TOL)


# ------------------------------------------------------------------ depthwise separable

SEPARABLE_CASES = {
    # name: (x shape, channel multiplier, F, stride, padding, dilation)
    "multiplier2_stride2_padding1_dilation2": ((2, 2, 6, 6), 2, 3, 2, 1, 2),
    "dilation2_pairs": ((1, 2, 7, 6), 1, 2, (1, 2), (0, 1), (2, 1)),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", SEPARABLE_CASES)
def test_depthwise_separable_forward_single_tap_known_answer(student, rng, case):
    # Depthwise filter c * M + m has one nonzero tap, (m + 1) at (2, 1): it picks
    # x_pad[n, c, i*sh + 2*dh, j*sw + dw] times (m + 1) (see the single-tap forward test),
    # plus its bias; then the 1 x 1 pointwise convolution mixes the C * M channels.
    x_shape, mult, f, stride, padding, dilation = SEPARABLE_CASES[case]
    _, c, h, wd = x_shape
    x = rng.standard_normal(x_shape)
    w_dw = np.zeros((c * mult, 1, 3, 3))
    w_dw[:, 0, 2, 1] = np.tile(np.arange(1.0, mult + 1), c)
    w_pw = rng.standard_normal((f, c * mult, 1, 1))
    b_dw = rng.standard_normal(c * mult)
    b_pw = rng.standard_normal(f)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    out_hw = ((h + 2 * ph - 2 * dh - 1) // sh + 1, (wd + 2 * pw - 2 * dw - 1) // sw + 1)
    picked = _picked(np.repeat(x, mult, axis=1), (2, 1), stride, padding, dilation, out_hw)
    hidden = picked * w_dw[:, 0, 2, 1][None, :, None, None] + b_dw[None, :, None, None]
    expected = np.einsum("fk,nkhw->nfhw", w_pw[:, :, 0, 0], hidden) + b_pw[None, :, None, None]
    out = student.depthwise_separable_forward(
        x, w_dw, w_pw, b_dw, b_pw, stride=stride, padding=padding, dilation=dilation
    )
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", SEPARABLE_CASES)
def test_depthwise_separable_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    x_shape, mult, f, stride, padding, dilation = SEPARABLE_CASES[case]
    c = x_shape[1]
    x = rng.standard_normal(x_shape)
    w_dw = rng.standard_normal((c * mult, 1, 3, 3))
    w_pw = rng.standard_normal((f, c * mult, 1, 1))
    b_dw = rng.standard_normal(c * mult)
    b_pw = rng.standard_normal(f)
    kw = dict(stride=stride, padding=padding, dilation=dilation)

    def forward(functions, x=x, w_dw=w_dw, w_pw=w_pw, b_dw=b_dw, b_pw=b_pw):
        return functions.depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kw)

    out = forward(student)
    dout = rng.standard_normal(out.shape)
    grads = student.depthwise_separable_backward(dout, x, w_dw, w_pw, b_dw, **kw)
    checks = {
        "dx": (lambda v: forward(forward_oracle, x=v), x),
        "dw_depthwise": (lambda v: forward(forward_oracle, w_dw=v), w_dw),
        "db_depthwise": (lambda v: forward(forward_oracle, b_dw=v), b_dw),
        "dw_pointwise": (lambda v: forward(forward_oracle, w_pw=v), w_pw),
        "db_pointwise": (lambda v: forward(forward_oracle, b_pw=v), b_pw),
    }
    assert isinstance(grads, dict) and set(grads) == set(checks), (
        f"depthwise_separable_backward returns a dict with keys {sorted(checks)}"
    )
    for name, (f_, value) in checks.items():
        assert_gradient_close(grads[name], f_, value, dout, name=name, **GRAD_TOL)
