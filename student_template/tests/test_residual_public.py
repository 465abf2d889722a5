"""Public tests for residual.py: shapes, known answers and numeric gradient checks.

Run them from your copy of the template with ``pytest public/``. Your block calls your own
``conv.py`` and ``batchnorm.py``: make their public tests pass first. The identity and the
projection shortcut, stride, training and evaluation, momentum and eps each have a known
answer here, and the backward pass numeric gradient checks of dx and of every parameter for
each shortcut, stride and eps. The hidden tests compare your block with a reference
implementation over more shapes, strides, dtypes and both modes.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("residual")]

EPS = 1e-5
GRAD_TOL = dict(rtol=1e-6, atol_scale=1e-6)


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _per_channel(v):
    return v.reshape(1, -1, 1, 1)


def _block(rng, c_in, c_out, projection, dtype=np.float64):
    """Random parameters and running statistics of a block."""
    params = {
        "w1": 0.4 * rng.standard_normal((c_out, c_in, 3, 3)),
        "gamma1": rng.uniform(0.5, 1.5, c_out),
        "beta1": rng.standard_normal(c_out),
        "w2": 0.4 * rng.standard_normal((c_out, c_out, 3, 3)),
        "gamma2": rng.uniform(0.5, 1.5, c_out),
        "beta2": rng.standard_normal(c_out),
    }
    state = {
        "mean1": 0.1 * rng.standard_normal(c_out),
        "var1": rng.uniform(0.5, 1.5, c_out),
        "mean2": 0.1 * rng.standard_normal(c_out),
        "var2": rng.uniform(0.5, 1.5, c_out),
    }
    if projection:
        params["w_proj"] = 0.5 * rng.standard_normal((c_out, c_in, 1, 1))
        params["gamma_proj"] = rng.uniform(0.5, 1.5, c_out)
        params["beta_proj"] = rng.standard_normal(c_out)
        state["mean_proj"] = 0.1 * rng.standard_normal(c_out)
        state["var_proj"] = rng.uniform(0.5, 1.5, c_out)
    params = {k: v.astype(dtype) for k, v in params.items()}
    state = {k: v.astype(dtype) for k, v in state.items()}
    return params, state


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "c_in, c_out, stride, projection, hw, out_hw",
    [
        (3, 3, 1, False, (6, 5), (6, 5)),
        (3, 5, 2, True, (8, 7), (4, 4)),
        (4, 4, 2, True, (5, 5), (3, 3)),
    ],
    ids=["identity", "projection_stride2_channels3to5", "projection_stride2_odd"],
)
def test_forward_output_shape_and_state_keys(
    student, rng, c_in, c_out, stride, projection, hw, out_hw
):
    x = rng.standard_normal((2, c_in, *hw))
    params, state = _block(rng, c_in, c_out, projection)
    out, new_state = student.residual_block_forward(x, params, state, stride=stride)
    _require(
        isinstance(out, np.ndarray) and out.shape == (2, c_out, *out_hw),
        f"out: expected shape {(2, c_out, *out_hw)}, got {getattr(out, 'shape', type(out))}",
    )
    _require(
        isinstance(new_state, dict) and set(new_state) == set(state),
        f"new_bn_state must have the keys {sorted(state)}, got "
        f"{sorted(new_state) if isinstance(new_state, dict) else type(new_state).__name__}",
    )
    _require(np.all(out >= 0), "the block ends with a ReLU: out must be non-negative")


@pytest.mark.points(0.75)
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
def test_forward_zero_weights_known_answer(student, rng, training):
    # With w1 = w2 = 0 the main branch is constant: bn2 outputs beta2 (training: batch mean
    # 0 and variance 0; eval with running mean 0 and variance 1: gamma2 * 0 + beta2).
    # So out = relu(x + beta2).
    x = rng.standard_normal((2, 3, 4, 5))
    params, state = _block(rng, 3, 3, projection=False)
    params["w1"] = np.zeros_like(params["w1"])
    params["w2"] = np.zeros_like(params["w2"])
    state = {k: (np.zeros(3) if k.startswith("mean") else np.ones(3)) for k in state}
    out, new_state = student.residual_block_forward(x, params, state, training=training)
    expected = np.maximum(x + params["beta2"].reshape(1, 3, 1, 1), 0.0)
    assert_close(out, expected, name="out")
    # Training: the batch statistics of h1 = h2 = 0 are mean 0 and variance 0.
    factor = 0.9 if training else 1.0
    for key in ("var1", "var2"):
        assert_close(new_state[key], factor * state[key], name=f"new_bn_state[{key!r}]")


@pytest.mark.points(1.5)
def test_forward_running_statistics_updated(student, rng):
    # bn1 normalizes h1 = conv1(x): its running mean moves towards the batch mean of h1.
    x = rng.standard_normal((4, 2, 3, 3))
    params, state = _block(rng, 2, 2, projection=False)
    _, new_state = student.residual_block_forward(x, params, state, momentum=0.25)
    # conv1 with stride 1 and padding 1, written out: h1[n, o] = sum_c,i,j w1[o, c, i, j] *
    # xpad[n, c, i:i+3, j:j+3].
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h1 = np.zeros((4, 2, 3, 3))
    for i in range(3):
        for j in range(3):
            h1 += np.einsum(
                "ncxy,oc->noxy", xpad[:, :, i : i + 3, j : j + 3], params["w1"][..., i, j]
            )
    batch_mean = h1.mean(axis=(0, 2, 3))
    batch_var = h1.var(axis=(0, 2, 3), ddof=1)
    assert_close(new_state["mean1"], 0.75 * state["mean1"] + 0.25 * batch_mean, name="mean1")
    assert_close(new_state["var1"], 0.75 * state["var1"] + 0.25 * batch_var, name="var1")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "stride, training",
    [(1, True), (2, True), (2, False)],
    ids=["stride1", "stride2", "stride2_eval"],
)
def test_forward_projection_shortcut_known_answer(student, rng, stride, training):
    # With w1 = w2 = 0 and running mean 0, variance 1 for bn1 and bn2, the main branch is
    # bn2(0) = beta2 (up to eps in eval). The shortcut is bn_proj(conv_proj(x)): a 1 x 1
    # convolution of stride `stride` (a channel-mixing matmul of x[:, :, ::s, ::s]) followed by
    # batch norm, with the batch statistics in training and the running ones in eval.
    x = rng.standard_normal((3, 2, 5, 4))
    params, state = _block(rng, 2, 3, projection=True)
    params["w1"] = np.zeros_like(params["w1"])
    params["w2"] = np.zeros_like(params["w2"])
    for key in ("mean1", "mean2", "var1", "var2"):
        state[key] = np.zeros(3) if key.startswith("mean") else np.ones(3)
    hp = np.einsum("oc,nchw->nohw", params["w_proj"][:, :, 0, 0], x[:, :, ::stride, ::stride])
    if training:
        mean, var = hp.mean(axis=(0, 2, 3)), hp.var(axis=(0, 2, 3))
        main = params["beta2"]
    else:
        mean, var = state["mean_proj"], state["var_proj"]
        main = params["beta2"]  # gamma2 * (0 - 0) / sqrt(1 + eps) + beta2
    shortcut = _per_channel(params["gamma_proj"]) * (hp - _per_channel(mean)) / np.sqrt(
        _per_channel(var) + EPS
    ) + _per_channel(params["beta_proj"])
    out, _ = student.residual_block_forward(x, params, state, stride=stride, training=training)
    assert_close(out, np.maximum(_per_channel(main) + shortcut, 0.0), name="out")


@pytest.mark.points(1.5)
def test_forward_eps_known_answer(student, rng):
    # Eval with w1 = w2 = 0: h2 = 0, so bn2 outputs gamma2 * (0 - mean2) / sqrt(var2 + eps)
    # + beta2; eps = 0.5 is passed to every batch norm of the block.
    x = rng.standard_normal((2, 3, 4, 4))
    params, state = _block(rng, 3, 3, projection=False)
    params["w1"] = np.zeros_like(params["w1"])
    params["w2"] = np.zeros_like(params["w2"])
    out, _ = student.residual_block_forward(x, params, state, training=False, eps=0.5)
    bn2 = params["gamma2"] * (0.0 - state["mean2"]) / np.sqrt(state["var2"] + 0.5)
    expected = np.maximum(x + _per_channel(bn2 + params["beta2"]), 0.0)
    assert_close(out, expected, name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "c_out, stride", [(3, 2), (4, 1)], ids=["stride2_same_channels", "stride1_more_channels"]
)
def test_forward_identity_shortcut_that_changes_shape_raises(student, rng, c_out, stride):
    x = rng.standard_normal((2, 3, 4, 4))
    params, state = _block(rng, 3, c_out, projection=False)
    with pytest.raises(ValueError):
        student.residual_block_forward(x, params, state, stride=stride)


@pytest.mark.points(1.5)
def test_backward_identity_path_known_answer(student, rng):
    # With w2 = 0 no gradient flows back through conv2 (hence none into conv1 and bn1), so
    # dx is exactly the gradient that reaches z = bn2(h2) + x through the identity path:
    # dx = dout * (z > 0), with z = beta2 + x (bn2 of h2 = 0 outputs beta2).
    x = rng.standard_normal((2, 2, 4, 4))
    params, _ = _block(rng, 2, 2, projection=False)
    params["w2"] = np.zeros_like(params["w2"])
    dout = rng.standard_normal(x.shape)
    dx, grads = student.residual_block_backward(dout, x, params)
    dz = dout * (x + params["beta2"].reshape(1, 2, 1, 1) > 0)
    assert_close(dx, dz, name="dx")
    assert_close(grads["beta2"], dz.sum(axis=(0, 2, 3)), name="grads['beta2']")
    for key in ("w1", "gamma1", "beta1", "gamma2"):
        assert_close(grads[key], np.zeros_like(params[key]), name=f"grads[{key!r}]")


GRADIENT_CASES = {
    # name: (C_in, C_out, H x W, stride, projection, eps)
    "identity": (2, 2, (4, 4), 1, False, EPS),
    "projection_stride1": (2, 3, (4, 3), 1, True, EPS),
    "projection_stride2": (2, 3, (5, 5), 2, True, EPS),
    "projection_stride2_eps0.5": (2, 3, (5, 4), 2, True, 0.5),
}


@pytest.mark.points(1.5)
@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    # dx and the gradient of every parameter, each against the numeric gradient of the
    # training-mode forward pass.
    c_in, c_out, hw, stride, projection, eps = GRADIENT_CASES[case]
    x = rng.standard_normal((2, c_in, *hw))
    params, state = _block(rng, c_in, c_out, projection)
    kw = dict(stride=stride, eps=eps)
    out, _ = student.residual_block_forward(x, params, state, **kw)
    dout = rng.standard_normal(out.shape)
    got = student.residual_block_backward(dout, x, params, **kw)
    _require(
        isinstance(got, tuple) and len(got) == 2, "residual_block_backward returns (dx, grads)"
    )
    dx, grads = got
    _require(
        isinstance(grads, dict) and set(grads) == set(params),
        f"grads must have the keys of params {sorted(params)}, got "
        f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}",
    )
    forward = forward_oracle.residual_block_forward

    def through(v):
        return forward(v, params, state, **kw)[0]

    assert_gradient_close(dx, through, x, dout, name="dx", **GRAD_TOL)
    for key in params:

        def f(value, key=key):
            return forward(x, {**params, key: value}, state, **kw)[0]

        assert_gradient_close(grads[key], f, params[key], dout, name=f"grads[{key!r}]", **GRAD_TOL)


@pytest.mark.points(0.5)
def test_float32_in_float32_out(student, rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    params, state = _block(rng, 3, 4, projection=True, dtype=np.float32)
    out, new_state = student.residual_block_forward(x, params, state, stride=2)
    dx, grads = student.residual_block_backward(np.ones_like(out), x, params, stride=2)
    arrays = {"out": out, "dx": dx}
    arrays.update({f"new_bn_state[{k!r}]": v for k, v in new_state.items()})
    arrays.update({f"grads[{k!r}]": v for k, v in grads.items()})
    for name, value in arrays.items():
        _require(
            isinstance(value, np.ndarray) and value.dtype == np.float32,
            f"{name} must be a float32 array, got {getattr(value, 'dtype', type(value).__name__)}",
        )
