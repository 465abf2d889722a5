"""The batchnorm mistakes its hints compute themselves are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake (the staged backward of
the computational graph with a factor or a sign lost, the parameters' gradients averaged), and
its hint names it; the reference's own result gets no hint."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import batchnorm


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def _hints(function, args, kwargs, result):
    return diagnose(batchnorm, [Call(function, args, kwargs, result)])


def _staged_dx(dout, x, gamma, eps, factor, sign):
    """The staged backward of the graph, the variance's path scaled by ``factor`` and its
    derivative's sign by ``sign`` (1 and 1: the right dx)."""
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    m = x.size // x.shape[1]
    xc = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
    dxhat = dout * gamma.reshape(shape)
    dvar = (dxhat * xc).sum(axis=axes, keepdims=True) * (-0.5 * sign) * inv_std**3
    dmu = -(dxhat * inv_std).sum(axis=axes, keepdims=True)
    return dxhat * inv_std + dvar * factor * xc / m + dmu / m


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 4, 5)])
@pytest.mark.parametrize(
    "factor, sign, words",
    [(1.0, -1.0, "with its sign flipped"), (0.5, 1.0, "at half its weight"), (1.0, 1.0, None)],
)
def test_staged_backward_variance_mistakes(rng, shape, factor, sign, words):
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    gamma = rng.uniform(0.5, 2.0, shape[1])
    _, dgamma, dbeta = batchnorm.batchnorm_backward(dout, x, gamma)
    dx = _staged_dx(dout, x, gamma, 1e-5, 2.0 * factor, sign)
    hints = _hints("batchnorm_backward", (dout, x, gamma), {}, (dx, dgamma, dbeta))
    if words is None:  # the staged backward done right is the reference's dx
        assert hints == [], hints
    else:
        assert any(words in h for h in hints) and len(hints) == 1, hints


def test_parameter_gradients_averaged(rng):
    x, dout = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 3, 2, 2))
    gamma = rng.uniform(0.5, 2.0, 3)
    dx, dgamma, dbeta = batchnorm.batchnorm_backward(dout, x, gamma)
    for result in (
        (dx, dgamma / 16, dbeta),
        (dx, dgamma, dbeta / 16),
        (dx, dgamma / 16, dbeta / 16),
    ):
        hints = _hints("batchnorm_backward", (dout, x, gamma), {}, result)
        assert any("a mean over the values of each channel" in h for h in hints), hints


def test_evaluation_without_scale_and_shift(rng):
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    args = (x, gamma, beta, mean, var)
    xhat = (x - mean) / np.sqrt(var + 1e-5)
    hints = _hints("batchnorm_forward", args, {"training": False}, (xhat, mean, var))
    assert any("gamma and beta left out" in h for h in hints), hints
