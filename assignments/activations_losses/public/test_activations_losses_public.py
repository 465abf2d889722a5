"""Public tests for activations_losses.py: known answers, stability and numeric gradients.

Run them from your copy of the template with ``autograder check activations_losses``. Every
function has a known answer here for each of its options (``negative_slope``, ``axis``,
``label_smoothing``, ``margin``, ``alpha``, ``gamma``, ``temperature``), and every gradient a
numeric gradient check for each of them. The hidden tests compare every function with a
reference implementation over many more shapes, options and dtypes, including logits of
magnitude 1000.

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

LN2, LN3 = math.log(2), math.log(3)


# ======================================================================== activations


@pytest.mark.points(1)
def test_relu_hand_computed(student):
    x = np.array([-2.0, 0.0, 3.0])
    assert_close(student.relu_forward(x), np.array([0.0, 0.0, 3.0]), name="relu")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, [-0.02, 0.0, 3.0]),
        ({"negative_slope": 0.3}, [-0.6, 0.0, 3.0]),
        ({"negative_slope": 1.5}, [-3.0, 0.0, 3.0]),  # any slope: not max(x, slope * x)
    ],
    ids=["default_slope", "slope0.3", "slope1.5"],
)
def test_leaky_relu_hand_computed(student, kw, expected):
    x = np.array([-2.0, 0.0, 3.0])
    assert_close(student.leaky_relu_forward(x, **kw), np.array(expected), name="leaky_relu")


@pytest.mark.points(1)
def test_sigmoid_hand_computed_and_stable(student):
    # sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4; +-1000 saturate to 1 and 0 without overflow.
    x = np.array([0.0, LN3, -LN3, 1000.0, -1000.0])
    expected = np.array([0.5, 0.75, 0.25, 1.0, 0.0])
    assert_close(student.sigmoid_forward(x), expected, name="sigmoid")


@pytest.mark.points(1)
def test_tanh_hand_computed(student):
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5
    x = np.array([0.0, LN2, -LN2, 1000.0, -1000.0])
    assert_close(student.tanh_forward(x), np.array([0.0, 0.6, -0.6, 1.0, -1.0]), name="tanh")


@pytest.mark.points(1)
def test_softmax_is_stable_and_sums_to_one(student):
    x = np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0], [0.0, LN2, LN3]])
    out = student.softmax_forward(x)
    expected = np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [1 / 6, 2 / 6, 3 / 6]])
    assert_close(out, expected, name="softmax")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_along_an_axis_recovers_its_probabilities(student, rng, axis):
    # softmax(log p + c) = p for any p > 0 that sums to 1 along the axis (c is any constant
    # along it): the softmax of x = log p + 100 along `axis` is p.
    p = rng.random((2, 3, 4)) + 0.1
    p /= p.sum(axis=axis, keepdims=True)
    out = student.softmax_forward(np.log(p) + 100.0, axis=axis)
    assert_close(out, p, name="softmax")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "function, kw, expected",
    [
        ("relu", {}, [0.0, 0.0, 1.0]),
        ("leaky_relu", {}, [0.01, 0.01, 1.0]),
    ],
    ids=["relu", "leaky_relu"],
)
def test_activation_gradients_at_the_kink(student, function, kw, expected):
    # ReLU's gradient at 0 is 0; leaky ReLU's is the slope (PyTorch's conventions). Numeric
    # gradients cannot see a kink, so they are written here.
    x = np.array([-2.0, 0.0, 3.0])
    dx = getattr(student, f"{function}_backward")(np.ones(3), x, **kw)
    assert_close(dx, np.array(expected), name="dx")


def _check_activation_gradient(student, forward_oracle, rng, function, kw, shape=(3, 5)):
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(x.shape)
    dx = getattr(student, f"{function}_backward")(dout, x, **kw)
    forward = getattr(forward_oracle, f"{function}_forward")
    assert_gradient_close(dx, lambda v: forward(v, **kw), x, dout, name="dx")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("function", ["relu", "leaky_relu"], ids=lambda f: f"{f}_backward")
def test_piecewise_linear_backward_matches_numeric_gradients(
    student, forward_oracle, rng, function
):
    _check_activation_gradient(student, forward_oracle, rng, function, {})


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "function, kw, shape",
    [
        ("leaky_relu", {"negative_slope": 0.2}, (3, 5)),
        ("sigmoid", {}, (3, 5)),
        ("tanh", {}, (3, 5)),
        ("softmax", {}, (3, 5)),
        ("softmax", {"axis": 0}, (3, 2, 4)),
    ],
    ids=["leaky_relu_slope0.2", "sigmoid", "tanh", "softmax_last_axis", "softmax_axis0"],
)
def test_activation_backward_matches_numeric_gradients(
    student, forward_oracle, rng, function, kw, shape
):
    _check_activation_gradient(student, forward_oracle, rng, function, kw, shape)


# ======================================================================== losses: known answers


@pytest.mark.points(0.5)
def test_cross_entropy_hand_computed(student):
    logits = np.array([[0.0, 0.0], [1000.0, 0.0]])
    y = np.array([0, 0])
    loss, _ = student.softmax_cross_entropy(logits, y)
    # example 0: -log(1/2); example 1: -log(1) = 0 (stable for a logit of 1000)
    assert_scalar_close(loss, np.float64(LN2 / 2), name="loss")


@pytest.mark.points(0.5)
def test_cross_entropy_label_smoothing_hand_computed(student):
    # p = (1/2, 1/4, 1/4) in both rows; eps = 0.3 over K = 3 classes: the targets are
    # q = 0.7 * onehot(y) + 0.1, so (0.8, 0.1, 0.1) for y = 0 and (0.1, 0.1, 0.8) for y = 2.
    # -sum q log p = 0.8 ln 2 + 0.2 * 2 ln 2 = 1.2 ln 2, and 0.1 ln 2 + 0.9 * 2 ln 2 = 1.9 ln 2.
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]))
    loss, _ = student.softmax_cross_entropy(logits, np.array([0, 2]), label_smoothing=0.3)
    assert_scalar_close(loss, np.float64((1.2 + 1.9) / 2 * LN2), name="loss")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("margin, expected", [(1.0, 0.5 / 3), (2.0, 1.5 / 3)])
def test_hinge_hand_computed(student, margin, expected):
    # terms for j = 1, 2: max(0, margin - 3 + 1), max(0, margin - 3 + 2.5); divided by K = 3
    scores, y = np.array([[3.0, 1.0, 2.5]]), np.array([0])
    loss, _ = student.multiclass_hinge(scores, y, margin)
    assert_scalar_close(loss, np.float64(expected), name="hinge loss")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "loss, value, grad",
    [("mse_loss", 13 / 3, [0.0, 4 / 3, 2.0]), ("l1_loss", 5 / 3, [0.0, 1 / 3, 1 / 3])],
)
def test_regression_losses_hand_computed(student, loss, value, grad):
    # pred - target = (0, 2, 3): MSE (0 + 4 + 9) / 3, gradient 2 * (0, 2, 3) / 3; L1 5 / 3,
    # gradient sign(0, 2, 3) / 3 with 0 where prediction equals target (PyTorch's convention).
    pred, target = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])
    got = getattr(student, loss)(pred, target)
    assert isinstance(got, tuple) and len(got) == 2, "losses return a tuple (loss, gradient)"
    assert_scalar_close(got[0], np.float64(value), name=loss)
    assert_close(got[1], np.array(grad), name="dpred")


def _binary_focal_expected(alpha, gamma):
    # logits ln 3 (p = 3/4) with targets 1 and 0. For t = 1: ce = ln(4/3), 1 - p_t = 1/4,
    # weight alpha; for t = 0: ce = ln 4, 1 - p_t = 3/4, weight 1 - alpha (none if alpha < 0).
    w1, w0 = (alpha, 1 - alpha) if alpha >= 0 else (1.0, 1.0)
    return (w1 * 0.25**gamma * math.log(4 / 3) + w0 * 0.75**gamma * math.log(4)) / 2


@pytest.mark.points(0.5)
def test_binary_focal_loss_hand_computed(student):
    logits, targets = np.array([LN3, LN3]), np.array([1.0, 0.0])
    loss, _ = student.binary_focal_loss(logits, targets)  # alpha = 0.25, gamma = 2
    assert_scalar_close(loss, np.float64(_binary_focal_expected(0.25, 2.0)), name="loss")


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "alpha, gamma",
    [(0.6, 2.0), (-1.0, 2.0), (0.25, 0.0), (0.25, 1.0)],
    ids=["alpha0.6", "alpha_off", "gamma0", "gamma1"],
)
def test_binary_focal_loss_options_hand_computed(student, alpha, gamma):
    logits, targets = np.array([LN3, LN3]), np.array([1.0, 0.0])
    loss, _ = student.binary_focal_loss(logits, targets, alpha, gamma)
    assert_scalar_close(loss, np.float64(_binary_focal_expected(alpha, gamma)), name="loss")


def _multiclass_focal_expected(alpha, gamma):
    # p = (1/2, 1/4, 1/4) in both rows, labels 0 and 1: p_y = 1/2 and 1/4, and
    # loss_i = -alpha * (1 - p_y) ** gamma * log p_y.
    return alpha * (0.5**gamma * LN2 + 0.75**gamma * 2 * LN2) / 2


@pytest.mark.points(0.5)
@pytest.mark.parametrize("alpha, gamma", [(1.0, 2.0), (0.25, 2.0)], ids=["defaults", "alpha0.25"])
def test_multiclass_focal_loss_hand_computed(student, alpha, gamma):
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]))
    loss, _ = student.multiclass_focal_loss(logits, np.array([0, 1]), alpha, gamma)
    assert_scalar_close(loss, np.float64(_multiclass_focal_expected(alpha, gamma)), name="loss")


@pytest.mark.points(0.25)
@pytest.mark.parametrize("gamma", [0.0, 5.0])
def test_multiclass_focal_loss_gamma_hand_computed(student, gamma):
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]))
    loss, _ = student.multiclass_focal_loss(logits, np.array([0, 1]), 1.0, gamma)
    assert_scalar_close(loss, np.float64(_multiclass_focal_expected(1.0, gamma)), name="loss")


def _distillation_inputs(temperature):
    # Logits T * log(prob): the softmax of logits / T is prob. Student (1/4, 3/4), teacher
    # (1/2, 1/2): KL(q || p) = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3), times T ** 2.
    s = temperature * np.log(np.array([[0.25, 0.75]]))
    t = temperature * np.log(np.array([[0.5, 0.5]]))
    return s, t, temperature**2 * 0.5 * math.log(4 / 3)


@pytest.mark.points(0.5)
def test_distillation_loss_hand_computed(student):
    s, t, expected = _distillation_inputs(4.0)
    loss, _ = student.distillation_loss(s, t)  # the default temperature, 4
    assert_scalar_close(loss, np.float64(expected), name="loss")


@pytest.mark.points(0.25)
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_distillation_loss_temperature_hand_computed(student, temperature):
    s, t, expected = _distillation_inputs(temperature)
    loss, _ = student.distillation_loss(s, t, temperature)
    assert_scalar_close(loss, np.float64(expected), name="loss")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "penalty, value, grad",
    [("l1_penalty", 2.5, [-0.5, 0.0, 0.5]), ("l2_penalty", 3.25, [-1.0, 0.0, 1.5])],
)
def test_weight_penalties_hand_computed(student, penalty, value, grad):
    # strength 0.5 on w = (-2, 0, 3): L1 0.5 * 5, L2 0.5 / 2 * 13; the L1 gradient at 0 is 0
    w = np.array([-2.0, 0.0, 3.0])
    got = getattr(student, penalty)(w, 0.5)
    assert isinstance(got, tuple) and len(got) == 2, "penalties return (penalty, dw)"
    assert_scalar_close(got[0], np.float64(value), name=penalty)
    assert_close(got[1], np.array(grad), name="dw")


# ======================================================================== losses: gradients


def _first_argument(loss, rng):
    """Inputs of ``loss`` for a gradient check: its first argument and the second."""
    if loss in ("binary_focal_loss", "mse_loss", "l1_loss"):
        x = rng.standard_normal((4, 3))
        if loss == "binary_focal_loss":
            return x, (rng.random(x.shape) < 0.5).astype(np.float64)
        return x, rng.standard_normal(x.shape)
    if loss == "distillation_loss":
        return 3.0 * rng.standard_normal((4, 3)), 3.0 * rng.standard_normal((4, 3))
    return rng.standard_normal((4, 3)), rng.integers(0, 3, 4)


def _check_loss_gradient(student, forward_oracle, rng, loss, args):
    x, second = _first_argument(loss, rng)
    got = getattr(student, loss)(x, second, *args)
    assert isinstance(got, tuple) and len(got) == 2, "losses return a tuple (loss, gradient)"
    function = getattr(forward_oracle, loss)
    assert_gradient_close(
        got[1],
        lambda v: np.asarray(function(v, second, *args)[0]),
        x,
        np.float64(1.0),
        name="gradient",
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "loss, args",
    [
        ("softmax_cross_entropy", ()),
        ("softmax_cross_entropy", (0.2,)),
        ("multiclass_hinge", ()),
        ("multiclass_hinge", (2.0,)),
        ("mse_loss", ()),
        ("l1_loss", ()),
        ("binary_focal_loss", ()),
        ("multiclass_focal_loss", ()),
        ("multiclass_focal_loss", (0.25, 2.0)),
        ("distillation_loss", ()),
    ],
    ids=[
        "cross_entropy",
        "cross_entropy_smoothing0.2",
        "hinge",
        "hinge_margin2",
        "mse",
        "l1",
        "binary_focal",
        "multiclass_focal",
        "multiclass_focal_alpha0.25",
        "distillation",
    ],
)
def test_loss_gradients_match_numeric_gradients(student, forward_oracle, rng, loss, args):
    _check_loss_gradient(student, forward_oracle, rng, loss, args)


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "loss, args",
    [
        ("binary_focal_loss", (0.6, 2.0)),
        ("binary_focal_loss", (-1.0, 2.0)),
        ("binary_focal_loss", (0.25, 0.0)),
        ("binary_focal_loss", (0.25, 0.5)),
        ("multiclass_focal_loss", (1.0, 0.0)),
        ("multiclass_focal_loss", (1.0, 5.0)),
        ("distillation_loss", (1.0,)),
        ("distillation_loss", (10.0,)),
    ],
    ids=[
        "binary_focal_alpha0.6",
        "binary_focal_alpha_off",
        "binary_focal_gamma0",
        "binary_focal_gamma0.5",
        "multiclass_focal_gamma0",
        "multiclass_focal_gamma5",
        "distillation_temperature1",
        "distillation_temperature10",
    ],
)
def test_loss_option_gradients_match_numeric_gradients(student, forward_oracle, rng, loss, args):
    _check_loss_gradient(student, forward_oracle, rng, loss, args)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("penalty", ["l1_penalty", "l2_penalty"])
def test_penalty_gradients_match_numeric_gradients(student, forward_oracle, rng, penalty):
    w = rng.standard_normal((3, 4))
    got = getattr(student, penalty)(w, 0.3)
    assert isinstance(got, tuple) and len(got) == 2, "penalties return (penalty, dw)"
    function = getattr(forward_oracle, penalty)
    assert_gradient_close(
        got[1], lambda v: np.asarray(function(v, 0.3)[0]), w, np.float64(1.0), name="dw"
    )
