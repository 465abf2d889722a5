"""Public tests for lenet.py: shapes, known answers, numeric gradients and a short training run.

Run them from your copy of the template with ``pytest tests/``. Your network calls your own
``conv.py``, ``pooling.py``, ``activations_losses.py`` and ``optimizers.py``: make their public
tests pass first. Each function has a known answer here, and every gradient (the fully connected
layer's dx, dw and db, and ``lenet_loss``'s gradient of each parameter) a numeric gradient
check. The hidden tests compare your functions with a reference implementation on more shapes
and both dtypes, check one training step exactly, and train your network on the digits in full.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close
from autograder.suite.draws import shared_draw
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("lenet")]

SHAPES = {
    "conv1_w": (6, 1, 5, 5),
    "conv1_b": (6,),
    "conv2_w": (16, 6, 5, 5),
    "conv2_b": (16,),
    "fc1_w": (120, 400),
    "fc1_b": (120,),
    "fc2_w": (84, 120),
    "fc2_b": (84,),
    "fc3_w": (10, 84),
    "fc3_b": (10,),
}


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _params(rng, dtype=np.float64):
    """Random parameters at LeNet's scale (sqrt(2 / fan_in) per weight, small biases)."""
    params = {}
    for name, shape in SHAPES.items():
        if name.endswith("_w"):
            params[name] = rng.standard_normal(shape) * math.sqrt(2.0 / math.prod(shape[1:]))
        else:
            params[name] = 0.1 * rng.standard_normal(shape)
    return {k: v.astype(dtype) for k, v in params.items()}


def _images(rng, n, dtype=np.float64):
    return rng.random((n, 1, 32, 32)).astype(dtype)


# ------------------------------------------------------------------ fully connected, flatten


@pytest.mark.points(0.5)
def test_fc_forward_hand_computed(student):
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    w = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])  # (out_features, in_features)
    b = np.array([10.0, -1.0])
    # out[n, o] = sum_i x[n, i] * w[o, i] + b[o]
    expected = np.array([[1.0 - 3.0 + 10.0, 3.0 - 1.0], [-1.0 - 2.0 + 10.0, 0.5 - 1.0]])
    assert_close(student.fc_forward(x, w, b), expected, name="out")
    assert_close(student.fc_forward(x, w, None), expected - b, name="out (no bias)")


@pytest.mark.points(0.5)
def test_fc_forward_keeps_the_leading_axes(student, rng):
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    w = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out = student.fc_forward(x, w, b)
    _require(
        isinstance(out, np.ndarray) and out.shape == (2, 3, 4) and out.dtype == np.float32,
        f"out: expected float32 of shape (2, 3, 4), got {getattr(out, 'dtype', type(out))} "
        f"{getattr(out, 'shape', '')}",
    )
    assert_close(out[1, 2], (x[1, 2] @ w.T + b).astype(np.float32), name="out[1, 2]")


@pytest.mark.points(1)
@pytest.mark.parametrize("x_shape", [(4, 6), (2, 3, 6)], ids=["2d", "leading_axes"])
def test_fc_backward_matches_numeric_gradients(student, forward_oracle, rng, x_shape):
    x = rng.standard_normal(x_shape)
    w, b = rng.standard_normal((5, 6)), rng.standard_normal(5)
    dout = rng.standard_normal((*x_shape[:-1], 5))
    got = student.fc_backward(dout, x, w)
    _require(isinstance(got, tuple) and len(got) == 3, "fc_backward returns (dx, dw, db)")
    dx, dw, db = got
    fc = forward_oracle.fc_forward
    assert_gradient_close(dx, lambda v: fc(v, w, b), x, dout, name="dx")
    assert_gradient_close(dw, lambda v: fc(x, v, b), w, dout, name="dw")
    assert_gradient_close(db, lambda v: fc(x, w, v), b, dout, name="db")


@pytest.mark.points(0.5)
def test_flatten_forward_is_row_major_per_example(student):
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    out = student.flatten_forward(x)
    # example n's values in C order: channel 0's 2 x 2 pixels first, then channel 1's, ...
    expected = np.stack([np.arange(12.0), np.arange(12.0, 24.0)])
    assert_close(out, expected, name="out")


