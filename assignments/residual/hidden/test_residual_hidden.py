"""Hidden tests for residual.py: the submission (with its own conv and batchnorm) vs reference."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("residual"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
MODES = [pytest.param(True, id="training"), pytest.param(False, id="eval")]

# (x shape, C_out, stride, projection)
BLOCKS = {
    "identity_c4": ((2, 4, 6, 6), 4, 1, False),
    "identity_c2_odd": ((3, 2, 5, 7), 2, 1, False),
    "projection_stride1_c3to5": ((2, 3, 5, 6), 5, 1, True),
    "projection_stride2_c4to4": ((2, 4, 8, 8), 4, 2, True),
    "projection_stride2_c3to6_odd": ((2, 3, 7, 5), 6, 2, True),
}
ALL = [pytest.param(*v, id=k) for k, v in BLOCKS.items()]


def _case(rng, shape, c_out, projection, dtype):
    c_in = shape[1]
    params = {
        "w1": rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in),
        "gamma1": rng.uniform(0.5, 1.5, c_out),
        "beta1": 0.5 * rng.standard_normal(c_out),
        "w2": rng.standard_normal((c_out, c_out, 3, 3)) / np.sqrt(9 * c_out),
        "gamma2": rng.uniform(0.5, 1.5, c_out),
        "beta2": 0.5 * rng.standard_normal(c_out),
    }
    state = {
        "mean1": 0.2 * rng.standard_normal(c_out),
        "var1": rng.uniform(0.5, 1.5, c_out),
        "mean2": 0.2 * rng.standard_normal(c_out),
        "var2": rng.uniform(0.5, 1.5, c_out),
    }
    if projection:
        params["w_proj"] = rng.standard_normal((c_out, c_in, 1, 1)) / np.sqrt(c_in)
        params["gamma_proj"] = rng.uniform(0.5, 1.5, c_out)
        params["beta_proj"] = 0.5 * rng.standard_normal(c_out)
        state["mean_proj"] = 0.2 * rng.standard_normal(c_out)
        state["var_proj"] = rng.uniform(0.5, 1.5, c_out)
    x = rng.standard_normal(shape).astype(dtype)
    params = {k: v.astype(dtype) for k, v in params.items()}
    state = {k: v.astype(dtype) for k, v in state.items()}
    return x, params, state


def _check_dict(got, want, what):
    assert isinstance(got, dict) and set(got) == set(want), (
        f"{what} must be a dict with the keys {sorted(want)}, got "
        f"{sorted(got) if isinstance(got, dict) else type(got).__name__}"
    )
    for key in sorted(want):
        assert_close(got[key], want[key], name=f"{what}[{key!r}]")


def _compare_forward(student, reference, x, params, state, **kwargs):
    got = student.residual_block_forward(x, params, state, **kwargs)
    want = reference.residual_block_forward(x, params, state, **kwargs)
    assert isinstance(got, tuple) and len(got) == 2, (
        "residual_block_forward must return a tuple (out, new_bn_state)"
    )
    assert_close(got[0], want[0], name="out")
    _check_dict(got[1], want[1], "new_bn_state")


def _compare_backward(student, reference, dout, x, params, **kwargs):
    got = student.residual_block_backward(dout, x, params, **kwargs)
    want = reference.residual_block_backward(dout, x, params, **kwargs)
    assert isinstance(got, tuple) and len(got) == 2, (
        "residual_block_backward must return a tuple (dx, grads)"
    )
    assert_close(got[0], want[0], name="dx")
    _check_dict(got[1], want[1], "grads")


@pytest.mark.points(0.6)
@pytest.mark.parametrize("training", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, c_out, stride, projection", ALL)
def test_forward(student, reference, rng, shape, c_out, stride, projection, dtype, training):
    x, params, state = _case(rng, shape, c_out, projection, dtype)
    _compare_forward(student, reference, x, params, state, stride=stride, training=training)


@pytest.mark.points(1)
@pytest.mark.parametrize("momentum", [0.0, 0.5, 1.0])
def test_forward_momentum(student, reference, rng, momentum):
    shape, c_out, stride, projection = BLOCKS["projection_stride2_c3to6_odd"]
    x, params, state = _case(rng, shape, c_out, projection, np.float64)
    _compare_forward(student, reference, x, params, state, stride=stride, momentum=momentum)


@pytest.mark.points(1.5)
@pytest.mark.parametrize("training", MODES)
def test_forward_eps(student, reference, rng, training):
    shape, c_out, stride, projection = BLOCKS["identity_c4"]
    x, params, state = _case(rng, shape, c_out, projection, np.float64)
    _compare_forward(
        student, reference, x, params, state, stride=stride, training=training, eps=0.1
    )


@pytest.mark.points(1)
def test_forward_training_steps_then_eval(student, reference, rng):
    # Running statistics carried over three training steps, then used in evaluation.
    shape, c_out, stride, projection = BLOCKS["projection_stride2_c4to4"]
    x, params, state = _case(rng, shape, c_out, projection, np.float64)
    state_s = state_r = state
    for _ in range(3):
        batch = 2.0 * rng.standard_normal(shape) + 0.5
        _, state_s = student.residual_block_forward(batch, params, state_s, stride=stride)
        _, state_r = reference.residual_block_forward(batch, params, state_r, stride=stride)
        _check_dict(state_s, state_r, "new_bn_state")
    _compare_forward(student, reference, x, params, state_r, stride=stride, training=False)


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, c_out, stride, projection", ALL)
def test_backward(student, reference, rng, shape, c_out, stride, projection, dtype):
    x, params, state = _case(rng, shape, c_out, projection, dtype)
    out, _ = reference.residual_block_forward(x, params, state, stride=stride)
    dout = rng.standard_normal(out.shape).astype(dtype)
    _compare_backward(student, reference, dout, x, params, stride=stride)


@pytest.mark.points(2)
def test_backward_eps(student, reference, rng):
    shape, c_out, stride, projection = BLOCKS["projection_stride1_c3to5"]
    x, params, state = _case(rng, shape, c_out, projection, np.float64)
    out, _ = reference.residual_block_forward(x, params, state, stride=stride, eps=0.1)
    dout = rng.standard_normal(out.shape)
    _compare_backward(student, reference, dout, x, params, stride=stride, eps=0.1)


@pytest.mark.points(1)
def test_backward_identity_gradient_reaches_dx(student, reference, rng):
    # A block whose residual branch is almost dead (large negative beta1: relu kills a1 almost
    # everywhere): dx is then dominated by the identity path.
    shape, c_out, stride, projection = BLOCKS["identity_c4"]
    x, params, state = _case(rng, shape, c_out, projection, np.float64)
    params["beta1"] = params["beta1"] - 2.5
    out, _ = reference.residual_block_forward(x, params, state, stride=stride)
    dout = rng.standard_normal(out.shape)
    _compare_backward(student, reference, dout, x, params, stride=stride)


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "shape, c_out, stride",
    [
        pytest.param((2, 3, 6, 6), 3, 2, id="stride2_same_channels"),
        pytest.param((2, 3, 6, 6), 5, 1, id="stride1_channel_change"),
        pytest.param((2, 3, 6, 6), 5, 2, id="stride2_channel_change"),
    ],
)
def test_missing_projection_raises(student, rng, shape, c_out, stride):
    x, params, state = _case(rng, shape, c_out, False, np.float64)
    with pytest.raises(ValueError):
        student.residual_block_forward(x, params, state, stride=stride)
    with pytest.raises(ValueError):
        student.residual_block_backward(np.ones((2, c_out, 3, 3)), x, params, stride=stride)
