"""Public tests for normalization.py: known answers and numeric gradient checks.

Run them from your copy of the template with ``autograder check normalization``. The hidden
tests compare your functions with a reference implementation over many more shapes, group
counts and dtypes.

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


@pytest.mark.points(1)
def test_layernorm_hand_computed(student):
    # One example holding 1, 3 (mean 2, biased variance 1), the other 0, 0, ... (variance 0).
    x = np.array([[1.0, 3.0], [4.0, 4.0]])
    gamma, beta = np.array([2.0, 1.0]), np.array([0.5, -1.0])
    out = student.layernorm_forward(x, gamma, beta)
    s = 1.0 / np.sqrt(1.0 + EPS)
    assert_close(out, np.array([[0.5 - 2 * s, -1.0 + s], [0.5, -1.0]]), name="out")


@pytest.mark.points(1)
def test_instancenorm_normalizes_each_channel_of_each_example(student, rng):
    x = 3.0 + 2.0 * rng.standard_normal((2, 3, 4, 5))
    out = student.instancenorm_forward(x, np.ones(3), np.zeros(3))
    assert isinstance(out, np.ndarray) and out.shape == x.shape, "out must be shaped like x"
    mean = out.mean(axis=(2, 3))
    assert np.all(np.abs(mean) < 1e-12), f"each (n, c) of out should have mean 0, got {mean}"
    var = x.var(axis=(2, 3))
    assert_close(out.var(axis=(2, 3)), var / (var + EPS), name="variance of each (n, c)")


@pytest.mark.points(1)
def test_groupnorm_groups_consecutive_channels(student, rng):
    # 4 channels in 2 groups: channels 0-1 share statistics, channels 2-3 share others.
    x = rng.standard_normal((2, 4, 3, 3))
    x[:, 2:] = 10.0 + 5.0 * x[:, 2:]
    out = student.groupnorm_forward(x, 2, np.ones(4), np.zeros(4))
    for group in (slice(0, 2), slice(2, 4)):
        values = x[:, group].reshape(2, -1)
        mu, var = values.mean(axis=1), values.var(axis=1)
        want = (x[:, group] - mu[:, None, None, None]) / np.sqrt(var[:, None, None, None] + EPS)
        assert_close(out[:, group], want, name=f"out[:, {group.start}:{group.stop}]")


@pytest.mark.points(1)
def test_groupnorm_applies_gamma_and_beta_per_channel(student, rng):
    x = rng.standard_normal((3, 6, 2, 2))
    gamma, beta = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)
    plain = student.groupnorm_forward(x, 3, np.ones(6), np.zeros(6))
    scaled = student.groupnorm_forward(x, 3, gamma, beta)
    assert_close(scaled, plain * gamma[None, :, None, None] + beta[None, :, None, None])


@pytest.mark.points(1)
def test_groupnorm_refuses_a_group_count_that_does_not_divide_the_channels(student):
    with pytest.raises(ValueError):
        student.groupnorm_forward(np.ones((2, 6, 2, 2)), 4, np.ones(6), np.zeros(6))


@pytest.mark.points(2)
@pytest.mark.parametrize("which", ["layernorm", "instancenorm", "groupnorm"])
def test_backward_matches_numeric_gradients(student, forward_oracle, rng, which):
    x = rng.standard_normal((2, 4, 3, 2))
    dout = rng.standard_normal(x.shape)
    if which == "layernorm":
        gamma, beta = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
        args = ()
    else:
        gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
        args = (2,) if which == "groupnorm" else ()
    dx, dgamma, dbeta = getattr(student, f"{which}_backward")(dout, x, *args, gamma)
    forward = getattr(forward_oracle, f"{which}_forward")
    assert_gradient_close(dx, lambda v: forward(v, *args, gamma, beta), x, dout, name="dx")
    assert_gradient_close(dgamma, lambda g: forward(x, *args, g, beta), gamma, dout, name="dgamma")
    assert_gradient_close(dbeta, lambda b: forward(x, *args, gamma, b), beta, dout, name="dbeta")