@pytest.mark.points(0.5)
def test_flatten_backward_restores_the_input_shape(student, rng):
    dout = rng.standard_normal((3, 16 * 5 * 5))
    dx = student.flatten_backward(dout, (3, 16, 5, 5))
    assert_close(dx, dout.reshape(3, 16, 5, 5), name="dx")


# ------------------------------------------------------------------ the network


@pytest.mark.points(1)
def test_init_shapes_bounds_and_seeds(student):
    params = student.lenet_init(np.zeros((2, 1, 32, 32), np.float32), 0)
    bounds: dict[str, float] = {}
    _require(
        isinstance(params, dict) and set(params) == set(SHAPES),
        f"lenet_init must return a dict with the keys {sorted(SHAPES)}",
    )
    for name, shape in SHAPES.items():
        value = params[name]
        _require(
            isinstance(value, np.ndarray) and value.shape == shape and value.dtype == np.float32,
            f"params[{name!r}]: expected float32 of shape {shape}, got "
            f"{getattr(value, 'dtype', type(value))} {getattr(value, 'shape', '')}",
        )
        if name.endswith("_b"):
            _require(not value.any(), f"params[{name!r}]: biases start at zero")
            continue
        fan_in, fan_out = math.prod(shape[1:]), shape[0] * math.prod(shape[2:])
        if name == "fc3_w":  # xavier_uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
            bound = math.sqrt(6.0 / (fan_in + fan_out))
        else:  # kaiming_uniform with the ReLU's gain sqrt(2): b = sqrt(2) * sqrt(3 / fan_in)
            bound = math.sqrt(6.0 / fan_in)
        largest = float(np.abs(value).max())
        _require(
            0.8 * bound < largest <= bound,
            f"params[{name!r}]: values must fill U(-{bound:.4g}, {bound:.4g}); the largest "
            f"is {largest:.4g}",
        )
        bounds[name] = bound
    other = student.lenet_init(np.zeros((2, 1, 32, 32), np.float32), 1)
    _require(
        not np.array_equal(params["conv1_w"], other["conv1_w"]),
        "lenet_init(1) must draw other weights than lenet_init(0)",
    )
    labels = {(seed, name): f"lenet_init({seed})[{name!r}]" for seed in (0, 1) for name in bounds}
    shared = shared_draw(
        {labels[seed, name]: (params if seed == 0 else other)[name] for seed, name in labels},
        {labels[seed, name]: bounds[name] for seed, name in labels},
    )
    _require(
        shared is None,
        f"{shared} start with the same draws: the seeds 10 * seed, ..., 10 * seed + 4 give "
        "each weight of each seed a draw of its own",
    )


@pytest.mark.points(0.5)
def test_forward_gives_ten_logits_per_image_in_the_input_dtype(student, rng):
    x = _images(rng, 3, np.float32)
    logits = student.lenet_forward(_params(rng, np.float32), x)
    _require(
        isinstance(logits, np.ndarray) and logits.shape == (3, 10) and logits.dtype == np.float32,
        f"logits: expected float32 of shape (3, 10), got {getattr(logits, 'dtype', type(logits))} "
        f"{getattr(logits, 'shape', '')}",
    )


@pytest.mark.points(1)
def test_loss_of_constant_logits_is_log_10(student, rng):
    # With fc3_w = 0 every image's logits are fc3_b; with fc3_b = 0 the softmax is uniform, so
    # the loss is log(10) and dloss/dfc3_b = mean(softmax) - mean(one-hot) = 1/10 - counts/N.
    params = _params(rng)
    params["fc3_w"] = np.zeros((10, 84))
    params["fc3_b"] = np.zeros(10)
    x, y = _images(rng, 4), np.array([3, 3, 7, 0])
    got = student.lenet_loss(params, x, y)
    _require(isinstance(got, tuple) and len(got) == 2, "lenet_loss returns (loss, grads)")
    loss, grads = got
    assert_scalar_close(loss, math.log(10.0), name="loss")
    counts = np.bincount(y, minlength=10) / 4.0
    assert_close(grads["fc3_b"], 0.1 - counts, name="grads['fc3_b']")
    for name in ("fc2_w", "conv1_w", "conv1_b"):  # fc3_w = 0 stops every earlier gradient
        assert_close(grads[name], np.zeros(SHAPES[name]), name=f"grads[{name!r}]")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", list(SHAPES))
