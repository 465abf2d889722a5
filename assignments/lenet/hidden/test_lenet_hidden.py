"""Hidden tests for lenet.py: the submission (with its own layers) against the reference, one
training step exactly, and a full training run on the bundled digits (the leaderboard's)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close
from autograder.suite.draws import shared_draw
from autograder.suite.student import with_call_timeout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = [pytest.mark.assignment("lenet"), pytest.mark.visibility("after_published")]

FOLDER = Path(__file__).resolve().parents[1]
TRAINING = tomllib.loads((FOLDER / "assignment.toml").read_text(encoding="utf-8"))["training"]
DATA = FOLDER / "data" / "digits32.npz"
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
NAMES = (
    "conv1_w",
    "conv1_b",
    "conv2_w",
    "conv2_b",
    "fc1_w",
    "fc1_b",
    "fc2_w",
    "fc2_b",
    "fc3_w",
    "fc3_b",
)


def _params(reference, rng, dtype):
    """Parameters drawn by the reference's init, biases made non-zero."""
    params = reference.lenet_init(np.zeros((1, 1, 32, 32), dtype), int(rng.integers(0, 1000)))
    for name in NAMES:
        if name.endswith("_b"):
            params[name] = (0.1 * rng.standard_normal(params[name].shape)).astype(dtype)
    return params


def _compare_dicts(got, want, what):
    assert isinstance(got, dict) and set(got) == set(want), (
        f"{what} must be a dict with the keys {sorted(want)}"
    )
    for name in want:
        assert_close(got[name], want[name], name=f"{what}[{name!r}]")


# ------------------------------------------------------------------ fully connected, flatten


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "x_shape, out_features, bias",
    [
        pytest.param((8, 400), 120, True, id="fc1_batch8"),
        pytest.param((1, 84), 10, True, id="fc3_batch1"),
        pytest.param((2, 3, 7), 5, True, id="leading_axes"),
        pytest.param((6, 4), 3, False, id="no_bias"),
    ],
)
def test_fc_forward(student, reference, rng, x_shape, out_features, bias, dtype):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((out_features, x_shape[-1])).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype) if bias else None
    assert_close(student.fc_forward(x, w, b), reference.fc_forward(x, w, b), name="out")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "x_shape, out_features",
    [
        pytest.param((8, 400), 120, id="fc1_batch8"),
        pytest.param((1, 84), 10, id="fc3_batch1"),
        pytest.param((2, 3, 7), 5, id="leading_axes"),
    ],
)
def test_fc_backward(student, reference, rng, x_shape, out_features, dtype):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((out_features, x_shape[-1])).astype(dtype)
    dout = rng.standard_normal((*x_shape[:-1], out_features)).astype(dtype)
    got = student.fc_backward(dout, x, w)
    assert isinstance(got, tuple) and len(got) == 3, "fc_backward must return (dx, dw, db)"
    for name, a, e in zip(("dx", "dw", "db"), got, reference.fc_backward(dout, x, w), strict=True):
        assert_close(a, e, name=name)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("shape", [(3, 16, 5, 5), (2, 7), (4, 2, 3)], ids=["lenet", "2d", "3d"])
def test_flatten(student, reference, rng, shape):
    x = rng.standard_normal(shape)
    out = student.flatten_forward(x)
    assert_close(out, reference.flatten_forward(x), name="out")
    dout = rng.standard_normal((shape[0], int(np.prod(shape[1:]))))
    assert_close(
        student.flatten_backward(dout, shape), reference.flatten_backward(dout, shape), name="dx"
    )


