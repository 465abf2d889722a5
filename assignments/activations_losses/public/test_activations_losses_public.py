"""Public tests for activations_losses.py: known answers, stability and numeric gradients.

Run them from your copy of the template with ``autograder check activations_losses``. The
hidden tests compare every function with a reference implementation over many more shapes,
options and dtypes, including logits of magnitude 1000.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("activations_losses")]


@pytest.mark.points(1)
def test_activations_hand_computed(student):
    x = np.array([-2.0, 0.0, 3.0])
    assert_close(student.relu_forward(x), np.array([0.0, 0.0, 3.0]), name="relu")
    assert_close(student.leaky_relu_forward(x, 0.1), np.array([-0.2, 0.0, 3.0]), name="leaky")
    assert_close(student.sigmoid_forward(np.array([0.0])), np.array([0.5]), name="sigmoid(0)")
    assert_close(student.tanh_forward(np.array([0.0])), np.array([0.0]), name="tanh(0)")
    # ReLU's gradient at 0 is 0; leaky ReLU's is the slope (PyTorch's conventions)
    assert_close(student.relu_backward(np.ones(3), x), np.array([0.0, 0.0, 1.0]), name="drelu")
    assert_close(
        student.leaky_relu_backward(np.ones(3), x, 0.1), np.array([0.1, 0.1, 1.0]), name="dleaky"
    )


@pytest.mark.points(1)
def test_softmax_is_stable_and_sums_to_one(student):
    x = np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]])
    out = student.softmax_forward(x)
    assert_close(out, np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]), name="softmax")


@pytest.mark.points(1)
def test_cross_entropy_hand_computed(student):
    logits = np.array([[0.0, 0.0], [1000.0, 0.0]])
    y = np.array([0, 0])
    loss, grad = student.softmax_cross_entropy(logits, y)
    # example 0: -log(1/2); example 1: -log(1) = 0 (stable for a logit of 1000)
    assert_scalar_close(loss, np.float64(math.log(2) / 2), name="loss")
    assert_close(grad, np.array([[-0.25, 0.25], [0.0, 0.0]]), name="dlogits")


@pytest.mark.points(1)
def test_hinge_and_regression_losses_hand_computed(student):
    scores, y = np.array([[3.0, 1.0, 2.5]]), np.array([0])
    # terms for j = 1, 2: max(0, 1 - 3 + 1) = 0, max(0, 1 - 3 + 2.5) = 0.5; divided by K = 3
    loss, _ = student.multiclass_hinge(scores, y)
    assert_scalar_close(loss, np.float64(0.5 / 3), name="hinge loss")
    pred, target = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])
    assert_scalar_close(student.mse_loss(pred, target)[0], np.float64(13 / 3), name="mse")
    assert_scalar_close(student.l1_loss(pred, target)[0], np.float64(5 / 3), name="l1")


@pytest.mark.points(2)
@pytest.mark.parametrize(
    "function", ["sigmoid", "tanh", "leaky_relu", "softmax"], ids=lambda f: f"{f}_backward"
)
def test_activation_backward_matches_numeric_gradients(student, forward_oracle, rng, function):
    x = rng.standard_normal((3, 5))
    dout = rng.standard_normal(x.shape)
    dx = getattr(student, f"{function}_backward")(dout, x)
    forward = getattr(forward_oracle, f"{function}_forward")
    assert_gradient_close(dx, forward, x, dout, name="dx")


@pytest.mark.points(2)
@pytest.mark.parametrize(
    "loss", ["softmax_cross_entropy", "multiclass_focal_loss", "binary_focal_loss"]
)
def test_loss_gradients_match_numeric_gradients(student, forward_oracle, rng, loss):
    x = rng.standard_normal((4, 3))
    if loss == "binary_focal_loss":
        second = (rng.random(x.shape) < 0.5).astype(np.float64)
    else:
        second = rng.integers(0, 3, 4)
    _, grad = getattr(student, loss)(x, second)
    function = getattr(forward_oracle, loss)
    assert_gradient_close(
        grad, lambda v: np.asarray(function(v, second)[0]), x, np.float64(1.0), name="dlogits"
    )