def test_loss_gradient_of_each_parameter_matches_numeric_gradients(
    student, forward_oracle, rng, name
):
    params = _params(rng)
    x, y = _images(rng, 3), rng.integers(0, 10, 3)
    got = student.lenet_loss(params, x, y)
    _require(isinstance(got, tuple) and len(got) == 2, "lenet_loss returns (loss, grads)")
    grads = got[1]
    _require(
        isinstance(grads, dict) and set(grads) == set(SHAPES),
        f"lenet_loss's grads must be a dict with the keys {sorted(SHAPES)}",
    )

    def loss_at(value):
        return np.asarray(forward_oracle.lenet_loss({**params, name: value}, x, y)[0])

    assert_gradient_close(
        grads[name], loss_at, params[name], np.float64(1.0), name=f"grads[{name!r}]", samples=12
    )


# ------------------------------------------------------------------ training


@pytest.mark.points(1)
def test_train_step_is_sgd_with_momentum_on_every_parameter(student, forward_oracle, rng):
    params = _params(rng)
    velocities = {k: 0.5 * rng.standard_normal(v.shape) for k, v in params.items()}
    x, y = _images(rng, 4), rng.integers(0, 10, 4)
    got = student.train_step(params, velocities, x, y, 0.1, 0.9, 0.01)
    _require(
        isinstance(got, tuple) and len(got) == 3, "train_step returns (params, velocities, loss)"
    )
    new_params, new_velocities, loss = got
    want_loss, grads = forward_oracle.lenet_loss(params, x, y)
    assert_scalar_close(loss, want_loss, name="loss (before the step)")
    for k in SHAPES:
        g = grads[k] + 0.01 * params[k]  # torch.optim.SGD: weight decay joins the gradient
        v = 0.9 * velocities[k] + g
        assert_close(new_velocities[k], v, name=f"velocities[{k!r}]")
        assert_close(new_params[k], params[k] - 0.1 * v, name=f"params[{k!r}]")


@pytest.mark.points(0.5)
def test_learning_rate_is_a_positive_float_at_every_step(student):
    rates = [student.learning_rate(step, 40, 0.05) for step in range(40)]
    _require(
        all(isinstance(r, float) and r > 0 and math.isfinite(r) for r in rates),
        f"learning_rate must return a positive float at every step, got {rates[:5]}...",
    )


@pytest.mark.points(1)
def test_evaluate_counts_the_largest_logit(student, rng):
    # Zero weights and fc3_b pointing at class 3: every image is predicted 3, with
    # softmax(fc3_b) for every image.
    params = {k: np.zeros(s) for k, s in SHAPES.items()}
    params["fc3_b"] = np.eye(10)[3] * 2.0
    x, y = _images(rng, 7), np.array([3, 1, 3, 3, 0, 9, 3])
    loss, accuracy = student.evaluate(params, x, y, 3)
    log_p = params["fc3_b"] - math.log(np.exp(params["fc3_b"]).sum())
    assert_scalar_close(accuracy, 4 / 7, name="accuracy")
    assert_scalar_close(loss, float(-log_p[y].mean()), name="loss")


@pytest.mark.points(1.5)
# Not on the strict simulator: its budget of single-element reads is a layer's, and a training
# run makes its layers' checks (of labels, of switches) at every step.
@pytest.mark.backends("numpy", "cupy")
def test_training_learns_a_separable_toy_problem(student):
    # Two classes: a bright left half or a bright right half; a few epochs separate them.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = 0.1 * rng.random((64, 1, 32, 32))
    x[y == 0, :, :, :16] += 0.8
    x[y == 1, :, :, 16:] += 0.8
    params = student.lenet_init(x, 0)
    got = student.train(params, x, y, 3, 16, 0.01)
    _require(isinstance(got, tuple) and len(got) == 2, "train returns (params, losses)")
    trained, losses = got
    _require(
        isinstance(losses, list) and len(losses) == 12,
        f"train must return one loss per step (3 epochs of 4 batches: 12), got "
        f"{len(losses) if isinstance(losses, list) else type(losses).__name__}",
    )
    _require(
        np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4]),
        f"the loss must fall: first epoch's mean {np.mean(losses[:4]):.3f}, last epoch's "
        f"{np.mean(losses[-4:]):.3f}",
    )
    _, accuracy = student.evaluate(trained, x, y)
    assert_scalar_close(accuracy, 1.0, name="training accuracy")
