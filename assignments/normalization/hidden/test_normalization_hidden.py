"""Hidden tests for normalization.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("normalization"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]

LAYER_CASES = [  # (x shape, normalized_shape)
    pytest.param((6, 10), (10,), id="ND_rows"),
    pytest.param((2, 3, 5, 4), (3, 5, 4), id="NCHW_over_CHW"),
    pytest.param((2, 3, 5, 4), (5, 4), id="NCHW_over_HW"),
    pytest.param((3, 2, 7), (7,), id="NCL_over_L"),
    pytest.param((1, 4, 3, 3), (4, 3, 3), id="batch1"),
]
INSTANCE_SHAPES = [
    pytest.param((2, 3, 4, 5), id="NCHW"),
    pytest.param((3, 2, 6), id="NCL"),
    pytest.param((1, 4, 3, 3), id="batch1"),
    pytest.param((2, 3, 1, 7), id="one_row"),
]
GROUP_CASES = [  # (x shape, num_groups)
    pytest.param((2, 6, 4, 5), 3, id="G3_of_C6"),
    pytest.param((2, 6, 4, 5), 1, id="G1_layer_like"),
    pytest.param((2, 6, 4, 5), 6, id="G6_instance_like"),
    pytest.param((3, 8, 3), 2, id="NCL_G2"),
    pytest.param((4, 6), 3, id="NC_no_spatial"),
    pytest.param((1, 12, 2, 3), 4, id="batch1_G4"),
]


def _x(rng, shape, dtype, offset=0.0):
    channel_shift = rng.standard_normal(shape[1]).reshape((1, shape[1]) + (1,) * (len(shape) - 2))
    return (offset + 1.5 * rng.standard_normal(shape) + channel_shift).astype(dtype)


def _compare(got, want, names):
    if len(names) == 1:
        assert_close(got, want, name=names[0])
        return
    assert isinstance(got, tuple) and len(got) == len(names), (
        f"expected a tuple ({', '.join(names)})"
    )
    for name, a, e in zip(names, got, want, strict=True):
        assert_close(a, e, name=name)


GRADS = ("dx", "dgamma", "dbeta")


# ------------------------------------------------------------------ layer norm


@pytest.mark.points(0.4)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", LAYER_CASES)
def test_layernorm_forward(student, reference, rng, shape, normalized, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, normalized).astype(dtype)
    beta = rng.standard_normal(normalized).astype(dtype)
    args = (x, gamma, beta)
    _compare(student.layernorm_forward(*args), reference.layernorm_forward(*args), ("out",))


@pytest.mark.points(0.4)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", LAYER_CASES)
def test_layernorm_backward(student, reference, rng, shape, normalized, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, normalized).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    args = (dout, x, gamma)
    _compare(student.layernorm_backward(*args), reference.layernorm_backward(*args), GRADS)


@pytest.mark.points(2)
@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_layernorm_eps(student, reference, rng, eps):
    x = _x(rng, (3, 4, 2, 2), np.float64)
    gamma, beta = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 2))
    dout = rng.standard_normal(x.shape)
    _compare(
        student.layernorm_forward(x, gamma, beta, eps=eps),
        reference.layernorm_forward(x, gamma, beta, eps=eps),
        ("out",),
    )
    _compare(
        student.layernorm_backward(dout, x, gamma, eps=eps),
        reference.layernorm_backward(dout, x, gamma, eps=eps),
        GRADS,
    )


# ------------------------------------------------------------------ instance norm


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", INSTANCE_SHAPES)
def test_instancenorm_forward(student, reference, rng, shape, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, shape[1]).astype(dtype)
    beta = rng.standard_normal(shape[1]).astype(dtype)
    args = (x, gamma, beta)
    _compare(student.instancenorm_forward(*args), reference.instancenorm_forward(*args), ("out",))


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", INSTANCE_SHAPES)
def test_instancenorm_backward(student, reference, rng, shape, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, shape[1]).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    args = (dout, x, gamma)
    _compare(student.instancenorm_backward(*args), reference.instancenorm_backward(*args), GRADS)


# ------------------------------------------------------------------ group norm


@pytest.mark.points(0.375)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", GROUP_CASES)
def test_groupnorm_forward(student, reference, rng, shape, groups, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, shape[1]).astype(dtype)
    beta = rng.standard_normal(shape[1]).astype(dtype)
    args = (x, groups, gamma, beta)
    _compare(student.groupnorm_forward(*args), reference.groupnorm_forward(*args), ("out",))


@pytest.mark.points(0.375)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", GROUP_CASES)
def test_groupnorm_backward(student, reference, rng, shape, groups, dtype):
    x = _x(rng, shape, dtype)
    gamma = rng.uniform(-2, 2, shape[1]).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    args = (dout, x, groups, gamma)
    _compare(student.groupnorm_backward(*args), reference.groupnorm_backward(*args), GRADS)


@pytest.mark.points(2)
@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_groupnorm_eps(student, reference, rng, eps):
    x = _x(rng, (2, 6, 3, 2), np.float64)
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    dout = rng.standard_normal(x.shape)
    _compare(
        student.groupnorm_forward(x, 2, gamma, beta, eps=eps),
        reference.groupnorm_forward(x, 2, gamma, beta, eps=eps),
        ("out",),
    )
    _compare(
        student.groupnorm_backward(dout, x, 2, gamma, eps=eps),
        reference.groupnorm_backward(dout, x, 2, gamma, eps=eps),
        GRADS,
    )


# ------------------------------------------------------------------ edge cases


@pytest.mark.points(0.5)
@pytest.mark.parametrize("which", ["layernorm", "instancenorm", "groupnorm"])
def test_large_mean_is_accurate(student, reference, rng, which):
    # mean(x**2) - mean(x)**2 loses ~10 of 16 digits here; mean((x - mean)**2) loses ~5.
    x = _x(rng, (3, 4, 4, 4), np.float64, offset=1e5)
    if which == "layernorm":
        args = (x, rng.standard_normal((4, 4, 4)), rng.standard_normal((4, 4, 4)))
    elif which == "instancenorm":
        args = (x, rng.standard_normal(4), rng.standard_normal(4))
    else:
        args = (x, 2, rng.standard_normal(4), rng.standard_normal(4))
    name = f"{which}_forward"
    # Compared to a copy of the reference's result, whose bound is the dtype's own (a result
    # of the reference's would be widened by its terms of size 1e5, which excuses the loss).
    want = np.array(getattr(reference, name)(*args))
    _compare(getattr(student, name)(*args), want, ("out",))


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_group_is_finite(student, reference, rng, dtype):
    # A group with zero variance: only eps keeps the normalization finite.
    x = _x(rng, (2, 4, 3, 3), dtype)
    x[:, :2] = dtype(3.0)
    gamma, beta = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
    args = (x, 2, gamma, beta)
    _compare(student.groupnorm_forward(*args), reference.groupnorm_forward(*args), ("out",))


@pytest.mark.points(0.5)
def test_each_example_is_normalized_on_its_own(student, rng):
    # Unlike batch norm, the output for one example does not depend on the rest of the batch.
    x = _x(rng, (4, 6, 3, 3), np.float64)
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    whole = student.groupnorm_forward(x, 3, gamma, beta)
    alone = student.groupnorm_forward(x[1:2], 3, gamma, beta)
    assert_close(alone, whole[1:2], name="out of example 1 alone")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "shape, groups",
    [pytest.param((2, 6, 2, 2), 4, id="G4_of_C6"), pytest.param((2, 5, 3), 2, id="G2_of_C5")],
)
def test_groupnorm_group_count_must_divide_channels(student, shape, groups):
    channels = shape[1]
    with pytest.raises(ValueError):
        student.groupnorm_forward(np.ones(shape), groups, np.ones(channels), np.zeros(channels))


@pytest.mark.points(0.5)
def test_layernorm_shape_mismatch_raises(student):
    with pytest.raises(ValueError):
        student.layernorm_forward(np.ones((2, 3, 4)), np.ones((3,)), np.zeros((3,)))
