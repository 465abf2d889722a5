"""The lenet mistakes the catalogue computes itself are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake (a layer of the network
replaced by the student's version of it, or the student's loop written out), the hint named for
that output is the mistake's own and the only one, and the reference's own output gets none."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import activations_losses, lenet, optimizers

SEVERAL = "mistakes each give exactly what"


@pytest.fixture
def rng():
    return np.random.default_rng(17)


def _params(rng, dtype=np.float64):
    """The reference's initial parameters, biases made non-zero (as the hidden suite's)."""
    params = lenet.lenet_init(np.zeros((1, 1, 32, 32), dtype), int(rng.integers(0, 100)))
    for name, value in params.items():
        if name.endswith("_b"):
            params[name] = (0.1 * rng.standard_normal(value.shape)).astype(dtype)
    return params


def _batch(rng, n, dtype=np.float64):
    return rng.random((n, 1, 32, 32)).astype(dtype), rng.integers(0, 10, n)


def _only_hint(function, args, kwargs, result, fragment):
    hints = diagnose(lenet, [Call(function, args, kwargs, result)])
    assert len(hints) == 1 and fragment in hints[0] and SEVERAL not in hints[0], hints


def _no_hint(function, args, kwargs=None):
    kwargs = kwargs or {}
    right = getattr(lenet, function)(*args, **kwargs)
    assert diagnose(lenet, [Call(function, args, kwargs, right)]) == []


# ------------------------------------------------------------------ the student's layers


def _fc_as_in_out(x, w, b):
    """CS231n's affine_forward given PyTorch's w: its values read as (D, M) by a reshape."""
    return x @ w.reshape(w.shape[1], w.shape[0]) + b


def _fc_backward_cs231n(dout, x, w):
    """CS231n's affine_backward: dw = x.T @ dout, of shape (in_features, out_features)."""
    return dout @ w, x.T @ dout, dout.sum(axis=0)


def _fc_backward_db_mean(dout, x, w):
    return dout @ w, dout.T @ x, dout.mean(axis=0)


def _flatten_nhwc(x):
    """Flatten as Keras' Flatten reads NHWC data."""
    return x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1)


def _unflatten_nhwc(dout, input_shape):
    n, c, h, w = input_shape
    return dout.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def _softmax_gradient(logits, y):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p


def _loss_without_mean_gradient(logits, y):
    """The loss's mean, but its gradient softmax - one_hot, not divided by N."""
    loss, _ = activations_losses.softmax_cross_entropy(logits, y)
    return loss, _softmax_gradient(logits, y)


