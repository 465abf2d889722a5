"""The reference batch normalization against PyTorch (F.batch_norm and autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import numeric_gradient
from solutions.batchnorm import batchnorm_backward, batchnorm_forward

SHAPES = [(2, 1), (7, 4), (64, 3), (1, 3, 2, 2), (3, 4, 5, 6), (5, 2, 1, 1), (2, 7, 3, 5)]
OPTIONS = [
    dict(momentum=0.1, eps=1e-5),
    dict(momentum=0.0, eps=1e-5),
    dict(momentum=1.0, eps=1e-3),
    dict(momentum=0.37, eps=0.5),
]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _close(ours, theirs, dtype, name, scale=None):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.dtype == theirs.dtype == np.dtype(dtype), name
    if scale is None:
        scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(
        ours, theirs, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name
    )


def _inputs(rng, shape, dtype, offset=0.0):
    c = shape[1]
    x = (offset + 2.0 * rng.standard_normal(shape) + 0.5).astype(dtype)
    gamma = rng.uniform(-2.0, 2.0, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    running_mean = rng.standard_normal(c).astype(dtype)
    running_var = rng.uniform(0.2, 3.0, c).astype(dtype)
    return x, gamma, beta, running_mean, running_var


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_forward_and_backward_match_torch(shape, options, dtype, training):
    rng = np.random.default_rng([len(shape), *shape, int(100 * options["momentum"]), training])
    x, gamma, beta, running_mean, running_var = _inputs(rng, shape, dtype)
    copies = [a.copy() for a in (x, gamma, beta, running_mean, running_var)]
    out, new_mean, new_var = batchnorm_forward(
        x, gamma, beta, running_mean, running_var, training=training, **options
    )
    for before, after in zip(copies, (x, gamma, beta, running_mean, running_var), strict=True):
        np.testing.assert_array_equal(before, after)  # inputs untouched

    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(gamma, requires_grad=True)
    tb = torch.tensor(beta, requires_grad=True)
    t_mean, t_var = torch.tensor(running_mean), torch.tensor(running_var)  # updated in place
    t_out = F.batch_norm(tx, t_mean, t_var, tg, tb, training, options["momentum"], options["eps"])
    _close(out, t_out, dtype, "out")
    _close(new_mean, t_mean, dtype, "running_mean")
    _close(new_var, t_var, dtype, "running_var")
    assert new_mean is not running_mean and new_var is not running_var

    if training:
        dout = rng.standard_normal(shape).astype(dtype)
        t_out.backward(torch.tensor(dout))
        dx, dgamma, dbeta = batchnorm_backward(dout, x, gamma, eps=options["eps"])
        # dx = gamma / std * (dout - mean(dout) - xhat * mean(dout * xhat)) cancels, entirely
        # for m = 2 (dx is then only an eps effect): measure errors on the scale of its terms.
        std = np.sqrt(x.var(axis=(0,) if x.ndim == 2 else (0, 2, 3)) + options["eps"])
        scale = float(np.max(np.abs(gamma) / std) * np.max(np.abs(dout)))
        _close(dx, tx.grad, dtype, "dx", scale=scale)
        _close(dgamma, tg.grad, dtype, "dgamma")
        _close(dbeta, tb.grad, dtype, "dbeta")


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 3), (3, 2, 1, 1)])
def test_backward_matches_numeric_gradient(shape):
    rng = np.random.default_rng(list(shape))
    x, gamma, beta, running_mean, running_var = _inputs(rng, shape, np.float64)
    dout = rng.standard_normal(shape)
    dx, dgamma, dbeta = batchnorm_backward(dout, x, gamma)

    def out(x_, g_, b_):
        return batchnorm_forward(x_, g_, b_, running_mean, running_var)[0]

    kw = dict(rtol=1e-6, atol_scale=1e-6)
    assert_close(dx, numeric_gradient(lambda z: out(z, gamma, beta), x, dout), "dx", **kw)
    assert_close(dgamma, numeric_gradient(lambda g: out(x, g, beta), gamma, dout), "dg", **kw)
    assert_close(dbeta, numeric_gradient(lambda b: out(x, gamma, b), beta, dout), "db", **kw)


@pytest.mark.parametrize("shape", [(64, 16), (8, 16, 9, 7)])
def test_float32_is_within_kit_tolerance_of_float64(shape):
    """A correct float32 implementation passes assert_close against the float64 result."""
    rng = np.random.default_rng(7)
    args64 = _inputs(rng, shape, np.float64, offset=3.0)
    args32 = [a.astype(np.float32) for a in args64]
    for training in (True, False):
        got = batchnorm_forward(*args32, training=training)
        want = batchnorm_forward(
            *[a.astype(np.float32).astype(np.float64) for a in args32], training=training
        )
        for name, a, e in zip(("out", "mean", "var"), got, want, strict=True):
            assert_close(a, e.astype(np.float32), name)
    dout = rng.standard_normal(shape)
    got = batchnorm_backward(dout.astype(np.float32), args32[0], args32[1])
    want = batchnorm_backward(
        dout.astype(np.float32).astype(np.float64),
        args32[0].astype(np.float64),
        args32[1].astype(np.float64),
    )
    for name, a, e in zip(("dx", "dgamma", "dbeta"), got, want, strict=True):
        assert_close(a, e.astype(np.float32), name)


def test_large_mean_is_accurate():
    """With |mean| >> std the two-pass variance stays accurate (torch is a little less so)."""
    rng = np.random.default_rng(3)
    x, gamma, beta, running_mean, running_var = _inputs(rng, (8, 3, 4, 4), np.float64, 1e4)
    out, _, new_var = batchnorm_forward(x, gamma, beta, running_mean, running_var)
    xl = x.astype(np.longdouble)
    mu = xl.mean(axis=(0, 2, 3), keepdims=True)
    var = ((xl - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    g, b = (v.astype(np.longdouble).reshape(1, -1, 1, 1) for v in (gamma, beta))
    exact = (xl - mu) / np.sqrt(var + np.longdouble(1e-5)) * g + b
    # Rounding x - mu costs up to ~1e4 * 2**-53 ~ 1e-12 whatever the method.
    assert float(np.max(np.abs(out - exact))) < 2e-12
    t_mean, t_var = torch.tensor(running_mean), torch.tensor(running_var)
    t_out = F.batch_norm(
        torch.tensor(x), t_mean, t_var, torch.tensor(gamma), torch.tensor(beta), True
    )
    np.testing.assert_allclose(out, t_out.numpy(), rtol=0, atol=1e-11)
    np.testing.assert_allclose(new_var, t_var.numpy(), rtol=1e-12)


def test_momentum_convention_matches_cs231n_complement():
    """torch momentum 0.1 == CS231n momentum 0.9 (running = 0.9 * running + 0.1 * batch)."""
    rng = np.random.default_rng(11)
    x, gamma, beta, running_mean, running_var = _inputs(rng, (10, 3), np.float64)
    _, new_mean, _ = batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1)
    np.testing.assert_allclose(new_mean, 0.9 * running_mean + 0.1 * x.mean(axis=0), rtol=1e-14)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: batchnorm_forward(np.ones((1, 3)), *[np.ones(3)] * 4), "more than 1 value"),
        (lambda: batchnorm_forward(np.ones((1, 3, 1, 1)), *[np.ones(3)] * 4), "more than 1"),
        (lambda: batchnorm_backward(np.ones((1, 3)), np.ones((1, 3)), np.ones(3)), "more than"),
        (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(2), *[np.ones(3)] * 3), "gamma"),
        (lambda: batchnorm_forward(np.ones((4, 3)), *[np.ones(3)] * 3, np.ones(4)), "running_var"),
        (lambda: batchnorm_forward(np.ones((4, 3, 2)), *[np.ones(3)] * 4), "(N, C, H, W)"),
        (lambda: batchnorm_forward(np.ones((4, 3)), *[np.ones(3)] * 4, momentum=1.5), "momentum"),
        (lambda: batchnorm_forward(np.ones((4, 3), dtype=np.int64), *[np.ones(3)] * 4), "floating"),
        (lambda: batchnorm_backward(np.ones((4, 2)), np.ones((4, 3)), np.ones(3)), "dout"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert message in str(info.value)


def test_eval_single_example_is_allowed_and_torch_agrees():
    rng = np.random.default_rng(5)
    x, gamma, beta, running_mean, running_var = _inputs(rng, (1, 3, 1, 1), np.float64)
    out, _, _ = batchnorm_forward(x, gamma, beta, running_mean, running_var, training=False)
    t_out = F.batch_norm(
        torch.tensor(x),
        torch.tensor(running_mean),
        torch.tensor(running_var),
        torch.tensor(gamma),
        torch.tensor(beta),
        False,
    )
    _close(out, t_out, np.float64, "out")
    with pytest.raises(ValueError):
        F.batch_norm(
            torch.tensor(x),
            torch.tensor(running_mean),
            torch.tensor(running_var),
            torch.tensor(gamma),
            torch.tensor(beta),
            True,
        )
