"""The normalization mistakes its hints compute themselves are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake, and its hint names it."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import normalization


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _hints(function, args, result):
    return diagnose(normalization, [Call(function, args, {}, result)])


def _normalized(v, axes, eps=1e-5):
    centred = v - v.mean(axis=axes, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)


def test_group_norm_over_the_groups_channels_only(rng):
    x = rng.standard_normal((2, 6, 3, 4))
    gamma, beta = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)
    xhat = _normalized(x.reshape(2, 3, 2, 3, 4), (2,)).reshape(x.shape)
    wrong = xhat * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)
    hints = _hints("groupnorm_forward", (x, 3, gamma, beta), wrong)
    assert any("over its channels only" in h for h in hints) and len(hints) == 1, hints


def test_instance_norm_as_layer_norm(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.standard_normal(3)
    wrong = _normalized(x, (1, 2, 3)) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)
    hints = _hints("instancenorm_forward", (x, gamma, beta), wrong)
    assert any("channels and spatial axes together" in h for h in hints), hints


@pytest.mark.parametrize("which", ["layernorm", "instancenorm", "groupnorm"])
def test_parameter_gradients_averaged_over_what_they_sum(rng, which):
    x, dout = rng.standard_normal((3, 4, 2, 5)), rng.standard_normal((3, 4, 2, 5))
    if which == "layernorm":  # gamma (2, 5): the gradients sum over (N, C), 12 values
        gamma, args, shared = rng.uniform(0.5, 2.0, (2, 5)), (), (0, 1)
    else:  # gamma (C,): the gradients sum over (N, H, W), 30 values
        gamma, shared = rng.uniform(0.5, 2.0, 4), (0, 2, 3)
        args = (2,) if which == "groupnorm" else ()
    count = int(np.prod([x.shape[axis] for axis in shared]))
    call = (dout, x, *args, gamma)
    dx, dgamma, dbeta = getattr(normalization, which + "_backward")(*call)
    hints = _hints(which + "_backward", call, (dx, dgamma / count, dbeta / count))
    assert any("a mean instead of a sum" in h for h in hints), hints
    hints = _hints(which + "_backward", call, (dx, (dout * x).sum(axis=shared), dbeta))
    assert any("sum(dout * x)" in h for h in hints), hints