def _loss_divided_twice(logits, y):
    loss, dlogits = activations_losses.softmax_cross_entropy(logits, y)
    return loss, dlogits / len(y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fc_forward_reading_w_as_in_out(rng, dtype):
    x = rng.standard_normal((8, 40)).astype(dtype)
    w, b = rng.standard_normal((12, 40)).astype(dtype), rng.standard_normal(12).astype(dtype)
    wrong = _fc_as_in_out(x, w, b)
    _only_hint("fc_forward", (x, w, b), {}, wrong, "reads w as (in_features, out_features)")
    _no_hint("fc_forward", (x, w, b))


def test_fc_forward_without_the_transpose_of_a_square_w(rng):
    x, w, b = rng.standard_normal((5, 6)), rng.standard_normal((6, 6)), rng.standard_normal(6)
    _only_hint("fc_forward", (x, w, b), {}, x @ w + b, "reads w as (in_features, out_features)")


def test_fc_backward_dw_in_cs231n_layout(rng):
    x, w, dout = (
        rng.standard_normal((8, 40)),
        rng.standard_normal((12, 40)),
        rng.standard_normal((8, 12)),
    )
    wrong = _fc_backward_cs231n(dout, x, w)
    assert wrong[1].shape == (40, 12)
    _only_hint("fc_backward", (dout, x, w), {}, wrong, "CS231n's (in_features, out_features)")
    _no_hint("fc_backward", (dout, x, w))


def test_fc_backward_db_averaged(rng):
    x, w, dout = (
        rng.standard_normal((8, 40)),
        rng.standard_normal((12, 40)),
        rng.standard_normal((8, 12)),
    )
    wrong = _fc_backward_db_mean(dout, x, w)
    _only_hint("fc_backward", (dout, x, w), {}, wrong, "db averages dout over the batch")


def test_fc_backward_db_summed_over_the_first_axis_only(rng):
    x, w = rng.standard_normal((2, 3, 7)), rng.standard_normal((5, 7))
    dout = rng.standard_normal((2, 3, 5))
    dx, dw, _ = lenet.fc_backward(dout, x, w)
    wrong = (dx, dw, np.sum(dout, axis=0))  # CS231n's db, for 2-D dout only
    _only_hint("fc_backward", (dout, x, w), {}, wrong, "over its first axis only")
    _no_hint("fc_backward", (dout, x, w))


def test_flatten_in_channels_last_order(rng):
    x = rng.standard_normal((3, 16, 5, 5))
    _only_hint("flatten_forward", (x,), {}, _flatten_nhwc(x), "channels-last order")
    dout = rng.standard_normal((3, 400))
    wrong = _unflatten_nhwc(dout, (3, 16, 5, 5))
    _only_hint("flatten_backward", (dout, (3, 16, 5, 5)), {}, wrong, "channels-last order")
    _no_hint("flatten_forward", (x,))
    _no_hint("flatten_backward", (dout, (3, 16, 5, 5)))


def test_flatten_of_a_2d_input_names_no_order():
    x = np.arange(14.0).reshape(2, 7)
    assert diagnose(lenet, [Call("flatten_forward", (x,), {}, x.copy())]) == []


def test_flatten_of_the_batch_axis_too(rng):
    x = rng.standard_normal((4, 2, 3))
    _only_hint("flatten_forward", (x,), {}, x.flatten(), "flattens the batch axis")


# ------------------------------------------------------------------ the network


def test_forward_with_fc_reading_w_as_in_out(rng, monkeypatch):
    params, (x, _) = _params(rng), _batch(rng, 6)
    monkeypatch.setattr(lenet, "fc_forward", _fc_as_in_out)
    wrong = lenet.lenet_forward(params, x)
    monkeypatch.undo()
    _only_hint("lenet_forward", (params, x), {}, wrong, "reads w as (in_features, out_features)")
    _no_hint("lenet_forward", (params, x))


def test_forward_with_a_channels_last_flatten(rng, monkeypatch):
    params, (x, _) = _params(rng), _batch(rng, 6)
    monkeypatch.setattr(lenet, "flatten_forward", _flatten_nhwc)
    wrong = lenet.lenet_forward(params, x)
    monkeypatch.undo()
    _only_hint("lenet_forward", (params, x), {}, wrong, "channels-last order")


@pytest.mark.parametrize(
    "layers, fragment",
    [
        ({"fc_forward": _fc_as_in_out}, "reads w as (in_features, out_features)"),
        ({"fc_backward": _fc_backward_cs231n}, "CS231n's (in_features, out_features)"),
        ({"fc_backward": _fc_backward_db_mean}, "db averages dout over the batch"),
        (
            {"flatten_forward": _flatten_nhwc, "flatten_backward": _unflatten_nhwc},
            "channels-last order",
        ),
        ({"softmax_cross_entropy": _loss_without_mean_gradient}, "N times too large"),
        ({"softmax_cross_entropy": _loss_divided_twice}, "divided by the batch size twice"),
    ],
    ids=["fc_in_out", "dw_cs231n", "db_mean", "flatten_nhwc", "not_averaged", "averaged_twice"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_with_a_students_layer(rng, monkeypatch, layers, fragment, dtype):
    params, (x, y) = _params(rng, dtype), _batch(rng, 5, dtype)
    for name, layer in layers.items():
        monkeypatch.setattr(lenet, name, layer)
    wrong = lenet.lenet_loss(params, x, y)
    monkeypatch.undo()
    _only_hint("lenet_loss", (params, x, y), {}, wrong, fragment)
    _no_hint("lenet_loss", (params, x, y))


def test_a_gradient_scale_of_one_example_names_nothing(rng, monkeypatch):
    params, (x, y) = _params(rng), _batch(rng, 1)
    monkeypatch.setattr(lenet, "softmax_cross_entropy", _loss_without_mean_gradient)
    same = lenet.lenet_loss(params, x, y)
    monkeypatch.undo()
    assert diagnose(lenet, [Call("lenet_loss", (params, x, y), {}, same)]) == []


# ------------------------------------------------------------------ training


def _students_step(params, velocities, x, y, lr, momentum, weight_decay, **mistake):
    """A train_step written out: the loss and its gradients, then SGD with momentum and weight
    decay on every parameter, with one ``mistake`` made."""
    loss, grads = lenet.lenet_loss(params, x, y)
    n = len(y)
    new_params, new_velocities = {}, {}
    for k, p in params.items():
        g = grads[k] * (n if mistake.get("grads_times_n") else 1)
        decay = 0.0 if mistake.get("no_decay") else weight_decay
        if mistake.get("no_bias_decay") and k.endswith("_b"):
            decay = 0.0
        g = g + decay * p
        if mistake.get("no_momentum"):
            new_params[k], new_velocities[k] = p - lr * g, velocities[k].copy()
            continue
        old = np.zeros_like(p) if mistake.get("velocity_restarted") else velocities[k]
        new_velocities[k] = momentum * old + g
        new_params[k] = p - lr * new_velocities[k]
    if mistake.get("loss_after"):
        loss = lenet.lenet_loss(new_params, x, y)[0]
    return new_params, new_velocities, loss


@pytest.mark.parametrize(
    "mistake, fragment",
    [
        ("no_decay", "leaves weight decay out"),
        ("no_momentum", "ignores momentum"),
        ("velocity_restarted", "starts every velocity from zeros"),
        ("no_bias_decay", "decays the weights but not the biases"),
        ("loss_after", "loss after the step"),
        ("grads_times_n", "N times too large"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_train_step_mistakes(rng, mistake, fragment, dtype):
    params, (x, y) = _params(rng, dtype), _batch(rng, 8, dtype)
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    args = (params, velocities, x, y, 0.05, 0.9, 1e-3)
    wrong = _students_step(*args, **{mistake: True})
    _only_hint("train_step", args, {}, wrong, fragment)
    _no_hint("train_step", args)


def test_train_step_without_weight_decay_at_zero_decay_names_nothing(rng):
    params, (x, y) = _params(rng), _batch(rng, 4)
    velocities = {k: 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    args = (params, velocities, x, y, 0.1, 0.9, 0.0)
    same = _students_step(*args, no_decay=True, no_bias_decay=True)
    assert diagnose(lenet, [Call("train_step", args, {}, same)]) == []


def _evaluate_batch_means(params, x, y, batch_size):
    losses, accuracies = [], []
    for start in range(0, len(y), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        logits = lenet.lenet_forward(params, xb)
        losses.append(float(activations_losses.softmax_cross_entropy(logits, yb)[0]))
        accuracies.append(float(np.mean(logits.argmax(axis=1) == yb)))
    return float(np.mean(losses)), float(np.mean(accuracies))


def test_evaluate_averaging_per_batch_means(rng):
    params, (x, y) = _params(rng), _batch(rng, 23)
    wrong = _evaluate_batch_means(params, x, y, 10)
    _only_hint("evaluate", (params, x, y, 10), {}, wrong, "averages the per-batch means")
    right_loss = lenet.evaluate(params, x, y, 10)[0]
    only_accuracy = (right_loss, wrong[1])
    _only_hint("evaluate", (params, x, y, 10), {}, only_accuracy, "averages the per-batch means")
    _no_hint("evaluate", (params, x, y, 10))


def test_evaluate_in_equal_batches_names_nothing(rng):
    params, (x, y) = _params(rng), _batch(rng, 20)
    same = _evaluate_batch_means(params, x, y, 10)
    assert diagnose(lenet, [Call("evaluate", (params, x, y, 10), {}, same)]) == []


def _students_init(like, seed, mistake=None):
    params = {}
    weights = [name for name in lenet.PARAMETER_SHAPES if name.endswith("_w")]
    for index, (name, shape) in enumerate(lenet.PARAMETER_SHAPES.items()):
        if name.endswith("_b"):
            params[name] = np.zeros(shape, like.dtype)
            continue
        draw_seed = {"one_seed": seed, "seed_plus_index": seed + weights.index(name)}.get(
            mistake, 10 * seed + index // 2
        )
        empty = np.zeros(shape, like.dtype)
        xavier = {"fc3_kaiming": False, "xavier_everywhere": True}.get(mistake, name == "fc3_w")
        if xavier:
            params[name] = optimizers.xavier_uniform(empty, seed=draw_seed)
        else:
            params[name] = optimizers.kaiming_uniform(empty, nonlinearity="relu", seed=draw_seed)
    return params


@pytest.mark.parametrize(
    "mistake, fragment, seed",
    [
        ("one_seed", "with the same seed", 0),
        ("one_seed", "with the same seed", 7),
        ("fc3_kaiming", "fc3_w is drawn with kaiming_uniform", 0),
        ("fc3_kaiming", "fc3_w is drawn with kaiming_uniform", 7),
        ("seed_plus_index", "seed + 1, ..., seed + 4", 7),  # at seed 0 it is right
        ("xavier_everywhere", "fc2_w are drawn with xavier_uniform", 0),
        ("xavier_everywhere", "fc2_w are drawn with xavier_uniform", 7),
    ],
)
def test_init_mistakes(mistake, fragment, seed):
    like = np.zeros((2, 1, 32, 32), np.float32)
    wrong = _students_init(like, seed, mistake)
    _only_hint("lenet_init", (like, seed), {}, wrong, fragment)
    _no_hint("lenet_init", (like, seed))


def test_seeds_plus_index_at_seed_zero_are_the_right_ones():
    like = np.zeros((1, 1, 32, 32), np.float32)
    mine, right = _students_init(like, 0, "seed_plus_index"), lenet.lenet_init(like, 0)
    assert all(np.array_equal(mine[k], right[k]) for k in right)


def test_the_students_init_without_a_mistake_is_the_reference():
    like = np.zeros((1, 1, 32, 32), np.float64)
    mine, right = _students_init(like, 3), lenet.lenet_init(like, 3)
    assert all(np.array_equal(mine[k], right[k]) for k in right)


def test_a_training_run_is_never_made_again_for_a_diagnosis(rng, monkeypatch):
    # A wrong result of train gets no hint, and the reference's train is not called for one
    # (a diagnosis makes a call many times over: a whole training run each time).
    x, y = _batch(rng, 8)
    params = lenet.lenet_init(x, 0)
    trained, losses = lenet.train(params, x, y, 1, 4, 0.01)
    wrong = ({k: v + 1.0 for k, v in trained.items()}, losses)

    runs = []
    original = lenet.train

    def counted(*args, **kwargs):
        runs.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(lenet, "train", counted)
    assert diagnose(lenet, [Call("train", (params, x, y, 1, 4, 0.01), {}, wrong)]) == []
    assert runs == [], "the reference's train was run for a diagnosis"
