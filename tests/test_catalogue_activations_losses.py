"""The activations_losses mistakes whose outputs the hints compute themselves are the mistakes
students make: each computed output equals a direct, naive implementation of the mistake, and
its hint names it."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import activations_losses as al


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _hints(function, args, kwargs, result):
    return diagnose(al, [Call(function, args, kwargs, result)])


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_hinge_gradient_without_the_label_column(rng):
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, _ = al.multiclass_hinge(scores, y)
    grad = np.zeros_like(scores)
    for i in range(6):  # a loop that forgets dscores[i, y[i]] -= 1
        for j in range(4):
            if j != y[i] and 1 - scores[i, y[i]] + scores[i, j] > 0:
                grad[i, j] += 1 / 24
    hints = _hints("multiclass_hinge", (scores, y), {}, (loss, grad))
    assert any("leaves the label's column out" in h for h in hints), hints


def test_distillation_teacher_not_softened(rng):
    s, t = 3 * rng.standard_normal((5, 4)), 3 * rng.standard_normal((5, 4))
    p, q = _softmax(s / 4), _softmax(t)
    loss = 16 * (q * (np.log(q) - np.log(p))).sum() / 5
    grad = 4 * (p - q) / 5
    hints = _hints("distillation_loss", (s, t), {}, (loss, grad))
    assert any("teacher's softmax taken without the temperature" in h for h in hints), hints


def test_default_slope_is_named_only_when_the_default_is_used(rng):
    x = rng.standard_normal((3, 4))
    wrong = np.where(x > 0, x, 0.2 * x)
    hints = _hints("leaky_relu_forward", (x,), {}, wrong)
    assert any("TensorFlow's default 0.2" in h for h in hints), hints
    passed = _hints("leaky_relu_forward", (x,), {"negative_slope": 0.3}, wrong)
    assert not any("TensorFlow's default" in h for h in passed), passed


def test_mse_averaged_over_the_batch(rng):
    pred, target = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    diff = pred - target
    wrong = ((diff**2).sum() / 4, 2 * diff / 4)
    hints = _hints("mse_loss", (pred, target), {}, wrong)
    assert any("averaged over the first axis" in h for h in hints), hints
