"""The transfer mistakes the catalogue computes itself are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake (the student's loop or
layer written out), the hint named for that output is the mistake's own and the only one, and
the reference's own output gets none."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, assignment_undiagnosed, diagnose
from solutions import lenet, optimizers, transfer
from solutions.activations_losses import relu_forward
from solutions.conv import conv_forward
from solutions.pooling import max_pool_forward

SEVERAL = "mistakes each give exactly what"
NAMES = transfer.parameter_names()


@pytest.fixture
def rng():
    return np.random.default_rng(23)


def _params(rng, dtype=np.float64, classes=5):
    """LeNet-5's initial draws with a head of ``classes``, biases made non-zero."""
    params = {
        k: v
        for k, v in lenet.lenet_init(np.zeros(1, dtype), int(rng.integers(0, 50))).items()
        if k in transfer.BACKBONE_SHAPES
    }
    params |= transfer.head_init(np.zeros(1, dtype), classes, int(rng.integers(0, 50)))
    for name, value in params.items():
        if name.endswith("_b"):
            params[name] = (0.1 * rng.standard_normal(value.shape)).astype(dtype)
    return params


def _only_hint(function, args, kwargs, result, fragment):
    hints = diagnose(transfer, [Call(function, args, kwargs, result)])
    assert len(hints) == 1 and fragment in hints[0] and SEVERAL not in hints[0], hints


def _no_hint(function, args, kwargs=None):
    kwargs = kwargs or {}
    right = getattr(transfer, function)(*args, **kwargs)
    assert diagnose(transfer, [Call(function, args, kwargs, right)]) == []


# ------------------------------------------------------------------ labels


def test_labels_returned_as_they_were(rng):
    classes = [5, 6, 7, 8, 9]
    y = np.asarray(classes)[rng.integers(0, 5, 20)]
    _only_hint("relabel", (y, classes), {}, y.copy(), "returns the labels as they were")
    _no_hint("relabel", (y, classes))


@pytest.mark.parametrize("classes", [[8, 3, 6], [1, 2, 4, 9]], ids=["unordered", "gaps"])
def test_labels_relabelled_by_subtracting_the_smallest_class(rng, classes):
    y = np.asarray(classes)[rng.integers(0, len(classes), 30)]
    wrong = y - min(classes)
    _only_hint("relabel", (y, classes), {}, wrong, "subtracts the smallest class")
    _no_hint("relabel", (y, classes))


def test_subtracting_the_smallest_of_consecutive_classes_names_nothing(rng):
    y = rng.integers(5, 10, 20)
    assert diagnose(transfer, [Call("relabel", (y, [5, 6, 7, 8, 9]), {}, y - 5)]) == []


# ------------------------------------------------------------------ features and the head


def _features_before_relu(backbone, x):
    """A forward hook on fc2 itself: its output before the ReLU, written out."""
    h = max_pool_forward(
        relu_forward(conv_forward(x, backbone["conv1_w"], backbone["conv1_b"])), 2
    )[0]
    h = max_pool_forward(
        relu_forward(conv_forward(h, backbone["conv2_w"], backbone["conv2_b"])), 2
    )[0]
    h = relu_forward(h.reshape(len(x), -1) @ backbone["fc1_w"].T + backbone["fc1_b"])
    return h @ backbone["fc2_w"].T + backbone["fc2_b"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [3, 256])
def test_features_before_the_relu(rng, dtype, batch_size):
    backbone, x = _params(rng, dtype), rng.random((7, 1, 32, 32)).astype(dtype)
    wrong = _features_before_relu(backbone, x).astype(dtype)
    args = (backbone, x, batch_size)
    _only_hint("extract_features", args, {}, wrong, "before its ReLU")
    _no_hint("extract_features", args)


@pytest.mark.parametrize("seed", [3, 11])
def test_head_drawn_with_the_backbones_seed(seed):
    like = np.zeros((1, 84), np.float32)
    wrong = {
        "fc3_w": optimizers.xavier_uniform(np.zeros((5, 84), np.float32), seed=0),
        "fc3_b": np.zeros(5, np.float32),
    }
    _only_hint("head_init", (like, 5, seed), {}, wrong, "whatever its seed")
    _no_hint("head_init", (like, 5, seed))


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_head_drawn_with_the_relu_gain(seed, dtype):
    # nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("relu")) for the head
    like = np.zeros((2, 84), dtype)
    wrong = {
        "fc3_w": optimizers.xavier_uniform(np.zeros((3, 84), dtype), gain=np.sqrt(2.0), seed=seed),
        "fc3_b": np.zeros(3, dtype),
    }
    _only_hint("head_init", (like, 3, seed), {}, wrong, "gain sqrt(2)")
    _no_hint("head_init", (like, 3, seed))


def test_the_head_of_seed_0_names_nothing():
    like = np.zeros((1, 84))
    right = transfer.head_init(like, 5, 0)
    assert diagnose(transfer, [Call("head_init", (like, 5, 0), {}, right)]) == []


# ------------------------------------------------------------------ gradients and steps


