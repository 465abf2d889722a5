"""Public tests for blocks.py: known answers, add versus concatenate, and numeric gradients.

Run them from your copy of the template with ``autograder check blocks`` (your ``conv.py``
and ``pooling.py`` must sit beside ``blocks.py``). Every block has a known answer here for each
of its options (identity or projection shortcut, stride, kernel size and padding, upsampling
factor), built from kernels with a single nonzero tap so that each convolution is a slice or a
channel-mixing matmul, and a numeric gradient check of dx and of every parameter for each of
them. The hidden tests compare every block with a reference implementation over more shapes,
strides and dtypes.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("blocks")]


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _params(rng, shapes):
    return {k: 0.5 * rng.standard_normal(shape) for k, shape in shapes.items()}


def _relu(v):
    return np.maximum(v, 0.0)


def _mix(w, x, b):
    """A 1 x 1 convolution: ``out[n, f] = sum_c w[f, c, 0, 0] * x[n, c] + b[f]``."""
    return np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[None, :, None, None]


def _single_tap(rng, f, c, k, tap):
    """Weights (f, c, k, k) whose only nonzero taps sit at ``tap``, and that tap's (f, c)
    matrix: the convolution reads one shifted, strided pixel per output pixel and mixes the
    channels with the matrix."""
    w = np.zeros((f, c, k, k))
    w[:, :, tap[0], tap[1]] = 0.5 * rng.standard_normal((f, c))
    return w


def _read(x, tap, stride, padding, out_hw):
    """``x_pad[n, c, i * stride + u, j * stride + v]`` for every output pixel (i, j)."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    (u, v), (ho, wo) = tap, out_hw
    return x_pad[
        :, :, u : u + stride * (ho - 1) + 1 : stride, v : v + stride * (wo - 1) + 1 : stride
    ]


def _tap_conv(w, x, b, tap, stride, padding, out_hw):
    """The convolution with single-tap weights ``w``, written out."""
    return _mix(
        w[:, :, tap[0], tap[1]][:, :, None, None], _read(x, tap, stride, padding, out_hw), b
    )


def _check_block_gradients(student, forward_oracle, rng, name, x, params, **kw):
    """dx and the gradient of every parameter of block ``name`` against numeric gradients."""
    forward = getattr(forward_oracle, f"{name}_forward")
    out = forward(x, params, **kw)
    dout = rng.standard_normal(out.shape)
    got = getattr(student, f"{name}_backward")(dout, x, params, **kw)
    _require(isinstance(got, tuple) and len(got) == 2, f"{name}_backward returns (dx, grads)")
    dx, grads = got
    _require(
        isinstance(grads, dict) and set(grads) == set(params),
        f"grads must be a dict with the keys of params {sorted(params)}",
    )
    assert_gradient_close(dx, lambda v: forward(v, params, **kw), x, dout, name="dx")
    for key in params:
        assert_gradient_close(
            grads[key],
            lambda v, key=key: forward(x, {**params, key: v}, **kw),
            params[key],
            dout,
            name=f"grads[{key!r}]",
        )


# ======================================================================== bottleneck


def _bottleneck_shapes(c_in, c_mid, c_out, projection):
    shapes = {
        "w1": (c_mid, c_in, 1, 1), "b1": (c_mid,), "w2": (c_mid, c_mid, 3, 3), "b2": (c_mid,),
        "w3": (c_out, c_mid, 1, 1), "b3": (c_out,),
    }  # fmt: skip
    if projection:
        shapes.update(w_proj=(c_out, c_in, 1, 1), b_proj=(c_out,))
    return shapes


BOTTLENECKS = {
    # name: (C_in, C_mid, C_out, stride, projection)
    "identity": (4, 2, 4, 1, False),
    "projection_stride2": (3, 2, 5, 2, True),
}


