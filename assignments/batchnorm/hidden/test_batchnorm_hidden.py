"""Hidden tests for batchnorm.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("batchnorm"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
SHAPES = [
    pytest.param((8, 5), id="NC_8x5"),
    pytest.param((2, 1), id="NC_2x1"),
    pytest.param((3, 4, 5, 6), id="NCHW_3x4x5x6"),
    pytest.param((1, 3, 2, 3), id="NCHW_batch1"),
    pytest.param((5, 2, 1, 1), id="NCHW_1x1_spatial"),
    pytest.param((2, 7, 3, 5), id="NCHW_odd"),
]
# m = 2 values per channel makes dx vanish up to eps (x_hat = +-1 whatever x): its value is
# pure rounding noise in float32, so the backward tests start at m = 5.
BACKWARD_SHAPES = [p for p in SHAPES if p.id != "NC_2x1"]


def _inputs(rng, shape, dtype, offset=0.0):
    channels = shape[1]
    x = (
        offset
        + 1.5 * rng.standard_normal(shape)
        + rng.standard_normal(channels).reshape((1, channels) + (1,) * (len(shape) - 2))
    ).astype(dtype)
    gamma = rng.uniform(0.5, 2.0, channels).astype(dtype)
    beta = rng.standard_normal(channels).astype(dtype)
    running_mean = rng.standard_normal(channels).astype(dtype)
    running_var = rng.uniform(0.5, 2.0, channels).astype(dtype)
    return x, gamma, beta, running_mean, running_var


def _compare_forward(student, reference, args, **kwargs):
    got = student.batchnorm_forward(*args, **kwargs)
    want = reference.batchnorm_forward(*args, **kwargs)
    assert isinstance(got, tuple) and len(got) == 3, (
        "batchnorm_forward must return a tuple (out, new_running_mean, new_running_var)"
    )
    for name, a, e in zip(("out", "new_running_mean", "new_running_var"), got, want, strict=True):
        assert_close(a, e, name=name)


def _compare_backward(student, reference, dout, x, gamma, **kwargs):
    got = student.batchnorm_backward(dout, x, gamma, **kwargs)
    want = reference.batchnorm_backward(dout, x, gamma, **kwargs)
    assert isinstance(got, tuple) and len(got) == 3, (
        "batchnorm_backward must return a tuple (dx, dgamma, dbeta)"
    )
    for name, a, e in zip(("dx", "dgamma", "dbeta"), got, want, strict=True):
        assert_close(a, e, name=name)


@pytest.mark.points(0.75)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_training(student, reference, rng, shape, dtype):
    _compare_forward(student, reference, _inputs(rng, shape, dtype), training=True)


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_eval(student, reference, rng, shape, dtype):
    _compare_forward(student, reference, _inputs(rng, shape, dtype), training=False)


@pytest.mark.points(0.6)
@pytest.mark.parametrize("momentum", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_forward_running_stats_momentum(student, reference, rng, momentum):
    args = _inputs(rng, (6, 3, 2, 2), np.float64)
    _compare_forward(student, reference, args, training=True, momentum=momentum)


@pytest.mark.points(0.75)
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_forward_eps(student, reference, rng, eps, training):
    args = _inputs(rng, (4, 3, 3, 2), np.float64)
    _compare_forward(student, reference, args, training=training, eps=eps)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_training_constant_channel(student, reference, rng, dtype):
    # A channel with zero variance: only eps keeps the normalization finite.
    x, gamma, beta, running_mean, running_var = _inputs(rng, (4, 3, 2, 2), dtype)
    x[:, 1] = dtype(2.5)
    _compare_forward(student, reference, (x, gamma, beta, running_mean, running_var))


@pytest.mark.points(1)
def test_forward_training_large_mean_is_accurate(student, reference, rng):
    # mean(x**2) - mean(x)**2 loses ~10 of 16 digits here; mean((x - mean)**2) loses ~5.
    # Compared to copies of the reference's results, whose bound is the dtype's own (results of
    # the reference's would be widened by their terms of size 1e5, which excuses the loss).
    args = _inputs(rng, (8, 3, 4, 4), np.float64, offset=1e5)
    got = student.batchnorm_forward(*args, training=True)
    want = reference.batchnorm_forward(*args, training=True)
    assert isinstance(got, tuple) and len(got) == 3, (
        "batchnorm_forward must return a tuple (out, new_running_mean, new_running_var)"
    )
    for name, a, e in zip(("out", "new_running_mean", "new_running_var"), got, want, strict=True):
        assert_close(a, np.array(e), name=name)


@pytest.mark.points(1)
def test_forward_training_then_eval_sequence(student, reference, rng):
    # Three training steps feeding the running statistics forward, then evaluation with them.
    x, gamma, beta, mean_s, var_s = _inputs(rng, (5, 2, 3, 3), np.float64)
    mean_r, var_r = mean_s, var_s
    for _ in range(3):
        batch = rng.standard_normal(x.shape) * 2.0 + 1.0
        _, mean_s, var_s = student.batchnorm_forward(batch, gamma, beta, mean_s, var_s)
        _, mean_r, var_r = reference.batchnorm_forward(batch, gamma, beta, mean_r, var_r)
        assert_close(mean_s, mean_r, name="new_running_mean")
        assert_close(var_s, var_r, name="new_running_var")
    out_s, _, _ = student.batchnorm_forward(x, gamma, beta, mean_r, var_r, training=False)
    out_r, _, _ = reference.batchnorm_forward(x, gamma, beta, mean_r, var_r, training=False)
    assert_close(out_s, out_r, name="out (eval)")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BACKWARD_SHAPES)
def test_backward(student, reference, rng, shape, dtype):
    x, gamma, _, _, _ = _inputs(rng, shape, dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    _compare_backward(student, reference, dout, x, gamma)


@pytest.mark.points(1)
@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_backward_eps(student, reference, rng, eps):
    x, gamma, _, _, _ = _inputs(rng, (4, 3, 2, 3), np.float64)
    dout = rng.standard_normal(x.shape)
    _compare_backward(student, reference, dout, x, gamma, eps=eps)


@pytest.mark.points(1)
def test_backward_negative_gamma(student, reference, rng):
    x, gamma, _, _, _ = _inputs(rng, (6, 4), np.float64)
    dout = rng.standard_normal(x.shape)
    _compare_backward(student, reference, dout, x, -gamma)


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "shape", [pytest.param((1, 3), id="NC_batch1"), pytest.param((1, 2, 1, 1), id="NCHW_1x1x1")]
)
def test_forward_training_one_value_per_channel_raises(student, shape):
    channels = shape[1]
    with pytest.raises(ValueError):
        student.batchnorm_forward(
            np.ones(shape),
            np.ones(channels),
            np.zeros(channels),
            np.zeros(channels),
            np.ones(channels),
            training=True,
        )


@pytest.mark.points(0.5)
def test_forward_eval_one_value_per_channel_works(student, reference, rng):
    # Evaluation uses the running statistics: a single example is fine.
    _compare_forward(student, reference, _inputs(rng, (1, 3, 1, 1), np.float64), training=False)


@pytest.mark.points(0.25)
@pytest.mark.parametrize("which", ["gamma", "beta", "running_mean", "running_var"])
def test_forward_parameter_shape_mismatch_raises(student, rng, which):
    x, gamma, beta, running_mean, running_var = _inputs(rng, (4, 3, 2, 2), np.float64)
    args = {"gamma": gamma, "beta": beta, "running_mean": running_mean, "running_var": running_var}
    args[which] = np.ones(4)
    with pytest.raises(ValueError):
        student.batchnorm_forward(
            x, args["gamma"], args["beta"], args["running_mean"], args["running_var"]
        )


@pytest.mark.points(0.25)
@pytest.mark.parametrize("shape", [pytest.param((6,), id="1d"), pytest.param((2, 3, 4), id="3d")])
def test_forward_wrong_rank_raises(student, shape):
    with pytest.raises(ValueError):
        student.batchnorm_forward(np.ones(shape), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))
