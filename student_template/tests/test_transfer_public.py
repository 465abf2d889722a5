"""Public tests for transfer.py: known answers, numeric gradients, frozen parameters and toy runs.

Run them from your copy of the template with ``pytest tests/``. ``transfer.py`` calls your own
``lenet.py`` and the files it calls: make their public tests pass first. These tests use small
random networks and toy data; the hidden tests compare your functions with a reference
implementation on more cases and both dtypes, check that every frozen parameter comes back bit
for bit, and run the few-shot transfer of the bundled backbone to the digits 5-9 with your
functions, graded by test accuracy.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import MistakeFound, assert_close, assert_scalar_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("transfer")]

BACKBONE = {
    "conv1_w": (6, 1, 5, 5),
    "conv1_b": (6,),
    "conv2_w": (16, 6, 5, 5),
    "conv2_b": (16,),
    "fc1_w": (120, 400),
    "fc1_b": (120,),
    "fc2_w": (84, 120),
    "fc2_b": (84,),
}
NAMES = [*BACKBONE, "fc3_w", "fc3_b"]


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _must_raise(call, message):
    """``call()`` must raise ValueError; else fail with ``message``."""
    try:
        call()
    except ValueError:
        return
    raise AssertionError(message)


def _params(rng, classes=5, dtype=np.float64):
    """A random network at LeNet's scale with a head of ``classes`` classes."""
    shapes = {**BACKBONE, "fc3_w": (classes, 84), "fc3_b": (classes,)}
    params = {}
    for name, shape in shapes.items():
        if name.endswith("_w"):
            params[name] = rng.standard_normal(shape) * math.sqrt(2.0 / math.prod(shape[1:]))
        else:
            params[name] = 0.1 * rng.standard_normal(shape)
    return {k: v.astype(dtype) for k, v in params.items()}


def _images(rng, n, dtype=np.float64):
    return rng.random((n, 1, 32, 32)).astype(dtype)


def _same_bits(got, want, what):
    _require(
        isinstance(got, np.ndarray) and got.dtype == want.dtype and np.array_equal(got, want),
        f"{what} is frozen: it must come back bit for bit as it was",
    )


# ------------------------------------------------------------------ labels and features


@pytest.mark.points(0.5)
def test_relabel_maps_each_class_to_its_position(student):
    y = np.array([5, 9, 7, 5, 6, 8])
    assert_close(student.relabel(y, [5, 6, 7, 8, 9]), np.array([0, 4, 2, 0, 1, 3]), name="labels")
    # the order of classes is the order of the new labels, and they need not be consecutive
    y = np.array([9, 5, 2, 2])
    assert_close(student.relabel(y, [9, 5, 2]), np.array([0, 1, 2, 2]), name="labels")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_relabel_returns_int64_labels(student, dtype):
    y = np.array([5, 9, 7, 5], dtype)
    got = student.relabel(y, [5, 6, 7, 8, 9])
    _require(
        isinstance(got, np.ndarray) and got.dtype == np.int64,
        f"relabel returns int64 labels whatever y's integer dtype: for {np.dtype(dtype)} labels "
        f"it returned {getattr(got, 'dtype', type(got).__name__)}",
    )
    assert_close(got, np.array([0, 4, 2, 0]), name="labels")


@pytest.mark.points(0.5)
def test_relabel_maps_each_label_once(student):
    # classes[i] becomes i by each label's old value: a new label that is another class's old
    # label is not relabelled again
    y = np.array([0, 1, 1, 0, 1])
    got = student.relabel(y, [1, 0])
    _require(
        isinstance(got, np.ndarray)
        and got.shape == y.shape
        and np.array_equal(got, [1, 0, 0, 1, 0]),
        "relabel([0, 1, 1, 0, 1], [1, 0]) must be [1, 0, 0, 1, 0] (1 becomes 0 and 0 becomes 1): "
        "each label is mapped once, from its old value, never relabelled again after an "
        f"earlier class's label was written over it; got {got}",
    )
    _require(np.array_equal(y, [0, 1, 1, 0, 1]), "relabel must not modify y")


@pytest.mark.points(0.5)
def test_relabel_refuses_a_label_outside_the_classes(student):
    _must_raise(
        lambda: student.relabel(np.array([5, 6, 3, 7]), [5, 6, 7]),
        "relabel(y, [5, 6, 7]) with a label 3 in y must raise ValueError: a label of y that is "
        "not among classes has no new label",
    )


