"""Public tests for normalization.py: known answers and numeric gradient checks.

Run them from your copy of the template with ``autograder check normalization``. Each layer
has a known answer here for each of its options (layer norm over several trailing axes or
fewer, group counts from 1 to C, ``eps``) and a numeric gradient check of its backward for
each of them. The hidden tests compare your functions with a reference implementation over
many more shapes, group counts and dtypes.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("normalization")]

EPS = 1e-5


def _normalized(x, axes, eps=EPS):
    """``(x - mean) / sqrt(var + eps)`` with the mean and the biased variance over ``axes``."""
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _per_channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# ------------------------------------------------------------------ layer norm


@pytest.mark.points(1)
def test_layernorm_hand_computed(student):
    # One example holding 1, 3 (mean 2, biased variance 1), the other 0, 0, ... (variance 0).
    x = np.array([[1.0, 3.0], [4.0, 4.0]])
    gamma, beta = np.array([2.0, 1.0]), np.array([0.5, -1.0])
    out = student.layernorm_forward(x, gamma, beta)
    s = 1.0 / np.sqrt(1.0 + EPS)
    assert_close(out, np.array([[0.5 - 2 * s, -1.0 + s], [0.5, -1.0]]), name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("normalized", [(3, 4, 2), (4, 2)], ids=["over_CHW", "over_HW"])
def test_layernorm_normalizes_over_the_trailing_axes_of_gamma(student, rng, normalized):
    # gamma's shape is normalized_shape: with (N, C, H, W) input and gamma (H, W), each
    # (n, c) has its own statistics over H, W; with gamma (C, H, W), each example n.
    x = 3.0 + 2.0 * rng.standard_normal((2, 3, 4, 2))
    gamma, beta = rng.uniform(0.5, 2.0, normalized), rng.standard_normal(normalized)
    axes = tuple(range(4 - len(normalized), 4))
    out = student.layernorm_forward(x, gamma, beta)
    assert_close(out, gamma * _normalized(x, axes) + beta, name="out")


@pytest.mark.points(1)
def test_layernorm_eps_is_added_inside_the_square_root(student):
    # (1, 3): mean 2, biased variance 1; eps = 0.5 gives xhat = (-1, 1) / sqrt(1.5).
    x = np.array([[1.0, 3.0]])
    out = student.layernorm_forward(x, np.array([2.0, 1.0]), np.array([0.5, -1.0]), eps=0.5)
    s = 1.0 / np.sqrt(1.5)
    assert_close(out, np.array([[0.5 - 2 * s, -1.0 + s]]), name="out")


# ------------------------------------------------------------------ instance norm


def _check_instancenorm(student, rng, eps):
    # out[n, c] = gamma[c] * (x[n, c] - mu[n, c]) / sqrt(var[n, c] + eps) + beta[c], with the
    # statistics over the spatial axes of one channel of one example.
    x = 3.0 + 2.0 * rng.standard_normal((2, 3, 4, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.standard_normal(3)
    kw = {} if eps == EPS else {"eps": eps}
    out = student.instancenorm_forward(x, gamma, beta, **kw)
    expected = _per_channel(gamma, 4) * _normalized(x, (2, 3), eps) + _per_channel(beta, 4)
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
def test_instancenorm_normalizes_each_channel_of_each_example(student, rng):
    _check_instancenorm(student, rng, EPS)


# The hidden suite has no case of instance norm with another eps: these carry its share too.
@pytest.mark.points(3)
def test_instancenorm_eps_is_added_inside_the_square_root(student, rng):
    _check_instancenorm(student, rng, 0.5)


# ------------------------------------------------------------------ group norm


@pytest.mark.points(0.5)
def test_groupnorm_groups_consecutive_channels(student, rng):
    # 4 channels in 2 groups: channels 0-1 share statistics, channels 2-3 share others.
    x = rng.standard_normal((2, 4, 3, 3))
    x[:, 2:] = 10.0 + 5.0 * x[:, 2:]
    out = student.groupnorm_forward(x, 2, np.ones(4), np.zeros(4))
    for group in (slice(0, 2), slice(2, 4)):
        want = _normalized(x[:, group], (1, 2, 3))
        assert_close(out[:, group], want, name=f"out[:, {group.start}:{group.stop}]")


@pytest.mark.points(0.5)
def test_groupnorm_applies_gamma_and_beta_per_channel(student, rng):
    x = rng.standard_normal((3, 6, 2, 2))
    gamma, beta = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)
    out = student.groupnorm_forward(x, 3, gamma, beta)
    xhat = _normalized(x.reshape(3, 3, 2, 2, 2), (2, 3, 4)).reshape(x.shape)
    assert_close(out, _per_channel(gamma, 4) * xhat + _per_channel(beta, 4), name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("groups", [1, 4], ids=["G1_layer_like", "G4_instance_like"])
def test_groupnorm_one_group_and_one_group_per_channel(student, rng, groups):
    # G = 1: each example normalized over (C, H, W), like layer norm; G = C: each channel of
    # each example on its own, like instance norm.
    x = 2.0 * rng.standard_normal((2, 4, 3, 2)) + np.arange(4.0)[None, :, None, None]
    gamma, beta = rng.uniform(0.5, 2.0, 4), rng.standard_normal(4)
    axes = (1, 2, 3) if groups == 1 else (2, 3)
    out = student.groupnorm_forward(x, groups, gamma, beta)
    expected = _per_channel(gamma, 4) * _normalized(x, axes) + _per_channel(beta, 4)
    assert_close(out, expected, name="out")


@pytest.mark.points(1)
def test_groupnorm_eps_is_added_inside_the_square_root(student):
    # One example, 2 channels in one group, holding 1 and 3: mean 2, biased variance 1.
    x = np.array([[[1.0], [3.0]]])
    out = student.groupnorm_forward(x, 1, np.array([2.0, 1.0]), np.array([0.5, -1.0]), eps=0.5)
    s = 1.0 / np.sqrt(1.5)
    assert_close(out, np.array([[[0.5 - 2 * s], [-1.0 + s]]]), name="out")


@pytest.mark.points(0.5)
def test_groupnorm_refuses_a_group_count_that_does_not_divide_the_channels(student):
    with pytest.raises(ValueError):
        student.groupnorm_forward(np.ones((2, 6, 2, 2)), 4, np.ones(6), np.zeros(6))


# ------------------------------------------------------------------ backward

GRADIENT_CASES = {
    # name: (layer, normalized_shape or num_groups, eps)
    "layernorm": ("layernorm", (4, 3, 2), None),
    "layernorm_over_HW": ("layernorm", (3, 2), None),
    "layernorm_eps0.5": ("layernorm", (4, 3, 2), 0.5),
    "instancenorm": ("instancenorm", None, None),
    "groupnorm_G2": ("groupnorm", 2, None),
    "groupnorm_eps0.5": ("groupnorm", 2, 0.5),
}


def _check_backward(student, forward_oracle, rng, which, option, eps):
    x = rng.standard_normal((2, 4, 3, 2))
    dout = rng.standard_normal(x.shape)
    if which == "layernorm":
        gamma, beta = rng.standard_normal(option), rng.standard_normal(option)
        args = ()
    else:
        gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
        args = (option,) if which == "groupnorm" else ()
    kw = {} if eps is None else {"eps": eps}
    grads = getattr(student, f"{which}_backward")(dout, x, *args, gamma, **kw)
    if not (isinstance(grads, tuple) and len(grads) == 3):
        raise AssertionError(f"{which}_backward returns a tuple (dx, dgamma, dbeta)")
    dx, dgamma, dbeta = grads
    forward = getattr(forward_oracle, f"{which}_forward")
    assert_gradient_close(dx, lambda v: forward(v, *args, gamma, beta, **kw), x, dout, name="dx")
    assert_gradient_close(
        dgamma, lambda g: forward(x, *args, g, beta, **kw), gamma, dout, name="dgamma"
    )
    assert_gradient_close(
        dbeta, lambda b: forward(x, *args, gamma, b, **kw), beta, dout, name="dbeta"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_backward_matches_numeric_gradients(student, forward_oracle, rng, case):
    _check_backward(student, forward_oracle, rng, *GRADIENT_CASES[case])


@pytest.mark.points(3)
def test_instancenorm_backward_with_eps_matches_numeric_gradients(student, forward_oracle, rng):
    _check_backward(student, forward_oracle, rng, "instancenorm", None, 0.5)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("groups", [1, 4], ids=["G1", "G4"])
def test_groupnorm_backward_one_group_and_one_per_channel(student, forward_oracle, rng, groups):
    _check_backward(student, forward_oracle, rng, "groupnorm", groups, None)
