"""Public tests for batchnorm.py: known answers and numeric gradient checks.

Run them from your copy of the template with ``pytest public/``. Training and evaluation,
the running statistics with their momentum, and ``eps`` each have a known answer here, in both
layouts, and the backward pass a numeric gradient check with and without ``eps``. The hidden
tests compare your functions with a reference implementation over many more shapes, dtypes
and options.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("batchnorm")]

EPS = 1e-5


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation, which
    shows object addresses that change from run to run)."""
    if not condition:
        raise AssertionError(message)


def _params(rng: np.random.Generator, channels: int) -> tuple[np.ndarray, ...]:
    gamma = rng.uniform(0.5, 2.0, channels)
    beta = rng.standard_normal(channels)
    running_mean = rng.standard_normal(channels)
    running_var = rng.uniform(0.5, 2.0, channels)
    return gamma, beta, running_mean, running_var


@pytest.mark.points(1.5)
def test_forward_training_hand_computed_2d(student):
    # One channel holding 1 and 3: mean 2, biased variance 1, unbiased variance 2.
    x = np.array([[1.0], [3.0]])
    gamma, beta = np.array([2.0]), np.array([0.5])
    out, mean, var = student.batchnorm_forward(
        x, gamma, beta, np.array([0.0]), np.array([1.0]), training=True, momentum=0.1
    )
    s = 2.0 / np.sqrt(1.0 + EPS)
    assert_close(out, np.array([[0.5 - s], [0.5 + s]]), name="out")
    assert_close(mean, np.array([0.9 * 0.0 + 0.1 * 2.0]), name="new_running_mean")
    # The running variance is fed the UNBIASED batch variance (2), as in PyTorch.
    assert_close(var, np.array([0.9 * 1.0 + 0.1 * 2.0]), name="new_running_var")


@pytest.mark.points(1.5)
def test_forward_training_hand_computed_4d(student):
    # Statistics over (N, H, W): channel 0 holds 0, 2, 4, 6 (mean 3, biased var 5, unbiased
    # 20/3); channel 1 holds 10 everywhere (var 0: only eps keeps the division finite).
    x = np.zeros((2, 2, 1, 2))
    x[:, 0] = np.array([[[0.0, 2.0]], [[4.0, 6.0]]])
    x[:, 1] = 10.0
    gamma, beta = np.array([1.0, 3.0]), np.array([0.0, -1.0])
    running_mean, running_var = np.array([1.0, 1.0]), np.array([2.0, 2.0])
    out, mean, var = student.batchnorm_forward(
        x, gamma, beta, running_mean, running_var, training=True, momentum=0.5
    )
    expected = np.zeros_like(x)
    expected[:, 0] = (x[:, 0] - 3.0) / np.sqrt(5.0 + EPS)
    expected[:, 1] = -1.0
    assert_close(out, expected, name="out")
    assert_close(mean, np.array([0.5 * 1.0 + 0.5 * 3.0, 0.5 * 1.0 + 0.5 * 10.0]), name="mean")
    assert_close(var, np.array([0.5 * 2.0 + 0.5 * 20.0 / 3.0, 0.5 * 2.0]), name="var")


@pytest.mark.points(0.75)
@pytest.mark.parametrize("shape", [(16, 3), (4, 3, 5, 6)], ids=["NC", "NCHW"])
def test_forward_training_zero_mean_unit_variance(student, rng, shape):
    # With gamma = 1 and beta = 0 every channel of the output has mean 0 and (biased) variance
    # var / (var + eps), which is 1 up to eps.
    x = 5.0 + 3.0 * rng.standard_normal(shape)
    channels = shape[1]
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    out, _, _ = student.batchnorm_forward(
        x, np.ones(channels), np.zeros(channels), np.zeros(channels), np.ones(channels)
    )
    _require(isinstance(out, np.ndarray) and out.shape == x.shape, "out must be shaped like x")
    mean = out.mean(axis=axes)
    _require(np.all(np.abs(mean) < 1e-12), f"per-channel mean of out should be 0, got {mean}")
    var = x.var(axis=axes)
    assert_close(out.var(axis=axes), var / (var + EPS), name="per-channel variance of out")


@pytest.mark.points(0.75)
def test_forward_eval_with_zero_mean_unit_var_running_stats(student, rng):
    x = rng.standard_normal((3, 4, 2, 5))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    running_mean, running_var = np.zeros(4), np.ones(4)
    out, mean, var = student.batchnorm_forward(
        x, gamma, beta, running_mean, running_var, training=False
    )
    expected = gamma.reshape(1, 4, 1, 1) * x / np.sqrt(1.0 + EPS) + beta.reshape(1, 4, 1, 1)
    assert_close(out, expected, name="out")
    # Evaluation leaves the running statistics unchanged (returned as arrays equal to them).
    assert_close(mean, running_mean, name="new_running_mean")
    assert_close(var, running_var, name="new_running_var")