# ------------------------------------------------------------------ the network


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("dtype", DTYPES)
def test_init(student, reference, seed, dtype):
    # By the statistics of each weight, as the optimizers assignment grades its initializers
    # (your own kaiming_uniform and xavier_uniform may draw other numbers than the reference's).
    like = np.zeros((2, 1, 32, 32), dtype)
    params = student.lenet_init(like, seed)
    want = reference.lenet_init(like, seed)
    bounds: dict[str, float] = {}
    assert isinstance(params, dict) and set(params) == set(want), (
        f"params must be a dict with the keys {sorted(want)}"
    )
    for name in NAMES:
        value, expected = params[name], np.asarray(want[name])  # the reference: shape, dtype
        assert isinstance(value, np.ndarray) and value.shape == expected.shape, (
            f"params[{name!r}]: expected shape {expected.shape}, got "
            f"{getattr(value, 'shape', type(value).__name__)}"
        )
        assert value.dtype == expected.dtype, (
            f"params[{name!r}]: expected dtype {expected.dtype}, got {value.dtype}"
        )
        if name.endswith("_b"):
            assert not value.any(), f"params[{name!r}]: biases start at zero"
            continue
        fan_in = int(np.prod(value.shape[1:]))
        fan_out = int(value.shape[0] * np.prod(value.shape[2:]))
        if name == "fc3_w":  # xavier_uniform: b = sqrt(6 / (fan_in + fan_out))
            bound = float(np.sqrt(6.0 / (fan_in + fan_out)))
        else:  # kaiming_uniform, ReLU's gain sqrt(2): b = sqrt(2) * sqrt(3 / fan_in)
            bound = float(np.sqrt(6.0 / fan_in))
        bounds[name] = bound
        # U(-b, b) has std b / sqrt(3): within 0.8 and 1.2 of it is over 5 standard errors of
        # the smallest weight's (150 values) estimate away
        spread = float(value.std()) / (bound / np.sqrt(3.0))
        assert float(np.abs(value).max()) <= bound * (1 + 1e-6) and 0.8 < spread < 1.2, (
            f"params[{name!r}] must be drawn from U(-b, b) with the b of its initializer "
            f"(kaiming_uniform with the ReLU's gain for conv1 to fc2, xavier_uniform for fc3): "
            f"its values reach {float(np.abs(value).max()):.4g} and their spread is "
            f"{spread:.3f} times that of the right b"
        )
    again = student.lenet_init(like, seed)
    other = student.lenet_init(like, seed + 1)
    for name in ("conv1_w", "fc1_w"):
        np.testing.assert_array_equal(
            again[name], params[name], err_msg=f"the same seed must draw the same {name}"
        )
        assert not np.array_equal(other[name], params[name]), (
            f"another seed must draw another {name}"
        )
    labels = {(s, name): f"lenet_init({s})[{name!r}]" for s in (seed, seed + 1) for name in bounds}
    shared = shared_draw(
        {labels[s, name]: (params if s == seed else other)[name] for s, name in labels},
        {labels[s, name]: bounds[name] for s, name in labels},
    )
    assert shared is None, (
        f"{shared} start with the same draws: the seeds 10 * seed, ..., 10 * seed + 4 give each "
        "weight of each seed a draw of its own"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward(student, reference, rng, dtype):
    params = _params(reference, rng, dtype)
    x = rng.random((6, 1, 32, 32)).astype(dtype)
    logits = reference.lenet_forward(params, x)
    assert_close(student.lenet_forward(params, x), logits, name="logits")


@pytest.mark.points(2)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 5])
def test_loss_and_gradients(student, reference, rng, batch, dtype):
    params = _params(reference, rng, dtype)
    x = rng.random((batch, 1, 32, 32)).astype(dtype)
    y = rng.integers(0, 10, batch)
    got = student.lenet_loss(params, x, y)
    assert isinstance(got, tuple) and len(got) == 2, "lenet_loss must return (loss, grads)"
    want_loss, want_grads = reference.lenet_loss(params, x, y)
    assert_scalar_close(got[0], want_loss, name="loss")
    _compare_dicts(got[1], want_grads, "grads")


# ------------------------------------------------------------------ training


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_training_step_equals_the_reference_step(student, reference, rng, dtype):
    params = _params(reference, rng, dtype)
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x, y = rng.random((8, 1, 32, 32)).astype(dtype), rng.integers(0, 10, 8)
    got = student.train_step(params, velocities, x, y, 0.05, 0.9, 1e-3)
    assert isinstance(got, tuple) and len(got) == 3, (
        "train_step must return (params, velocities, loss)"
    )
    want = reference.train_step(params, velocities, x, y, 0.05, 0.9, 1e-3)
    assert_scalar_close(got[2], want[2], name="loss")
    _compare_dicts(got[0], want[0], "params")
    _compare_dicts(got[1], want[1], "velocities")


@pytest.mark.points(1)
def test_evaluate(student, reference, rng):
    params = _params(reference, rng, np.float64)
    x, y = rng.random((23, 1, 32, 32)), rng.integers(0, 10, 23)
    loss, accuracy = student.evaluate(params, x, y, 10)
    want_loss, want_accuracy = reference.evaluate(params, x, y, 10)
    assert_scalar_close(np.float64(loss), np.float64(want_loss), name="loss")
    assert_scalar_close(np.float64(accuracy), np.float64(want_accuracy), name="accuracy")


@pytest.mark.points(2)
@pytest.mark.backends("numpy", "cupy")  # as the graded run (see test_lenet_public.py's toy run)
def test_train_runs_the_documented_loop(student, reference, rng):
    # A short run checked step by step: the batches of minibatches(n, batch_size, seed, epoch)
    # in each epoch, one train_step per batch with the velocities carried over, at the rate
    # YOUR learning_rate gives for the global step (the schedule is yours: it is asked here).
    x, y = rng.random((70, 1, 32, 32)), rng.integers(0, 10, 70)  # 70 = 4 batches of 16 + 6
    params = reference.lenet_init(x[:1], 3)
    epochs, batch_size, base_lr, momentum, decay, seed = 2, 16, 0.02, 0.9, 1e-3, 5
    total = epochs * len(reference.minibatches(70, batch_size, seed, 0))
    rates = [float(student.learning_rate(step, total, base_lr)) for step in range(total)]
    want, velocities, want_losses = params, {k: np.zeros_like(v) for k, v in params.items()}, []
    step = 0
    for epoch in range(epochs):
        for index in reference.minibatches(70, batch_size, seed, epoch):
            want, velocities, loss = reference.train_step(
                want, velocities, x[index], y[index], rates[step], momentum, decay
            )
            want_losses.append(float(loss))
            step += 1
    got = student.train(params, x, y, epochs, batch_size, base_lr, momentum, decay, seed)
    assert isinstance(got, tuple) and len(got) == 2, "train must return (params, losses)"
    assert isinstance(got[1], list) and len(got[1]) == total, (
        f"train must return one loss per step: {epochs} epochs of {total // epochs} batches "
        f"(the last one smaller) make {total}, got "
        f"{len(got[1]) if isinstance(got[1], list) else type(got[1]).__name__}"
    )
    assert_close(np.asarray(got[1], dtype=np.float64), np.array(want_losses), name="losses")
    _compare_dicts(got[0], want, "params")


