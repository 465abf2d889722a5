"""The regularization mistakes the catalogue computes itself are the mistakes students make:
each computed output equals a direct, naive implementation of the mistake, and the hint named
for that output is the mistake's own."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import regularization

SEVERAL = "mistakes each give exactly what"


@pytest.fixture
def rng():
    return np.random.default_rng(13)


def _only_hint(function, args, kwargs, result, fragment):
    hints = diagnose(regularization, [Call(function, args, kwargs, result)])
    assert len(hints) == 1 and fragment in hints[0] and SEVERAL not in hints[0], hints


@pytest.mark.parametrize("function", ["dropout_forward", "dropout_backward"])
def test_kept_values_multiplied_by_keep_probability(rng, function):
    x, p = rng.standard_normal((4, 5)), 0.3
    mask = rng.random(x.shape) >= p
    result = x * mask * (1 - p)
    _only_hint(function, (x, p, mask), {}, result, "multiplied by 1 - p")


@pytest.mark.parametrize("function", ["dropout_forward", "dropout_backward"])
def test_eval_scaled_by_p(rng, function):
    x, p = rng.standard_normal((4, 5)), 0.2
    mask = rng.random(x.shape) >= p
    _only_hint(function, (x, p, mask), {"training": False}, x * p, "scaled by p, the drop")


def test_eval_scaled_by_one_half_names_both_conventions(rng):
    x = rng.standard_normal((4, 5))
    mask = rng.random(x.shape) >= 0.5
    call = Call("dropout_forward", (x, 0.5, mask), {"training": False}, x * 0.5)
    (hint,) = diagnose(regularization, [call])
    assert SEVERAL in hint and "scaled by p, the drop" in hint and "scaled by 1 - p" in hint


def test_backward_without_dout(rng):
    dout, p = rng.standard_normal((4, 5)), 0.4
    mask = rng.random(dout.shape) >= p
    result = mask / (1 - p)
    _only_hint("dropout_backward", (dout, p, mask), {}, result, "without the upstream gradient")


@pytest.mark.parametrize(
    "mistake, fragment",
    [
        (lambda w, dw, lr, wd: w * (1 - wd) - lr * dw, "apart from the learning rate"),
        (lambda w, dw, lr, wd: w - lr * (dw - wd * w), "subtracts weight_decay * w"),
        (lambda w, dw, lr, wd: w - lr * (dw + wd * np.sign(w)), "an L1 penalty"),
    ],
    ids=["without_lr", "subtracted", "l1"],
)
def test_coupled_decay(rng, mistake, fragment):
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    lr, wd = 0.1, 0.3
    result = mistake(w, dw, lr, wd)
    _only_hint("sgd_step_with_weight_decay", (w, dw, lr, wd), {}, result, fragment)


@pytest.mark.parametrize(
    "mistake, fragment",
    [
        (lambda w, lr, wd: w - lr * wd, "subtracts lr * weight_decay from every weight"),
        (lambda w, lr, wd: w * (1 + lr * wd), "multiplies the weights by 1 + lr"),
    ],
    ids=["constant", "grows"],
)
def test_decoupled_decay(rng, mistake, fragment):
    w, lr, wd = rng.standard_normal((3, 4)), 0.1, 0.3
    _only_hint("decoupled_weight_decay", (w, lr, wd), {}, mistake(w, lr, wd), fragment)
