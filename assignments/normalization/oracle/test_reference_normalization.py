"""The reference layer, instance and group norm against PyTorch (functional forms + autograd)
and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.gradcheck import numeric_gradient
from solutions.normalization import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
)

TOL = {np.float64: dict(rtol=1e-11, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}
DTYPES = [np.float64, np.float32]
GRADS = ("dx", "dgamma", "dbeta")


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.dtype == np.dtype(dtype), f"{name}: dtype {ours.dtype}"
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(
        ours, theirs, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name
    )


def _torch_case(forward, x, params, dout):
    """torch's output and gradients of sum(out * dout) for x and each of params."""
    tensors = [torch.from_numpy(a).requires_grad_() for a in (x, *params)]
    out = forward(*tensors)
    grads = torch.autograd.grad(out, tensors, torch.from_numpy(dout))
    return out, grads


LAYER_CASES = [  # (x shape, normalized_shape)
    ((4, 10), (10,)),
    ((2, 3, 5, 4), (3, 5, 4)),
    ((2, 3, 5, 4), (5, 4)),
    ((3, 2, 6), (6,)),
    ((2, 1, 1, 3), (1, 1, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", LAYER_CASES)
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_layernorm_matches_torch(shape, normalized, dtype, eps):
    rng = np.random.default_rng([len(shape), *shape, len(normalized)])
    x = (3.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    gamma = rng.uniform(-2, 2, normalized).astype(dtype)
    beta = rng.standard_normal(normalized).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out, (dx, dgamma, dbeta) = _torch_case(
        lambda t, g, b: F.layer_norm(t, normalized, g, b, eps), x, (gamma, beta), dout
    )
    _close(layernorm_forward(x, gamma, beta, eps=eps), out, dtype, "out")
    ours = layernorm_backward(dout, x, gamma, eps=eps)
    for name, mine, theirs in zip(GRADS, ours, (dx, dgamma, dbeta), strict=True):
        _close(mine, theirs, dtype, name)


INSTANCE_SHAPES = [(2, 3, 4, 5), (1, 2, 3), (3, 1, 2, 2), (2, 4, 1, 7), (1, 2, 2, 3, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", INSTANCE_SHAPES)
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_instancenorm_matches_torch(shape, dtype, eps):
    rng = np.random.default_rng([len(shape), *shape])
    c = shape[1]
    x = (-4.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    gamma = rng.uniform(-2, 2, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out, (dx, dgamma, dbeta) = _torch_case(
        lambda t, g, b: F.instance_norm(t, weight=g, bias=b, use_input_stats=True, eps=eps),
        x,
        (gamma, beta),
        dout,
    )
    _close(instancenorm_forward(x, gamma, beta, eps=eps), out, dtype, "out")
    ours = instancenorm_backward(dout, x, gamma, eps=eps)
    for name, mine, theirs in zip(GRADS, ours, (dx, dgamma, dbeta), strict=True):
        _close(mine, theirs, dtype, name)


GROUP_CASES = [  # (x shape, num_groups)
    ((2, 6, 4, 5), 3),
    ((2, 6, 4, 5), 1),
    ((2, 6, 4, 5), 6),
    ((3, 8, 3), 2),
    ((4, 6), 2),
    ((1, 4, 2, 2, 3), 4),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", GROUP_CASES)
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_groupnorm_matches_torch(shape, groups, dtype, eps):
    rng = np.random.default_rng([len(shape), *shape, groups])
    c = shape[1]
    x = (5.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    gamma = rng.uniform(-2, 2, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out, (dx, dgamma, dbeta) = _torch_case(
        lambda t, g, b: F.group_norm(t, groups, g, b, eps), x, (gamma, beta), dout
    )
    _close(groupnorm_forward(x, groups, gamma, beta, eps=eps), out, dtype, "out")
    ours = groupnorm_backward(dout, x, groups, gamma, eps=eps)
    for name, mine, theirs in zip(GRADS, ours, (dx, dgamma, dbeta), strict=True):
        _close(mine, theirs, dtype, name)


def test_group_norm_with_one_group_per_channel_is_instance_norm_and_one_group_is_layer_norm():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 3, 3))
    ones, zeros = np.ones(4), np.zeros(4)
    np.testing.assert_allclose(
        groupnorm_forward(x, 4, ones, zeros), instancenorm_forward(x, ones, zeros), atol=1e-14
    )
    np.testing.assert_allclose(
        groupnorm_forward(x, 1, ones, zeros),
        layernorm_forward(x, np.ones((4, 3, 3)), np.zeros((4, 3, 3))),
        atol=1e-14,
    )


@pytest.mark.parametrize("which", ["layer", "instance", "group"])
def test_backward_matches_numeric_gradients(which):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3, 2))
    dout = rng.standard_normal(x.shape)
    c = x.shape[1]
    if which == "layer":
        gamma, beta = rng.standard_normal(x.shape[1:]), rng.standard_normal(x.shape[1:])

        def forward(v, g=gamma, b=beta):
            return layernorm_forward(v, g, b)

        dx, dgamma, dbeta = layernorm_backward(dout, x, gamma)
        numeric_gamma = numeric_gradient(lambda g: forward(x, g), gamma, dout)
        numeric_beta = numeric_gradient(lambda b: forward(x, gamma, b), beta, dout)
    else:
        gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
        if which == "instance":

            def forward(v, g=gamma, b=beta):
                return instancenorm_forward(v, g, b)

            dx, dgamma, dbeta = instancenorm_backward(dout, x, gamma)
        else:

            def forward(v, g=gamma, b=beta):
                return groupnorm_forward(v, 2, g, b)

            dx, dgamma, dbeta = groupnorm_backward(dout, x, 2, gamma)
        numeric_gamma = numeric_gradient(lambda g: forward(x, g), gamma, dout)
        numeric_beta = numeric_gradient(lambda b: forward(x, gamma, b), beta, dout)
    np.testing.assert_allclose(dx, numeric_gradient(forward, x, dout), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numeric_gamma, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, numeric_beta, rtol=1e-6, atol=1e-8)


def test_large_offsets_keep_float32_precision():
    """Two-pass variance: a mean of 1e4 with unit spread still normalizes to 1e-3 in float32."""
    rng = np.random.default_rng(11)
    x64 = 1e4 + rng.standard_normal((2, 4, 8, 8))
    want = groupnorm_forward(x64, 2, np.ones(4), np.zeros(4))
    got = groupnorm_forward(
        x64.astype(np.float32), 2, np.ones(4, np.float32), np.zeros(4, np.float32)
    )
    assert np.abs(got - want).max() < 1e-2


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: groupnorm_forward(x, 4, np.ones(6), np.zeros(6)), "divides the channel count"),
        (lambda x: groupnorm_forward(x, 0, np.ones(6), np.zeros(6)), "positive int"),
        (lambda x: groupnorm_forward(x, 2, np.ones(5), np.zeros(6)), "gamma must have shape"),
        (lambda x: layernorm_forward(x, np.ones((5, 4)), np.zeros((5, 4))), "trailing"),
        (lambda x: layernorm_forward(x, np.ones(x.shape), np.zeros(x.shape)), "batch axis"),
        (lambda x: instancenorm_forward(x[:, :, 0, 0], np.ones(6), np.zeros(6)), "at least 3"),
        (lambda x: instancenorm_forward(x, np.ones(6), np.zeros(6), eps=-1), "eps"),
        (lambda x: layernorm_backward(x[:1], x, np.ones(x.shape[1:])), "dout must have"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, words):
    x = np.ones((2, 6, 3, 4))
    with pytest.raises(ValueError, match=words):
        call(x)