@pytest.mark.points(1.5)
@pytest.mark.parametrize("case", BOTTLENECKS)
def test_bottleneck_known_answer(student, rng, case):
    # conv2 (3 x 3, padding 1, the block's stride) has its only taps at (0, 0): it reads
    # a1_pad[i * s, j * s], that is a1[i * s - 1, j * s - 1] (0 off the map). The shortcut is
    # x or the strided 1 x 1 projection; the sum goes through the final ReLU.
    c_in, c_mid, c_out, stride, projection = BOTTLENECKS[case]
    x = rng.standard_normal((2, c_in, 7, 6))
    params = _params(rng, _bottleneck_shapes(c_in, c_mid, c_out, projection))
    params["w2"] = _single_tap(rng, c_mid, c_mid, 3, (0, 0))
    out_hw = ((7 - 1) // stride + 1, (6 - 1) // stride + 1)
    a1 = _relu(_mix(params["w1"], x, params["b1"]))
    a2 = _relu(_tap_conv(params["w2"], a1, params["b2"], (0, 0), stride, 1, out_hw))
    h3 = _mix(params["w3"], a2, params["b3"])
    if projection:
        shortcut = _mix(params["w_proj"], x[:, :, ::stride, ::stride], params["b_proj"])
    else:
        shortcut = x
    out = student.bottleneck_forward(x, params, stride)
    assert_close(out, _relu(h3 + shortcut), name="out")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("case", BOTTLENECKS)
def test_bottleneck_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    c_in, c_mid, c_out, stride, projection = BOTTLENECKS[case]
    x = rng.standard_normal((2, c_in, 5, 4))
    params = _params(rng, _bottleneck_shapes(c_in, c_mid, c_out, projection))
    _check_block_gradients(student, forward_oracle, rng, "bottleneck", x, params, stride=stride)


# ======================================================================== inception

INCEPTION = {
    "w1": (2, 3, 1, 1), "b1": (2,), "w3r": (2, 3, 1, 1), "b3r": (2,), "w3": (3, 2, 3, 3),
    "b3": (3,), "w5r": (1, 3, 1, 1), "b5r": (1,), "w5": (2, 1, 5, 5), "b5": (2,),
    "wp": (4, 3, 1, 1), "bp": (4,),
}  # fmt: skip


@pytest.mark.points(1)
def test_inception_concatenates_its_branches_in_order(student, rng):
    # The 3 x 3 and 5 x 5 kernels have their only taps at the centre: with paddings 1 and 2
    # they are 1 x 1 convolutions. The pool branch max-pools 3 x 3 windows (stride 1, padding
    # 1 of -inf). Branches concatenated in the order 1x1, 3x3, 5x5, pool: 2 + 3 + 2 + 4.
    x = rng.standard_normal((2, 3, 5, 6))
    params = _params(rng, INCEPTION)
    params["w3"] = _single_tap(rng, 3, 2, 3, (1, 1))
    params["w5"] = _single_tap(rng, 2, 1, 5, (2, 2))
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    pooled = np.max([x_pad[:, :, i : i + 5, j : j + 6] for i in range(3) for j in range(3)], axis=0)

    def branch(reduce, key, centre):
        inner = _relu(_mix(params[f"w{reduce}"], x, params[f"b{reduce}"]))
        w = params[f"w{key}"][:, :, centre, centre][:, :, None, None]
        return _relu(_mix(w, inner, params[f"b{key}"]))

    expected = np.concatenate(
        [
            _relu(_mix(params["w1"], x, params["b1"])),
            branch("3r", "3", 1),
            branch("5r", "5", 2),
            _relu(_mix(params["wp"], pooled, params["bp"])),
        ],
        axis=1,
    )
    assert_close(student.inception_forward(x, params), expected, name="out")


@pytest.mark.points(1)
def test_inception_backward_matches_numeric_gradients(student, forward_oracle, rng):
    params = _params(rng, INCEPTION)
    x = rng.standard_normal((1, 3, 4, 4))
    _check_block_gradients(student, forward_oracle, rng, "inception", x, params)


# ======================================================================== NiN

NIN_CASES = {
    # name: (kernel, stride, padding, tap)
    "k3_same": (3, 1, 1, (0, 2)),
    "k5_s2_p2": (5, 2, 2, (3, 1)),
}


def _nin_params(rng, kernel):
    shapes = {
        "w1": (4, 3, kernel, kernel), "b1": (4,), "w2": (4, 4, 1, 1), "b2": (4,),
        "w3": (4, 4, 1, 1), "b3": (4,),
    }  # fmt: skip
    return _params(rng, shapes)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", NIN_CASES)
def test_nin_known_answer(student, rng, case):
    # conv1 has its only taps at `tap`: it reads x_pad[i * s + u, j * s + v]; then two 1 x 1
    # convolutions, every one followed by a ReLU.
    kernel, stride, padding, tap = NIN_CASES[case]
    x = rng.standard_normal((2, 3, 9, 8))
    params = _nin_params(rng, kernel)
    params["w1"] = _single_tap(rng, 4, 3, kernel, tap)
    out_hw = ((9 + 2 * padding - kernel) // stride + 1, (8 + 2 * padding - kernel) // stride + 1)
    h = _relu(_tap_conv(params["w1"], x, params["b1"], tap, stride, padding, out_hw))
    h = _relu(_mix(params["w2"], h, params["b2"]))
    expected = _relu(_mix(params["w3"], h, params["b3"]))
    out = student.nin_forward(x, params, stride=stride, padding=padding)
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", NIN_CASES)
def test_nin_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    kernel, stride, padding, _ = NIN_CASES[case]
    x = rng.standard_normal((1, 3, 7, 6))
    params = _nin_params(rng, kernel)
    _check_block_gradients(
        student, forward_oracle, rng, "nin", x, params, stride=stride, padding=padding
    )


# ======================================================================== depthwise separable

SEPARABLE_CASES = {
    # name: (kernel, stride, tap)
    "k3": (3, 1, (0, 1)),
    "k3_s2": (3, 2, (2, 2)),
    "k5": (5, 1, (4, 0)),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", SEPARABLE_CASES)
def test_depthwise_separable_block_known_answer(student, rng, case):
    # The depthwise kernel of channel c has its only tap at `tap`, scaled by s[c]: with
    # padding K // 2 it reads s[c] * x_pad[n, c, i * stride + u, j * stride + v]; a ReLU, the
    # 1 x 1 pointwise convolution, a ReLU.
    kernel, stride, tap = SEPARABLE_CASES[case]
    x = rng.standard_normal((2, 4, 7, 8))
    scale = rng.uniform(0.5, 1.5, 4)
    w_dw = np.zeros((4, 1, kernel, kernel))
    w_dw[:, 0, tap[0], tap[1]] = scale
    params = {
        "w_dw": w_dw,
        "b_dw": rng.standard_normal(4),
        **_params(rng, {"w_pw": (6, 4, 1, 1), "b_pw": (6,)}),
    }
    pad = kernel // 2
    out_hw = ((7 + 2 * pad - kernel) // stride + 1, (8 + 2 * pad - kernel) // stride + 1)
    depthwise = scale[None, :, None, None] * _read(x, tap, stride, pad, out_hw)
    h = _relu(depthwise + params["b_dw"][None, :, None, None])
    expected = _relu(_mix(params["w_pw"], h, params["b_pw"]))
    out = student.depthwise_separable_block_forward(x, params, stride=stride)
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", SEPARABLE_CASES)
def test_depthwise_separable_block_backward_matches_numeric_gradients(
    student, forward_oracle, rng, case
):
    kernel, stride, _ = SEPARABLE_CASES[case]
    x = rng.standard_normal((1, 3, 6, 5))
    shapes = {"w_dw": (3, 1, kernel, kernel), "b_dw": (3,), "w_pw": (4, 3, 1, 1), "b_pw": (4,)}
    _check_block_gradients(
        student, forward_oracle, rng, "depthwise_separable_block", x, _params(rng, shapes),
        stride=stride,
    )  # fmt: skip


# ======================================================================== FPN merge


@pytest.mark.points(1)
@pytest.mark.parametrize("factor", [2, 3])
def test_fpn_merge_adds_the_upsampled_top_to_the_lateral(student, rng, factor):
    # Nearest upsampling repeats each value of top in a factor x factor square (np.repeat
    # along both axes, not np.tile), plus the 1 x 1 lateral convolution.
    top = rng.standard_normal((2, 3, 2, 3))
    lateral = rng.standard_normal((2, 4, 2 * factor, 3 * factor))
    w, b = rng.standard_normal((3, 4, 1, 1)), rng.standard_normal(3)
    out = student.fpn_merge_forward(top, lateral, w, b)
    up = np.repeat(np.repeat(top, factor, axis=2), factor, axis=3)
    assert_close(out, up + _mix(w, lateral, b), name="out")


@pytest.mark.points(1)
@pytest.mark.parametrize("factor", [1, 2])
def test_fpn_merge_backward_matches_numeric_gradients(student, forward_oracle, rng, factor):
    top = rng.standard_normal((2, 3, 2, 3))
    lateral = rng.standard_normal((2, 4, 2 * factor, 3 * factor))
    w, b = rng.standard_normal((3, 4, 1, 1)), rng.standard_normal(3)
    dout = rng.standard_normal((2, 3, 2 * factor, 3 * factor))
    got = student.fpn_merge_backward(dout, top, lateral, w)
    _require(
        isinstance(got, tuple) and len(got) == 4,
        "fpn_merge_backward returns (dtop, dlateral, dw_lat, db_lat)",
    )
    forward = forward_oracle.fpn_merge_forward
    checks = {
        "dtop": (lambda v: forward(v, lateral, w, b), top),
        "dlateral": (lambda v: forward(top, v, w, b), lateral),
        "dw_lat": (lambda v: forward(top, lateral, v, b), w),
        "db_lat": (lambda v: forward(top, lateral, w, v), b),
    }
    for (name, (f, value)), grad in zip(checks.items(), got, strict=True):
        assert_gradient_close(grad, f, value, dout, name=name)
