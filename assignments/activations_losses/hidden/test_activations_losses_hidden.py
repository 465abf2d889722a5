"""Hidden tests for activations_losses.py: the submission against the reference solution."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close

pytestmark = [
    pytest.mark.assignment("activations_losses"),
    pytest.mark.visibility("after_published"),
]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
SCALES = [pytest.param(1.0, id="scale1"), pytest.param(1000.0, id="scale1000")]
ACTIVATIONS = [
    pytest.param("relu", {}, id="relu"),
    pytest.param("leaky_relu", {}, id="leaky_relu_default"),
    pytest.param("leaky_relu", {"negative_slope": 0.3}, id="leaky_relu_0.3"),
    # a slope above 1 tells max(x, slope * x) from the leaky ReLU (they agree below 1)
    pytest.param("leaky_relu", {"negative_slope": 1.5}, id="leaky_relu_1.5"),
    pytest.param("sigmoid", {}, id="sigmoid"),
    pytest.param("tanh", {}, id="tanh"),
    pytest.param("softmax", {}, id="softmax_last_axis"),
    pytest.param("softmax", {"axis": 1}, id="softmax_axis1"),
    pytest.param("softmax", {"axis": 0}, id="softmax_axis0"),
]


def _x(rng, shape, dtype, scale):
    x = (scale * rng.standard_normal(shape)).astype(dtype)
    x.flat[:2] = 0.0  # the kinks
    return x


def _compare_loss(got, want, name="loss"):
    assert isinstance(got, tuple) and len(got) == 2, "losses return a tuple (loss, gradient)"
    assert_scalar_close(got[0], want[0], name=name)
    assert_close(got[1], want[1], name=f"gradient of the {name}")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name, kw", ACTIVATIONS)
def test_activation_forward(student, reference, rng, name, kw, scale, dtype):
    x = _x(rng, (3, 4, 5), dtype, scale)
    function = f"{name}_forward"
    assert_close(getattr(student, function)(x, **kw), getattr(reference, function)(x, **kw))


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name, kw", ACTIVATIONS)
def test_activation_backward(student, reference, rng, name, kw, scale, dtype):
    x = _x(rng, (3, 4, 5), dtype, scale)
    dout = rng.standard_normal(x.shape).astype(dtype)
    function = f"{name}_backward"
    assert_close(
        getattr(student, function)(dout, x, **kw),
        getattr(reference, function)(dout, x, **kw),
        name="dx",
    )


def _classification(rng, n, k, dtype, scale):
    return (scale * rng.standard_normal((n, k))).astype(dtype), rng.integers(0, k, n)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [pytest.param(3.0, id="scale3"), *SCALES[1:]])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
def test_softmax_cross_entropy(student, reference, rng, smoothing, scale, dtype):
    x, y = _classification(rng, 8, 5, dtype, scale)
    _compare_loss(
        student.softmax_cross_entropy(x, y, smoothing),
        reference.softmax_cross_entropy(x, y, smoothing),
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.5, 3.0])
def test_multiclass_hinge(student, reference, rng, margin, dtype):
    x, y = _classification(rng, 9, 4, dtype, 1.0)
    _compare_loss(student.multiclass_hinge(x, y, margin), reference.multiclass_hinge(x, y, margin))


@pytest.mark.points(1)
def test_multiclass_hinge_all_margins_met(student, reference, rng):
    x, y = _classification(rng, 5, 3, np.float64, 1.0)
    x[np.arange(5), y] += 10.0  # every margin satisfied: loss 0, gradient 0
    _compare_loss(student.multiclass_hinge(x, y), reference.multiclass_hinge(x, y))


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
def test_regression_losses(student, reference, rng, loss, dtype):
    pred = rng.standard_normal((4, 3, 2)).astype(dtype)
    target = rng.standard_normal(pred.shape).astype(dtype)
    target[0, 0, 0] = pred[0, 0, 0]  # the kink of the L1 loss
    _compare_loss(getattr(student, loss)(pred, target), getattr(reference, loss)(pred, target))


@pytest.mark.points(0.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [0.25, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize(
    "scale", [pytest.param(2.0, id="scale2"), pytest.param(60.0, id="scale60")]
)
def test_binary_focal_loss(student, reference, rng, scale, gamma, alpha, dtype):
    x = (scale * rng.standard_normal((6, 5))).astype(dtype)
    t = (rng.random(x.shape) < 0.3).astype(dtype)
    _compare_loss(
        student.binary_focal_loss(x, t, alpha, gamma),
        reference.binary_focal_loss(x, t, alpha, gamma),
    )


@pytest.mark.points(0.5)
def test_binary_focal_loss_soft_targets(student, reference, rng):
    x = 2.0 * rng.standard_normal((4, 4))
    t = rng.random(x.shape)
    _compare_loss(student.binary_focal_loss(x, t), reference.binary_focal_loss(x, t))


@pytest.mark.points(0.375)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [1.0, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 5.0])
def test_multiclass_focal_loss(student, reference, rng, gamma, alpha, dtype):
    x, y = _classification(rng, 7, 5, dtype, 3.0)
    _compare_loss(
        student.multiclass_focal_loss(x, y, alpha, gamma),
        reference.multiclass_focal_loss(x, y, alpha, gamma),
    )


@pytest.mark.points(0.5)
def test_multiclass_focal_loss_large_logits(student, reference, rng):
    x, y = _classification(rng, 6, 4, np.float64, 1000.0)
    _compare_loss(
        student.multiclass_focal_loss(x, y, 1.0, 2.0),
        reference.multiclass_focal_loss(x, y, 1.0, 2.0),
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [1.0, 4.0, 10.0])
def test_distillation_loss(student, reference, rng, temperature, dtype):
    s = (3.0 * rng.standard_normal((6, 7))).astype(dtype)
    t = (3.0 * rng.standard_normal((6, 7))).astype(dtype)
    _compare_loss(
        student.distillation_loss(s, t, temperature),
        reference.distillation_loss(s, t, temperature),
    )


@pytest.mark.points(1)
def test_distillation_loss_confident_teacher(student, reference, rng):
    # teacher probabilities that underflow to 0 contribute 0 (q log q -> 0), not NaN
    s = rng.standard_normal((4, 5))
    t = 3000.0 * rng.standard_normal((4, 5))
    _compare_loss(student.distillation_loss(s, t, 1.0), reference.distillation_loss(s, t, 1.0))


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("penalty", ["l1_penalty", "l2_penalty"])
def test_weight_penalties(student, reference, rng, penalty, dtype):
    w = rng.standard_normal((5, 4)).astype(dtype)
    w[0, 0] = 0.0
    _compare_loss(getattr(student, penalty)(w, 0.2), getattr(reference, penalty)(w, 0.2))


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "labels", [pytest.param([0, 3], id="label_too_large"), pytest.param([-1, 0], id="negative")]
)
def test_cross_entropy_refuses_labels_out_of_range(student, labels):
    with pytest.raises(ValueError):
        student.softmax_cross_entropy(np.zeros((2, 3)), np.array(labels))