def _digits():
    with np.load(DATA) as data:
        return {
            key: (data[key] / np.float32(255)).astype(np.float32) if key[0] == "x" else data[key]
            for key in ("x_train", "y_train", "x_test", "y_test")
        }


_RUNS: dict[str, tuple] = {}
"""Per backend: the one graded training run of this grading, ``(accuracy, seconds, losses)`` or
the error it raised (every test of the run reads it: it trains once)."""


def _graded_run(student, reference, backend):
    """Train the submission as ``[training]`` says, once per backend; the run's figures."""
    if backend not in _RUNS:
        try:
            _RUNS[backend] = ("done", _train(student, reference))
        except Exception as error:  # each test of the run fails with it
            _RUNS[backend] = ("failed", error)
    outcome, value = _RUNS[backend]
    if outcome == "failed":
        raise value
    return value


def _train(student, reference):
    data = _digits()
    budget, epochs = float(TRAINING["budget_s"]), int(TRAINING["epochs"])
    timed = with_call_timeout(student, budget)
    params = reference.lenet_init(data["x_train"][:1], int(TRAINING["seed"]))
    options = dict(
        batch_size=int(TRAINING["batch_size"]),
        base_lr=float(TRAINING["base_lr"]),
        momentum=float(TRAINING["momentum"]),
        seed=int(TRAINING["seed"]),
    )
    start = time.perf_counter()
    timed.train(params, data["x_train"], data["y_train"], 1, **options)
    epoch = time.perf_counter() - start
    if epoch * epochs > budget:
        raise AssertionError(
            f"one epoch of training took {epoch:.1f} s, so the graded run's {epochs} epochs "
            f"would take about {epoch * epochs:.0f} s: more than its budget of {budget:.0f} s. "
            f"Make your layers faster (no Python loops over examples, channels or pixels)"
        )
    start = time.perf_counter()
    result = timed.train(params, data["x_train"], data["y_train"], epochs, **options)
    seconds = time.perf_counter() - start
    assert isinstance(result, tuple) and len(result) == 2, "train must return (params, losses)"
    trained, losses = result
    assert isinstance(trained, dict) and set(trained) == set(NAMES), (
        f"train must return the trained parameters, a dict with the keys {sorted(NAMES)}"
    )
    _, accuracy = reference.evaluate(trained, data["x_test"], data["y_test"])
    return float(accuracy), seconds, losses


@pytest.mark.points(1.5)
@pytest.mark.backends("numpy", "cupy")
@pytest.mark.parametrize(
    "threshold", TRAINING["accuracy_steps"], ids=lambda t: f"test_accuracy_{t:g}"
)
def test_training_reaches_the_accuracy_threshold(
    student, reference, backend, leaderboard, threshold
):
    accuracy, seconds, _ = _graded_run(student, reference, backend)
    if backend == "numpy":
        leaderboard.record("Test accuracy", round(accuracy, 4))
        leaderboard.record("Training time (s)", round(seconds, 2), order="asc")
    assert accuracy >= threshold, (
        f"your trained network's test accuracy is {accuracy:.3f}, below {threshold:g} "
        f"({TRAINING['epochs']} epochs of batches of {TRAINING['batch_size']}, base_lr "
        f"{TRAINING['base_lr']}, from lenet_init({TRAINING['seed']}), {seconds:.1f} s)"
    )


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")
def test_training_loss_goes_down(student, reference, backend):
    _, _, losses = _graded_run(student, reference, backend)
    steps = len(losses)
    assert isinstance(losses, list) and steps >= 4, "train must return one loss per step"
    quarter = steps // 4
    first, last = float(np.mean(losses[:quarter])), float(np.mean(losses[-quarter:]))
    assert last < 0.5 * first, (
        f"the training loss must fall: the first quarter of the steps averages {first:.3f}, "
        f"the last quarter {last:.3f}"
    )


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")  # as the graded run (see test_lenet_public.py's toy run)
def test_training_is_repeatable(student, reference):
    data = _digits()
    x, y = data["x_train"][:256], data["y_train"][:256]
    params = reference.lenet_init(x[:1], 1)
    first = student.train(params, x, y, 1, 32, 0.02)
    second = student.train(params, x, y, 1, 32, 0.02)
    assert isinstance(first, tuple) and len(first) == 2, "train must return (params, losses)"
    assert first[1] == second[1], "two runs of train with the same arguments gave other losses"
    for name in NAMES:
        np.testing.assert_array_equal(
            first[0][name], second[0][name], err_msg=f"two runs gave other params[{name!r}]"
        )