@pytest.mark.points(1)
def test_features_are_the_fc2_relu_activations(student, rng):
    # With conv1_w = 0 every pixel of conv1's output channel c is conv1_b[c]; after the ReLU
    # and the pooling, conv2's output channel o is conv2_b[o] + sum_c relu(conv1_b[c]) *
    # sum(conv2_w[o, c]) at every pixel, so each example's 400 flattened values are that per
    # channel, 25 times. fc2's bias is made negative for half the features: the ReLU zeroes them.
    backbone = _params(rng, classes=10)
    backbone["conv1_w"] = np.zeros((6, 1, 5, 5))
    backbone["fc2_b"][::2] -= 5.0
    x = _images(rng, 5)
    c2 = backbone["conv2_b"] + backbone["conv2_w"].sum(axis=(2, 3)) @ np.maximum(
        backbone["conv1_b"], 0
    )
    flat = np.repeat(np.maximum(c2, 0), 25)
    a1 = np.maximum(backbone["fc1_w"] @ flat + backbone["fc1_b"], 0)
    a2 = np.maximum(backbone["fc2_w"] @ a1 + backbone["fc2_b"], 0)
    features = student.extract_features(backbone, x, 2)
    _require(
        isinstance(features, np.ndarray) and features.shape == (5, 84),
        f"features: expected shape (5, 84), got {getattr(features, 'shape', type(features))}",
    )
    assert_close(features, np.tile(a2, (5, 1)), name="features")


@pytest.mark.points(0.5)
def test_features_in_batches_equal_one_batch_in_the_input_dtype(student, rng):
    backbone = _params(rng, dtype=np.float32)
    x = _images(rng, 7, np.float32)
    whole = student.extract_features(backbone, x, 100)
    _require(
        isinstance(whole, np.ndarray) and whole.shape == (7, 84) and whole.dtype == np.float32,
        f"features: expected float32 of shape (7, 84), got "
        f"{getattr(whole, 'dtype', type(whole))} {getattr(whole, 'shape', '')}",
    )
    assert_close(student.extract_features(backbone, x, 3), whole, name="features (batches of 3)")
    _require(bool((whole >= 0).all()), "features are ReLU activations: none is negative")


# ------------------------------------------------------------------ the new head


@pytest.mark.points(1)
def test_head_init_shapes_bounds_and_seeds(student):
    like = np.zeros((2, 84), np.float32)
    head = student.head_init(like, 5, 3)
    _require(
        isinstance(head, dict) and set(head) == {"fc3_w", "fc3_b"},
        "head_init must return a dict with the keys 'fc3_w' and 'fc3_b'",
    )
    w, b = head["fc3_w"], head["fc3_b"]
    _require(
        isinstance(w, np.ndarray) and w.shape == (5, 84) and w.dtype == np.float32,
        f"fc3_w: expected float32 of shape (5, 84), got {getattr(w, 'dtype', type(w))} "
        f"{getattr(w, 'shape', '')}",
    )
    _require(isinstance(b, np.ndarray) and b.shape == (5,) and not b.any(), "fc3_b: five zeros")
    bound = math.sqrt(6.0 / (84 + 5))  # xavier_uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    largest = float(np.abs(w).max())
    _require(
        0.8 * bound < largest <= bound * (1 + 1e-6),
        f"fc3_w must fill U(-{bound:.4g}, {bound:.4g}); its largest value is {largest:.4g}",
    )
    again, other = student.head_init(like, 5, 3), student.head_init(like, 5, 4)
    _require(np.array_equal(again["fc3_w"], w), "the same seed must draw the same head")
    _require(not np.array_equal(other["fc3_w"], w), "another seed must draw another head")


