"""Public tests for regularization.py: known answers, mask statistics and gradients.

Run them from your copy of the template with ``autograder check regularization``. The hidden
tests compare your functions with a reference implementation over many more shapes, drop
probabilities and dtypes, and test your masks' statistics on larger samples.

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


@pytest.mark.points(1)
def test_dropout_forward_hand_computed(student):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mask = np.array([True, False, True, False])
    assert_close(student.dropout_forward(x, 0.5, mask), np.array([2.0, 0.0, 6.0, 0.0]))
    assert_close(student.dropout_forward(x, 0.75, mask), np.array([4.0, 0.0, 12.0, 0.0]))


@pytest.mark.points(1)
def test_dropout_eval_mode_is_the_identity(student, rng):
    x = rng.standard_normal((3, 4))
    nothing_kept = np.zeros(x.shape, dtype=bool)
    assert_close(student.dropout_forward(x, 0.5, nothing_kept, training=False), x, name="out")
    assert_close(student.dropout_backward(x, 0.5, nothing_kept, training=False), x, name="dx")


@pytest.mark.points(1)
def test_dropout_p_zero_keeps_everything_and_p_one_drops_everything(student, rng):
    x = rng.standard_normal((4, 5))
    assert_close(student.dropout_forward(x, 0.0, np.ones(x.shape, bool)), x, name="p=0")
    zeros = student.dropout_forward(x, 1.0, np.zeros(x.shape, bool))
    assert_close(zeros, np.zeros_like(x), name="p=1")


@pytest.mark.points(1)
def test_mask_keeps_about_one_minus_p_and_replays_its_seed(student, rng):
    x = np.zeros((100, 100))
    seed = int(rng.integers(0, 2**31))
    mask = student.dropout_mask(x, 0.3, seed)
    assert type(mask) is np.ndarray and mask.dtype == bool and mask.shape == x.shape, (
        f"dropout_mask must return a boolean array shaped like x, got {type(mask).__name__} "
        f"{getattr(mask, 'dtype', '')} {getattr(mask, 'shape', '')}"
    )
    sigma = math.sqrt(0.3 * 0.7 / x.size)
    kept = float(mask.mean())
    assert abs(kept - 0.7) < 6 * sigma, f"p = 0.3 should keep about 70% of entries, kept {kept:.1%}"
    again = student.dropout_mask(x, 0.3, seed)
    assert np.array_equal(again, mask), "the same seed must give the same mask"


@pytest.mark.points(1)
def test_dropout_backward_matches_numeric_gradients(student, forward_oracle, rng):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal(x.shape)
    mask = rng.random(x.shape) >= 0.4
    dx = student.dropout_backward(dout, 0.4, mask)
    forward = forward_oracle.dropout_forward
    assert_gradient_close(dx, lambda v: forward(v, 0.4, mask), x, dout, name="dx")


@pytest.mark.points(1)
def test_weight_decay_hand_computed(student):
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    # w - lr * (dw + wd * w) = [1 - 0.1 * (0.5 + 0.1), -2 - 0.1 * (0.5 - 0.2)]
    want = np.array([0.94, -2.03])
    assert_close(student.sgd_step_with_weight_decay(w, dw, 0.1, 0.1), want, name="w_new")
    assert_close(student.decoupled_weight_decay(w, 0.1, 0.1), w * 0.99, name="w_new")
