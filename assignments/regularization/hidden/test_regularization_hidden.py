"""Hidden tests for regularization.py: the submission against the reference solution, and
the statistics of its dropout masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("regularization"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
SHAPES = [
    pytest.param((9,), id="vector"),
    pytest.param((4, 7), id="NC"),
    pytest.param((2, 3, 5, 4), id="NCHW"),
]
PS = [0.0, 0.1, 0.5, 0.8, 1.0]


def _mask(rng, shape, p):
    return rng.random(shape) >= p


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_forward_training(student, reference, rng, shape, p, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    mask = _mask(rng, shape, p)
    assert_close(student.dropout_forward(x, p, mask), reference.dropout_forward(x, p, mask))


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_backward_training(student, reference, rng, shape, p, dtype):
    dout = rng.standard_normal(shape).astype(dtype)
    mask = _mask(rng, shape, p)
    assert_close(
        student.dropout_backward(dout, p, mask),
        reference.dropout_backward(dout, p, mask),
        name="dx",
    )


@pytest.mark.points(1.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_eval_mode(student, reference, rng, p, dtype):
    x = rng.standard_normal((3, 4, 2)).astype(dtype)
    mask = _mask(rng, x.shape, p)
    for function in ("dropout_forward", "dropout_backward"):
        got = getattr(student, function)(x, p, mask, training=False)
        want = getattr(reference, function)(x, p, mask, training=False)
        assert_close(got, want, name=f"{function} in eval mode")


@pytest.mark.points(0.75)
@pytest.mark.parametrize("p", [0.05, 0.25, 0.5, 0.75, 0.95])
def test_mask_keeps_one_minus_p_of_the_entries(student, rng, p):
    # Binomial: the kept fraction is within 6 standard deviations of 1 - p with probability
    # 1 - 2e-9; keeping p instead of 1 - p (or a fixed fraction) misses by far more.
    x = np.zeros((200, 300))
    mask = student.dropout_mask(x, p, int(rng.integers(0, 2**31)))
    assert type(mask) is np.ndarray and mask.dtype == bool and mask.shape == x.shape, (
        "dropout_mask must return a boolean array shaped like x"
    )
    sigma = math.sqrt(p * (1 - p) / x.size)
    kept = float(mask.mean())
    assert abs(kept - (1 - p)) < 6 * sigma, (
        f"with p = {p} about {1 - p:.0%} of the entries should be kept, got {kept:.2%}"
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_mask_extremes(student, rng, p):
    mask = student.dropout_mask(np.zeros((5, 6)), p, int(rng.integers(0, 2**31)))
    assert mask.dtype == bool and bool(mask.all() if p == 0 else not mask.any()), (
        f"p = {p} must {'keep' if p == 0 else 'drop'} every entry"
    )


@pytest.mark.points(2)
def test_masks_of_different_seeds_are_independent(student, rng):
    # Independent masks agree on an entry with probability p^2 + (1 - p)^2 = 0.58 for p = 0.3;
    # the same mask for every seed agrees everywhere.
    x = np.zeros((150, 200))
    seed = int(rng.integers(0, 2**31))
    first = student.dropout_mask(x, 0.3, seed)
    second = student.dropout_mask(x, 0.3, seed + 1)
    agree = float((first == second).mean())
    sigma = math.sqrt(0.58 * 0.42 / x.size)
    assert abs(agree - 0.58) < 6 * sigma, (
        f"masks drawn with different seeds agree on {agree:.1%} of entries; independent masks "
        f"would agree on about 58%: draw a fresh generator from each seed"
    )
    assert np.array_equal(student.dropout_mask(x, 0.3, seed), first), (
        "the same seed must give the same mask"
    )


@pytest.mark.points(1)
def test_mask_entries_are_independent_of_each_other(student, rng):
    # Neighbouring entries (along rows and along columns) must not be correlated: a mask drawn
    # per row or per column and broadcast fails this.
    mask = student.dropout_mask(np.zeros((200, 200)), 0.5, int(rng.integers(0, 2**31)))
    values = mask.astype(np.float64) - 0.5
    for axis, name in ((0, "rows"), (1, "columns")):
        left = np.take(values, np.arange(199), axis=axis)
        right = np.take(values, np.arange(1, 200), axis=axis)
        correlation = float((left * right).mean() / 0.25)
        assert abs(correlation) < 6 / math.sqrt(left.size), (
            f"neighbouring {name} of the mask are correlated ({correlation:.2f}): draw every "
            f"entry independently"
        )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_inverted_dropout_preserves_the_expected_value(student, rng, p):
    x = np.full((300, 300), 1.5)
    mask = student.dropout_mask(x, p, int(rng.integers(0, 2**31)))
    out = student.dropout_forward(x, p, mask)
    # mean(out) = 1.5 * kept / (1 - p); its standard deviation is 1.5 * sqrt(p / (1-p) / n)
    sigma = 1.5 * math.sqrt(p / (1 - p) / x.size)
    mean = float(out.mean())
    assert abs(mean - 1.5) < 6 * sigma, (
        f"the mean of the dropout output should stay 1.5 (inverted dropout), got {mean:.4f}"
    )


@pytest.mark.points(0.75)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lr, weight_decay", [(0.1, 0.0), (0.01, 5e-4), (0.5, 0.1)])
def test_sgd_step_with_weight_decay(student, reference, rng, dtype, lr, weight_decay):
    w = rng.standard_normal((4, 3, 2)).astype(dtype)
    dw = rng.standard_normal(w.shape).astype(dtype)
    assert_close(
        student.sgd_step_with_weight_decay(w, dw, lr, weight_decay),
        reference.sgd_step_with_weight_decay(w, dw, lr, weight_decay),
        name="w_new",
    )


@pytest.mark.points(0.75)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lr, weight_decay", [(0.1, 0.0), (0.01, 5e-4), (0.5, 0.1)])
def test_decoupled_weight_decay(student, reference, rng, dtype, lr, weight_decay):
    w = rng.standard_normal((5, 4)).astype(dtype)
    assert_close(
        student.decoupled_weight_decay(w, lr, weight_decay),
        reference.decoupled_weight_decay(w, lr, weight_decay),
        name="w_new",
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_refuses_a_probability_outside_0_1(student, p):
    x = np.ones((2, 3))
    with pytest.raises(ValueError):
        student.dropout_forward(x, p, np.ones(x.shape, bool))