@pytest.mark.points(1)
def test_head_loss_matches_numeric_gradients(student, forward_oracle, rng):
    head = {"fc3_w": 0.3 * rng.standard_normal((4, 84)), "fc3_b": rng.standard_normal(4)}
    features, y = np.maximum(rng.standard_normal((6, 84)), 0), rng.integers(0, 4, 6)
    got = student.head_loss(head, features, y)
    _require(isinstance(got, tuple) and len(got) == 2, "head_loss returns (loss, grads)")
    loss, grads = got
    _require(
        isinstance(grads, dict) and set(grads) == {"fc3_w", "fc3_b"},
        "head_loss's grads must be a dict with the keys 'fc3_w' and 'fc3_b'",
    )
    assert_scalar_close(loss, forward_oracle.head_loss(head, features, y)[0], name="loss")
    for name in ("fc3_w", "fc3_b"):

        def loss_at(value, name=name):
            return np.asarray(forward_oracle.head_loss({**head, name: value}, features, y)[0])

        assert_gradient_close(
            grads[name], loss_at, head[name], np.float64(1.0), name=f"grads[{name!r}]"
        )


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")  # a training loop: not on the strict simulator
def test_train_head_separates_two_clusters_of_features(student):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    features = np.abs(rng.standard_normal((40, 84))) * 0.1
    features[y == 0, :10] += 1.0
    features[y == 1, 10:20] += 1.0
    head = {"fc3_w": np.zeros((2, 84)), "fc3_b": np.zeros(2)}
    got = student.train_head(head, features, y, 4, 8, 0.1)
    _require(isinstance(got, tuple) and len(got) == 2, "train_head returns (head, losses)")
    trained, losses = got
    _require(
        isinstance(losses, list) and len(losses) == 20,
        f"train_head must return one loss per step (4 epochs of 5 batches: 20), got "
        f"{len(losses) if isinstance(losses, list) else type(losses).__name__}",
    )
    assert_scalar_close(losses[0], math.log(2.0), name="the first loss (a zero head)")
    _require(
        np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]),
        f"the loss must fall: first epoch's mean {np.mean(losses[:5]):.3f}, last epoch's "
        f"{np.mean(losses[-5:]):.3f}",
    )
    predicted = (features @ trained["fc3_w"].T + trained["fc3_b"]).argmax(axis=1)
    assert_scalar_close(float((predicted == y).mean()), 1.0, name="training accuracy")