@pytest.mark.points(0.75)
def test_forward_eval_uses_running_stats_not_batch_stats(student, rng):
    x = rng.standard_normal((6, 3))
    gamma, beta, running_mean, running_var = _params(rng, 3)
    out, _, _ = student.batchnorm_forward(x, gamma, beta, running_mean, running_var, training=False)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + EPS) + beta
    assert_close(out, expected, name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("momentum", [0.0, 0.3, 1.0])
def test_forward_running_statistics_momentum_hand_computed(student, momentum):
    # One channel holding 1, 3, 5: mean 3, unbiased variance 4. PyTorch's momentum is the
    # weight of the NEW statistic: new = (1 - momentum) * old + momentum * batch.
    x = np.array([[1.0], [3.0], [5.0]])
    old_mean, old_var = np.array([-1.0]), np.array([2.0])
    _, mean, var = student.batchnorm_forward(
        x, np.ones(1), np.zeros(1), old_mean, old_var, training=True, momentum=momentum
    )
    assert_close(mean, (1 - momentum) * old_mean + momentum * 3.0, name="new_running_mean")
    assert_close(var, (1 - momentum) * old_var + momentum * 4.0, name="new_running_var")


@pytest.mark.points(0.75)
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
def test_forward_eps_is_added_inside_the_square_root(student, training):
    # eps = 0.5. Training: x = (1, 3) has mean 2 and biased variance 1, so
    # out = 2 * (x - 2) / sqrt(1.5) + 0.5. Eval: running mean 1 and variance 2,
    # out = 2 * (x - 1) / sqrt(2.5) + 0.5.
    x = np.array([[1.0], [3.0]])
    out, _, _ = student.batchnorm_forward(
        x,
        np.array([2.0]),
        np.array([0.5]),
        np.array([1.0]),
        np.array([2.0]),
        training=training,
        eps=0.5,
    )
    expected = 2.0 * (x - 2.0) / np.sqrt(1.5) if training else 2.0 * (x - 1.0) / np.sqrt(2.5)
    assert_close(out, expected + 0.5, name="out")


@pytest.mark.points(0.5)
def test_forward_float32_in_float32_out(student, rng):
    x = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    params = [p.astype(np.float32) for p in _params(rng, 3)]
    for training in (True, False):
        out, mean, var = student.batchnorm_forward(x, *params, training=training)
        for name, value in (("out", out), ("new_running_mean", mean), ("new_running_var", var)):
            _require(
                isinstance(value, np.ndarray) and value.dtype == np.float32,
                f"{name} (training={training}) must be a float32 array, got "
                f"{getattr(value, 'dtype', type(value).__name__)}",
            )


@pytest.mark.points(0.5)
def test_forward_training_one_value_per_channel_raises(student):
    # N * H * W == 1: the batch variance of a single value is meaningless.
    with pytest.raises(ValueError):
        student.batchnorm_forward(
            np.ones((1, 3, 1, 1)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)
        )


@pytest.mark.points(0.5)
def test_forward_wrong_gamma_shape_raises(student):
    with pytest.raises(ValueError):
        student.batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3), np.zeros(3), np.ones(3))


@pytest.mark.points(1.5)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 2)], ids=["NC", "NCHW"])
def test_backward_dx_numeric_gradient(student, forward_oracle, rng, shape):
    x = 2.0 * rng.standard_normal(shape) + 1.0
    gamma, beta, running_mean, running_var = _params(rng, shape[1])
    dout = rng.standard_normal(shape)

    def f(z):
        return forward_oracle.batchnorm_forward(z, gamma, beta, running_mean, running_var)[0]

    dx, _, _ = student.batchnorm_backward(dout, x, gamma)
    assert_gradient_close(dx, f, x, dout, name="dx", rtol=1e-6, atol_scale=1e-6)


@pytest.mark.points(1.5)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 2)], ids=["NC", "NCHW"])
def test_backward_dgamma_dbeta_numeric_gradient(student, forward_oracle, rng, shape):
    x = rng.standard_normal(shape)
    gamma, beta, running_mean, running_var = _params(rng, shape[1])
    dout = rng.standard_normal(shape)

    def f_gamma(g):
        return forward_oracle.batchnorm_forward(x, g, beta, running_mean, running_var)[0]

    def f_beta(b):
        return forward_oracle.batchnorm_forward(x, gamma, b, running_mean, running_var)[0]

    _, dgamma, dbeta = student.batchnorm_backward(dout, x, gamma)
    assert_gradient_close(dgamma, f_gamma, gamma, dout, name="dgamma", rtol=1e-6, atol_scale=1e-6)
    assert_gradient_close(dbeta, f_beta, beta, dout, name="dbeta", rtol=1e-6, atol_scale=1e-6)


@pytest.mark.points(1)
@pytest.mark.parametrize("shape, eps", [((4, 3), 0.5), ((2, 2, 3, 2), 1e-3)], ids=["NC", "NCHW"])
def test_backward_with_eps_matches_numeric_gradients(student, forward_oracle, rng, shape, eps):
    x = rng.standard_normal(shape)
    gamma, beta, running_mean, running_var = _params(rng, shape[1])
    dout = rng.standard_normal(shape)

    def forward(z=x, g=gamma):
        return forward_oracle.batchnorm_forward(z, g, beta, running_mean, running_var, eps=eps)[0]

    grads = student.batchnorm_backward(dout, x, gamma, eps=eps)
    _require(isinstance(grads, tuple) and len(grads) == 3, "batchnorm_backward returns a tuple")
    dx, dgamma, _ = grads
    tol = dict(rtol=1e-6, atol_scale=1e-6)
    assert_gradient_close(dx, lambda z: forward(z=z), x, dout, name="dx", **tol)
    assert_gradient_close(dgamma, lambda g: forward(g=g), gamma, dout, name="dgamma", **tol)


@pytest.mark.points(1)
def test_backward_dx_sums_to_zero_per_channel(student, rng):
    # Adding a constant to a channel of x does not change the output (the mean absorbs it),
    # so the gradient dx of each channel must sum to zero.
    x = rng.standard_normal((4, 2, 3, 3))
    dout = rng.standard_normal(x.shape)
    dx, _, _ = student.batchnorm_backward(dout, x, rng.uniform(0.5, 2.0, 2))
    sums = dx.sum(axis=(0, 2, 3))
    _require(
        np.all(np.abs(sums) < 1e-10 * np.abs(dx).sum()),
        f"per-channel sums of dx should be 0, got {sums}",
    )