@pytest.mark.parametrize(
    "wrt", [["fc3_w", "fc3_b"], ["fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b"]]
)
@pytest.mark.parametrize("zeros", [False, True], ids=["every_gradient", "zeros_for_the_frozen"])
def test_gradients_of_frozen_parameters(rng, wrt, zeros):
    params, x, y = _params(rng), rng.random((3, 1, 32, 32)), rng.integers(0, 5, 3)
    loss, every = transfer.transfer_loss(params, x, y, NAMES)
    wrong = {k: (v if k in wrt or not zeros else np.zeros_like(v)) for k, v in every.items()}
    _only_hint("transfer_loss", (params, x, y, wrt), {}, (loss, wrong), "wrt does not name")
    _no_hint("transfer_loss", (params, x, y, wrt))


def _students_step(params, velocities, x, y, lrs, trainable, momentum, weight_decay, mistake):
    """A finetune_step written out: the gradients of the layers that learn, then SGD with
    momentum and weight decay, each layer at its rate, with one ``mistake`` made."""
    layers = [
        layer
        for layer in transfer.LAYERS
        if (mistake in ("backbone_updated", "zero_gradient") or layer in trainable)
        and lrs.get(layer, 0.0) > 0
    ]
    learning = [n for n in NAMES if n[:-2] in layers]
    really = transfer.trainable_parameters(lrs, trainable)
    wrt = learning if mistake == "backbone_updated" else really
    _, grads = transfer.transfer_loss(params, x, y, wrt)
    new_params, new_velocities = dict(params), dict(velocities)
    for name in learning:
        lr = max(lrs.values()) if mistake == "one_rate" else lrs[name[:-2]]
        g = grads.get(name, np.zeros_like(params[name])) + weight_decay * params[name]
        new_velocities[name] = momentum * velocities[name] + g
        new_params[name] = params[name] - lr * new_velocities[name]
    return new_params, new_velocities


STEP = (
    {"conv1": 0.05, "conv2": 0.05, "fc1": 0.01, "fc2": 0.02, "fc3": 0.1},
    ["fc1", "fc2", "fc3"],
)


@pytest.mark.parametrize(
    "mistake, fragment",
    [
        ("backbone_updated", "updates the layers that are not in trainable"),
        ("zero_gradient", "a zero gradient and steps them anyway"),
        ("one_rate", "at the same learning rate"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_step_mistakes(rng, mistake, fragment, dtype):
    params = _params(rng, dtype)
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x, y = rng.random((3, 1, 32, 32)).astype(dtype), rng.integers(0, 5, 3)
    args = (params, velocities, x, y, *STEP, 0.9, 1e-2)
    wrong = _students_step(*args, mistake)
    wrong = tuple({k: v.astype(dtype) for k, v in d.items()} for d in wrong)
    loss = transfer.transfer_loss(params, x, y, transfer.trainable_parameters(*STEP))[0]
    _only_hint("finetune_step", args, {}, (*wrong, loss), fragment)
    _no_hint("finetune_step", args)


def test_the_students_step_without_a_mistake_is_the_reference(rng):
    params = _params(rng)
    velocities = {k: 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x, y = rng.random((3, 1, 32, 32)), rng.integers(0, 5, 3)
    args = (params, velocities, x, y, *STEP, 0.9, 1e-2)
    mine, right = _students_step(*args, None), transfer.finetune_step(*args)
    for got, want in zip(mine, right[:2], strict=True):
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-15)


def test_steps_that_no_mistake_changes_name_nothing(rng):
    # No frozen layer has a rate, and every layer that learns has the same one: the three
    # step mistakes give the right step.
    params = _params(rng)
    velocities = {k: 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x, y = rng.random((2, 1, 32, 32)), rng.integers(0, 5, 2)
    args = (params, velocities, x, y, {"fc2": 0.05, "fc3": 0.05}, ["fc2", "fc3"], 0.9, 1e-2)
    for mistake in ("backbone_updated", "zero_gradient", "one_rate"):
        same = _students_step(*args, mistake)
        loss = transfer.finetune_step(*args)[2]
        assert diagnose(transfer, [Call("finetune_step", args, {}, (*same, loss))]) == []


def test_training_runs_are_never_made_again_for_a_diagnosis(rng, monkeypatch):
    assert set(assignment_undiagnosed("transfer")) == {"train_head", "train_finetune"}
    features, y = np.abs(rng.standard_normal((8, 84))), rng.integers(0, 3, 8)
    head = transfer.head_init(features, 3, 1)
    trained, losses = transfer.train_head(head, features, y, 1, 4, 0.1)
    wrong = ({k: v + 1.0 for k, v in trained.items()}, losses)
    runs = []
    original = transfer.train_head

    def counted(*args, **kwargs):
        runs.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(transfer, "train_head", counted)
    call = Call("train_head", (head, features, y, 1, 4, 0.1), {}, wrong)
    assert diagnose(transfer, [call]) == []
    assert runs == [], "the reference's train_head was run for a diagnosis"