def _order(n, batch_size, seed, epoch):
    """``minibatches(n, batch_size, seed, epoch)`` as lenet.py's docstring defines it."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def _matches(got, want):
    """Whether a ``(dict, losses)`` result equals ``want`` (used to name a mistake)."""
    try:
        return all(
            np.allclose(np.asarray(got[0][k]), want[0][k], rtol=1e-6, atol=1e-9) for k in want[0]
        ) and np.allclose(np.asarray(got[1], float), want[1], rtol=1e-6, atol=1e-9)
    except Exception:
        return False


def _check_against_the_loop(
    got, loop, student, args, mistakes, function, steps, keys, every_key=None, label="params"
):
    """``got``, the result of ``function(*args)``, against ``loop(student, *args, None)`` (the
    docstring's loop of your own functions): a known mistaken loop that gives exactly ``got``
    is named, else the losses (``steps`` of them), the keys (all of ``every_key``, if given)
    and the arrays of ``keys`` are compared."""
    want = loop(student, *args, None)
    if not _matches(got, want):
        for mistake, message in mistakes.items():
            if _matches(got, loop(student, *args, mistake)):
                raise MistakeFound(
                    f"{function} does not run the documented loop: it gives what the loop gives "
                    f"with one mistake made",
                    message,
                )
    _require(
        isinstance(got[1], list) and len(got[1]) == steps,
        f"{function} must return one loss per step ({steps}), got "
        f"{len(got[1]) if isinstance(got[1], list) else type(got[1]).__name__}",
    )
    assert_close(np.asarray(got[1]), np.asarray(want[1]), name="losses")
    if every_key is not None:
        _require(isinstance(got[0], dict) and set(got[0]) == set(every_key), f"{label}: every key")
    for k in keys:
        assert_close(got[0][k], want[0][k], name=f"{label}[{k!r}]")


def _head_loop(student, head, features, y, epochs, batch_size, lr, momentum, wd, seed, mistake):
    """train_head as its docstring describes it, with the student's own head_loss and SGD
    written out (torch.optim.SGD's), or with one ``mistake`` made."""
    head = dict(head)
    velocities = {k: np.zeros_like(v) for k, v in head.items()}
    losses = []
    for epoch in range(epochs):
        if mistake == "velocities_reset":
            velocities = {k: np.zeros_like(v) for k, v in head.items()}
        for index in _order(len(y), batch_size, seed, 0 if mistake == "same_order" else epoch):
            loss, grads = student.head_loss(head, features[index], y[index])
            losses.append(float(loss))
            decay = 0.0 if mistake == "no_weight_decay" else wd
            # new dicts each step: the arguments of the calls made stay as they were
            velocities = {k: momentum * velocities[k] + grads[k] + decay * head[k] for k in head}
            head = {k: head[k] - lr * velocities[k] for k in head}
    return head, losses


HEAD_LOOP_MISTAKES = {
    "same_order": "your train_head visits the batches in the same order every epoch: epoch e "
    "takes minibatches(n, batch_size, seed, e), a new order each epoch",
    "velocities_reset": "your train_head starts the velocities at zeros again every epoch: they "
    "start at zeros once and are carried from step to step, across epochs too",
    "no_weight_decay": "your train_head trains without weight decay: pass its weight_decay on to "
    "every sgd step",
}


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")  # a training loop: not on the strict simulator
def test_train_head_runs_the_documented_loop(student, rng):
    # 7 examples in batches of 3 (the last one smaller), 2 epochs, with momentum and weight
    # decay: each step is your head_loss on minibatches(7, 3, seed, epoch), then SGD
    features, y = np.maximum(rng.standard_normal((7, 84)), 0), rng.integers(0, 3, 7)
    head = {"fc3_w": 0.2 * rng.standard_normal((3, 84)), "fc3_b": 0.1 * rng.standard_normal(3)}
    kept = {k: v.copy() for k, v in head.items()}
    args = (head, features, y, 2, 3, 0.1, 0.8, 0.05, 3)
    got = student.train_head(*args)
    _require(isinstance(got, tuple) and len(got) == 2, "train_head returns (head, losses)")
    for k in kept:
        _require(np.array_equal(head[k], kept[k]), "train_head must not modify the initial head")
    # 2 epochs of 3 batches: what the docstring's loop gives with your own head_loss
    _check_against_the_loop(
        got,
        _head_loop,
        student,
        args,
        HEAD_LOOP_MISTAKES,
        "train_head",
        6,
        ("fc3_w", "fc3_b"),
        label="head",
    )


# ------------------------------------------------------------------ fine-tuning


@pytest.mark.points(0.5)
def test_transfer_forward_is_the_head_on_the_features(student, rng):
    # The logits are fc3 (the head) on the fc2 ReLU activations: your own extract_features,
    # then x @ fc3_w.T + fc3_b. fc2's bias is made negative for half the features, so that the
    # ReLU after fc2 matters.
    params = _params(rng, classes=3)
    params["fc2_b"][::2] -= 5.0
    x = _images(rng, 3)
    features = student.extract_features(params, x)
    logits = student.transfer_forward(params, x)
    _require(
        isinstance(logits, np.ndarray) and logits.shape == (3, 3),
        f"logits: expected shape (3, 3), got {getattr(logits, 'shape', type(logits))}",
    )
    want = np.asarray(features) @ params["fc3_w"].T + params["fc3_b"]
    if np.allclose(logits.sum(axis=1), 1.0) and not np.allclose(want.sum(axis=1), 1.0):
        raise AssertionError(
            "your transfer_forward returns probabilities (rows that sum to 1): it returns the "
            "logits, fc3's outputs, with no softmax"
        )
    assert_close(logits, want, name="logits (fc3 on your extract_features' features)")


@pytest.mark.points(1)
@pytest.mark.backends("numpy")  # no arrays
def test_trainable_parameters(student):
    got = student.trainable_parameters({"fc1": 0.01, "fc3": 0.1}, ["fc1", "fc2", "fc3"])
    # fc2 is trainable but has no rate: frozen
    _require(
        got == ["fc1_w", "fc1_b", "fc3_w", "fc3_b"],
        f"trainable_parameters({{'fc1': 0.01, 'fc3': 0.1}}, ['fc1', 'fc2', 'fc3']) must be "
        f"['fc1_w', 'fc1_b', 'fc3_w', 'fc3_b'], got {got}",
    )
    got = student.trainable_parameters({"conv1": 0.1, "fc2": 0.0, "fc3": 0.1}, ["fc3", "fc2"])
    _require(
        got == ["fc3_w", "fc3_b"],
        "a layer with the rate 0 is frozen, and so is a layer not in trainable: expected "
        f"['fc3_w', 'fc3_b'], got {got}",
    )
    got = student.trainable_parameters({"fc1": 0.01, "fc3": 0.1}, ["fc3", "fc1"])
    _require(
        got == ["fc1_w", "fc1_b", "fc3_w", "fc3_b"],
        "the names come in the order of parameter_names() (the order of LAYERS), not in the "
        f"order trainable lists the layers: expected ['fc1_w', 'fc1_b', 'fc3_w', 'fc3_b'], got "
        f"{got}",
    )


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # no arrays
@pytest.mark.parametrize(
    "lrs, trainable",
    [
        pytest.param({"fc3": 0.1}, ["fc3", "fc4"], id="in_trainable"),
        pytest.param({"fc3": 0.1, "conv3": 0.1}, ["fc3"], id="in_lrs"),
    ],
)
def test_trainable_parameters_refuses_an_unknown_layer(student, lrs, trainable):
    _must_raise(
        lambda: student.trainable_parameters(lrs, trainable),
        f"trainable_parameters({lrs}, {trainable}) must raise ValueError: a layer that is not "
        "among LAYERS (conv1, conv2, fc1, fc2, fc3) is a mistake, not a layer to ignore",
    )


@pytest.mark.points(1)
def test_transfer_loss_gives_exactly_the_gradients_asked_for(student, forward_oracle, rng):
    params = _params(rng, classes=3)
    x, y = _images(rng, 3), rng.integers(0, 3, 3)
    for wrt, checked in (
        (["fc3_w", "fc3_b"], "fc3_b"),
        (["fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b"], "fc1_b"),
        (["conv2_b"], "conv2_b"),
    ):
        got = student.transfer_loss(params, x, y, wrt)
        _require(isinstance(got, tuple) and len(got) == 2, "transfer_loss returns (loss, grads)")
        grads = got[1]
        _require(
            isinstance(grads, dict) and sorted(grads) == sorted(wrt),
            f"with wrt = {wrt}, grads must have exactly those keys (a frozen parameter gets no "
            f"gradient), got {sorted(grads) if isinstance(grads, dict) else type(grads)}",
        )

        def loss_at(value, name=checked):
            loss, _ = forward_oracle.transfer_loss({**params, name: value}, x, y, [])
            return np.asarray(loss)

        assert_gradient_close(
            grads[checked], loss_at, params[checked], np.float64(1.0), name=f"grads[{checked!r}]"
        )


@pytest.mark.points(1.5)
def test_finetune_step_leaves_the_frozen_parameters_bit_for_bit(student, forward_oracle, rng):
    params = _params(rng)
    velocities = {k: 0.5 * rng.standard_normal(v.shape) for k, v in params.items()}
    kept = {k: v.copy() for k, v in params.items()}
    kept_velocities = {k: v.copy() for k, v in velocities.items()}
    x, y = _images(rng, 4), rng.integers(0, 5, 4)
    lrs = {"conv1": 0.1, "fc1": 0.02, "fc3": 0.1}  # fc2 has no rate, conv1 is not trainable
    got = student.finetune_step(params, velocities, x, y, lrs, ["fc1", "fc2", "fc3"], 0.9, 0.01)
    _require(
        isinstance(got, tuple) and len(got) == 3,
        "finetune_step returns (params, velocities, loss)",
    )
    new_params, new_velocities, loss = got
    learning = ["fc1_w", "fc1_b", "fc3_w", "fc3_b"]
    want_loss, grads = forward_oracle.transfer_loss(params, x, y, learning)
    assert_scalar_close(loss, want_loss, name="loss (before the step)")
    for k in NAMES:
        if k in learning:
            lr = lrs[k[:-2]]
            v = 0.9 * velocities[k] + grads[k] + 0.01 * params[k]
            assert_close(new_velocities[k], v, name=f"velocities[{k!r}]")
            assert_close(new_params[k], params[k] - lr * v, name=f"params[{k!r}]")
        else:
            _same_bits(new_params[k], kept[k], f"params[{k!r}]")
            _same_bits(new_velocities[k], kept_velocities[k], f"velocities[{k!r}]")


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")  # a training loop: not on the strict simulator
def test_train_finetune_learns_a_toy_problem_with_the_backbone_frozen(student):
    # Two classes, a bright left half or a bright right half: the head and fc2 learn, the
    # rest of a random network stays as it is.
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 32)
    x = 0.1 * rng.random((32, 1, 32, 32))
    x[y == 0, :, :, :16] += 0.8
    x[y == 1, :, :, 16:] += 0.8
    params = _params(rng, classes=2)
    params["fc3_w"] = np.zeros((2, 84))
    kept = {k: v.copy() for k, v in params.items()}
    lrs = {"fc2": 0.01, "fc3": 0.05}
    got = student.train_finetune(params, x, y, lrs, ["fc2", "fc3"], 4, 8)
    _require(isinstance(got, tuple) and len(got) == 2, "train_finetune returns (params, losses)")
    trained, losses = got
    _require(
        isinstance(losses, list) and len(losses) == 16,
        f"train_finetune must return one loss per step (4 epochs of 4 batches: 16), got "
        f"{len(losses) if isinstance(losses, list) else type(losses).__name__}",
    )
    _require(
        np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4]),
        f"the loss must fall: first epoch's mean {np.mean(losses[:4]):.3f}, last epoch's "
        f"{np.mean(losses[-4:]):.3f}",
    )
    for k in ("conv1_w", "conv2_b", "fc1_w", "fc1_b"):
        _same_bits(trained[k], kept[k], f"params[{k!r}]")
    _require(not np.array_equal(trained["fc2_w"], kept["fc2_w"]), "fc2 has a rate: it learns")


