"""The reference residual block against a PyTorch composition (conv2d, batch_norm, relu)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import numeric_gradient
from solutions.residual import residual_block_backward, residual_block_forward

# (x shape, C_out, stride, projection)
BLOCKS = [
    ((2, 4, 6, 6), 4, 1, False),
    ((3, 2, 5, 7), 2, 1, False),
    ((2, 3, 5, 6), 5, 1, True),
    ((2, 4, 8, 8), 4, 2, True),
    ((2, 3, 7, 5), 6, 2, True),
    ((1, 2, 4, 9), 3, (2, 1), True),
    ((4, 3, 3, 3), 3, 1, True),  # a projection where the identity would also fit
]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.dtype == theirs.dtype == np.dtype(dtype), name
    assert ours.shape == theirs.shape, name
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(
        ours, theirs, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name
    )


def _case(rng, shape, c_out, projection, dtype=np.float64):
    c_in = shape[1]
    params = {
        "w1": rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in),
        "gamma1": rng.uniform(0.5, 1.5, c_out),
        "beta1": 0.5 * rng.standard_normal(c_out),
        "w2": rng.standard_normal((c_out, c_out, 3, 3)) / np.sqrt(9 * c_out),
        "gamma2": rng.uniform(-1.5, 1.5, c_out),
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


def _torch_block(x, params, state, stride, training, momentum, eps, detach_shortcut=False):
    """The block in torch; running statistics are updated in place in the returned dict."""
    tx = torch.tensor(x, requires_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ts = {k: torch.tensor(v) for k, v in state.items()}

    def bn(h, suffix):
        return F.batch_norm(
            h,
            ts[f"mean{suffix}"],
            ts[f"var{suffix}"],
            tp[f"gamma{suffix}"],
            tp[f"beta{suffix}"],
            training,
            momentum,
            eps,
        )

    a1 = F.relu(bn(F.conv2d(tx, tp["w1"], None, stride, 1), "1"))
    a2 = bn(F.conv2d(a1, tp["w2"], None, 1, 1), "2")
    source = tx.detach() if detach_shortcut else tx
    if "w_proj" in params:
        shortcut = bn(F.conv2d(source, tp["w_proj"], None, stride, 0), "_proj")
    else:
        shortcut = source
    z = a2 + shortcut
    return tx, tp, ts, z, F.relu(z)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, c_out, stride, projection", BLOCKS)
def test_block_matches_torch(shape, c_out, stride, projection, training, dtype):
    rng = np.random.default_rng([*shape, c_out, training])
    x, params, state = _case(rng, shape, c_out, projection, dtype)
    copies = (x.copy(), {k: v.copy() for k, v in params.items()})
    state_copy = {k: v.copy() for k, v in state.items()}
    momentum, eps = 0.3, 1e-4
    out, new_state = residual_block_forward(
        x, params, state, stride=stride, training=training, momentum=momentum, eps=eps
    )
    tx, tp, ts, _, t_out = _torch_block(x, params, state, stride, training, momentum, eps)
    _close(out, t_out, dtype, "out")
    assert set(new_state) == set(state)
    for key in state:
        _close(new_state[key], ts[key], dtype, key)
        assert new_state[key] is not state[key]

    if training:
        dout = rng.standard_normal(out.shape).astype(dtype)
        t_out.backward(torch.tensor(dout))
        dx, grads = residual_block_backward(dout, x, params, stride=stride, eps=eps)
        _close(dx, tx.grad, dtype, "dx")
        assert set(grads) == set(params)
        for key in params:
            _close(grads[key], tp[key].grad, dtype, f"grads[{key}]")

    np.testing.assert_array_equal(x, copies[0])
    for key, value in copies[1].items():
        np.testing.assert_array_equal(params[key], value)
    for key, value in state_copy.items():
        np.testing.assert_array_equal(state[key], value)


@pytest.mark.parametrize("projection", [False, True])
def test_backward_matches_numeric_gradient(projection):
    rng = np.random.default_rng(int(projection))
    shape, c_out, stride = ((2, 3, 5, 5), 4, 2) if projection else ((2, 2, 4, 4), 2, 1)
    x, params, state = _case(rng, shape, c_out, projection)
    out, _ = residual_block_forward(x, params, state, stride=stride)
    dout = rng.standard_normal(out.shape)
    dx, grads = residual_block_backward(dout, x, params, stride=stride)
    kw = dict(rtol=1e-6, atol_scale=1e-6)

    def forward(x_, p_):
        return residual_block_forward(x_, p_, state, stride=stride)[0]

    assert_close(dx, numeric_gradient(lambda z: forward(z, params), x, dout), "dx", **kw)
    for key in params:
        numeric = numeric_gradient(
            lambda v, key=key: forward(x, {**params, key: v}), params[key], dout
        )
        assert_close(grads[key], numeric, f"grads[{key}]", **kw)


def test_identity_path_carries_dz_to_dx():
    """dx = (gradient through conv1) + dout * (z > 0): the identity path adds dz unchanged."""
    rng = np.random.default_rng(42)
    x, params, state = _case(rng, (2, 3, 5, 5), 3, False)
    dout = rng.standard_normal(x.shape)
    dx, _ = residual_block_backward(dout, x, params)
    tx, _, _, z, t_out = _torch_block(x, params, state, 1, True, 0.1, 1e-5, detach_shortcut=True)
    t_out.backward(torch.tensor(dout))
    dz = dout * (z.detach().numpy() > 0)
    assert np.abs(dz).max() > 0.1
    _close(dx - tx.grad.numpy(), dz, np.float64, "dx - main-branch dx")


@pytest.mark.parametrize("stride", [1, 2])
def test_float32_is_within_kit_tolerance_of_float64(stride):
    """A float32 implementation passes assert_close against the float64 result."""
    rng = np.random.default_rng(stride)
    x, params, state = _case(rng, (4, 8, 12, 12), 8 if stride == 1 else 16, stride == 2)
    x, params, state = (
        x.astype(np.float32),
        {k: v.astype(np.float32) for k, v in params.items()},
        {k: v.astype(np.float32) for k, v in state.items()},
    )

    def wide(d):
        return {k: v.astype(np.float64) for k, v in d.items()}

    for training in (True, False):
        out, new_state = residual_block_forward(x, params, state, stride, training)
        out64, state64 = residual_block_forward(
            x.astype(np.float64), wide(params), wide(state), stride, training
        )
        assert_close(out, out64.astype(np.float32), "out")
        for key in state:
            assert_close(new_state[key], state64[key].astype(np.float32), key)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx, grads = residual_block_backward(dout, x, params, stride)
    dx64, grads64 = residual_block_backward(
        dout.astype(np.float64), x.astype(np.float64), wide(params), stride
    )
    assert_close(dx, dx64.astype(np.float32), "dx")
    for key in grads:
        assert_close(grads[key], grads64[key].astype(np.float32), key)


def _errors():
    rng = np.random.default_rng(0)
    x, params, state = _case(rng, (2, 3, 4, 4), 3, False)
    xp_, pparams, pstate = _case(rng, (2, 3, 4, 4), 5, True)
    no_proj_5 = {k: v for k, v in pparams.items() if "proj" not in k}
    no_proj_state = {k: v for k, v in pstate.items() if "proj" not in k}
    return [
        (lambda: residual_block_forward(x, params, state, stride=2), "identity shortcut"),
        (lambda: residual_block_forward(xp_, no_proj_5, no_proj_state), "identity shortcut"),
        (
            lambda: residual_block_backward(np.ones((2, 3, 2, 2)), x, params, stride=2),
            "identity shortcut",
        ),
        (lambda: residual_block_forward(x, {**params, "w_prj": params["w1"]}, state), "unknown"),
        (lambda: residual_block_forward(x, {**params, "w1": params["w2"][:, :2]}, state), "w1"),
        (
            lambda: residual_block_forward(
                xp_, {k: v for k, v in pparams.items() if k != "gamma_proj"}, pstate
            ),
            "gamma_proj",
        ),
        (lambda: residual_block_forward(xp_, pparams, no_proj_state), "mean_proj"),
        (lambda: residual_block_forward(x, {**params, "beta2": np.ones(4)}, state), "beta2"),
        (lambda: residual_block_backward(np.ones((2, 3, 3, 3)), x, params), "dout"),
        (lambda: residual_block_forward(x[0], params, state), "(N, C_in, H, W)"),
    ]


@pytest.mark.parametrize("index", range(len(_errors())))
def test_errors(index):
    call, message = _errors()[index]
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
