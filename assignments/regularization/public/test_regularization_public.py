"""Public tests for regularization.py: known answers, mask statistics and gradients.

Run them from your copy of the template with ``autograder check regularization``. Training
and evaluation, the extreme drop probabilities 0 and 1, and both kinds of weight decay each
have a known answer here, and the backward pass a numeric gradient check for each of them.
The hidden tests compare your functions with a reference implementation over many more
shapes, drop probabilities and dtypes, and test your masks' statistics on larger samples.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("regularization")]


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _mask_of(student, x, p, seed):
    mask = student.dropout_mask(x, p, seed)
    _require(
        type(mask) is np.ndarray and mask.dtype == bool and mask.shape == x.shape,
        f"dropout_mask must return a boolean array shaped like x, got {type(mask).__name__} "
        f"{getattr(mask, 'dtype', '')} {getattr(mask, 'shape', '')}",
    )
    return mask


# ======================================================================== masks


@pytest.mark.points(1.5)
def test_mask_keeps_about_one_minus_p(student, rng):
    x = np.zeros((100, 100))
    mask = _mask_of(student, x, 0.3, int(rng.integers(0, 2**31)))
    sigma = math.sqrt(0.3 * 0.7 / x.size)
    kept = float(mask.mean())
    _require(
        abs(kept - 0.7) < 6 * sigma, f"p = 0.3 should keep about 70% of entries, kept {kept:.1%}"
    )


@pytest.mark.points(0.25)
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_mask_extremes_keep_everything_or_nothing(student, rng, p):
    mask = _mask_of(student, np.zeros((5, 6)), p, int(rng.integers(0, 2**31)))
    _require(
        bool(mask.all() if p == 0 else not mask.any()),
        f"p = {p} must {'keep' if p == 0 else 'drop'} every entry",
    )


@pytest.mark.points(2)
def test_mask_replays_its_seed_and_other_seeds_differ(student, rng):
    # Independent masks with p = 0.5 agree on about half of the entries.
    x = np.zeros((50, 60))
    seed = int(rng.integers(0, 2**31))
    mask = _mask_of(student, x, 0.5, seed)
    _require(
        np.array_equal(_mask_of(student, x, 0.5, seed), mask),
        "the same seed must give the same mask",
    )
    agree = float((_mask_of(student, x, 0.5, seed + 1) == mask).mean())
    _require(
        abs(agree - 0.5) < 6 * math.sqrt(0.25 / x.size),
        f"masks of seeds {seed} and {seed + 1} agree on {agree:.1%} of the entries; "
        f"independent masks agree on about 50%",
    )


# ======================================================================== forward


@pytest.mark.points(2)
def test_dropout_forward_hand_computed(student):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mask = np.array([True, False, True, False])
    assert_close(student.dropout_forward(x, 0.5, mask), np.array([2.0, 0.0, 6.0, 0.0]))
    assert_close(student.dropout_forward(x, 0.75, mask), np.array([4.0, 0.0, 12.0, 0.0]))


@pytest.mark.points(1)
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_dropout_p_zero_keeps_everything_and_p_one_drops_everything(student, rng, p):
    x = rng.standard_normal((4, 5))
    mask = np.full(x.shape, p == 0.0)
    expected = x if p == 0.0 else np.zeros_like(x)
    assert_close(student.dropout_forward(x, p, mask), expected, name=f"out (p={p})")


@pytest.mark.points(2)
def test_dropout_eval_mode_is_the_identity(student, rng):
    x = rng.standard_normal((3, 4))
    nothing_kept = np.zeros(x.shape, dtype=bool)
    assert_close(student.dropout_forward(x, 0.5, nothing_kept, training=False), x, name="out")


# ======================================================================== backward


@pytest.mark.points(1)
def test_dropout_backward_hand_computed(student):
    dout = np.array([1.0, 2.0, 3.0, 4.0])
    mask = np.array([False, True, True, False])
    assert_close(
        student.dropout_backward(dout, 0.75, mask), np.array([0.0, 8.0, 12.0, 0.0]), name="dx"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "p, training",
    [(0.4, True), (0.0, True), (1.0, True), (0.4, False)],
    ids=["p0.4", "p0", "p1", "eval"],
)
def test_dropout_backward_matches_numeric_gradients(student, forward_oracle, rng, p, training):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal(x.shape)
    mask = rng.random(x.shape) >= p
    dx = student.dropout_backward(dout, p, mask, training=training)
    forward = forward_oracle.dropout_forward
    assert_gradient_close(dx, lambda v: forward(v, p, mask, training=training), x, dout, name="dx")


@pytest.mark.points(1)
def test_dropout_backward_eval_mode_is_the_identity(student, rng):
    dout = rng.standard_normal((3, 4))
    nothing_kept = np.zeros(dout.shape, dtype=bool)
    assert_close(student.dropout_backward(dout, 0.5, nothing_kept, training=False), dout, name="dx")


# ======================================================================== weight decay


@pytest.mark.points(1)
@pytest.mark.parametrize("weight_decay, expected", [(0.1, [0.94, -2.03]), (0.0, [0.95, -2.05])])
def test_sgd_step_with_weight_decay_hand_computed(student, weight_decay, expected):
    # w - lr * (dw + wd * w) = [1 - 0.1 * (0.5 + 0.1), -2 - 0.1 * (0.5 - 0.2)] for wd = 0.1
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    got = student.sgd_step_with_weight_decay(w, dw, 0.1, weight_decay)
    assert_close(got, np.array(expected), name="w_new")


@pytest.mark.points(1)
@pytest.mark.parametrize("lr, weight_decay", [(0.1, 0.1), (0.5, 0.2)])
def test_decoupled_weight_decay_hand_computed(student, lr, weight_decay):
    w = np.array([1.0, -2.0])
    got = student.decoupled_weight_decay(w, lr, weight_decay)
    assert_close(got, w * (1 - lr * weight_decay), name="w_new")