def _finetune_loop(student, params, x, y, lrs, trainable, epochs, bs, momentum, wd, seed, mistake):
    """train_finetune as its docstring describes it, with the student's own finetune_step, or
    with one ``mistake`` made."""
    velocities = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    if mistake == "defaults":
        momentum, wd = 0.9, 0.0
    for epoch in range(epochs):
        if mistake == "not_shuffled":
            batches = [np.arange(s, min(s + bs, len(y))) for s in range(0, len(y), bs)]
        else:
            batches = _order(len(y), bs, 0 if mistake == "seed_ignored" else seed, epoch)
        for index in batches:
            params, new_velocities, loss = student.finetune_step(
                params, velocities, x[index], y[index], lrs, trainable, momentum, wd
            )
            if mistake != "velocities_not_carried":
                velocities = new_velocities
            losses.append(float(loss))
    return params, losses


FINETUNE_LOOP_MISTAKES = {
    "seed_ignored": "your train_finetune ignores its seed: the batches of epoch e are "
    "minibatches(n, batch_size, seed, e), with the seed it is given",
    "not_shuffled": "your train_finetune takes the batches in the data's order: they are "
    "minibatches(n, batch_size, seed, epoch), in a seeded random order",
    "velocities_not_carried": "your train_finetune starts every step from zero velocities: the "
    "velocities finetune_step returns are carried over to the next step",
    "defaults": "your train_finetune does not pass its momentum and weight_decay on to "
    "finetune_step: every step runs with the defaults 0.9 and 0.0 instead",
}


@pytest.mark.points(1)
@pytest.mark.backends("numpy", "cupy")  # a training loop: not on the strict simulator
def test_train_finetune_runs_the_documented_loop(student, rng):
    # 6 images in batches of 4 (the last one smaller), 2 epochs: each step is your
    # finetune_step on minibatches(6, 4, seed, epoch), the velocities carried over
    params = _params(rng, classes=3)
    x, y = _images(rng, 6), rng.integers(0, 3, 6)
    lrs, trainable = {"fc2": 0.05, "fc3": 0.1}, ["fc2", "fc3"]
    args = (params, x, y, lrs, trainable, 2, 4, 0.5, 0.01, 5)
    got = student.train_finetune(*args)
    _require(isinstance(got, tuple) and len(got) == 2, "train_finetune returns (params, losses)")
    # 2 epochs of 2 batches: what the docstring's loop gives with your own finetune_step
    _check_against_the_loop(
        got,
        _finetune_loop,
        student,
        args,
        FINETUNE_LOOP_MISTAKES,
        "train_finetune",
        4,
        ("fc2_w", "fc2_b", "fc3_w", "fc3_b"),
        every_key=NAMES,
    )
