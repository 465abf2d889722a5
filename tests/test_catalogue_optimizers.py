"""The optimizers' mistakes the catalogue computes itself are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake (written as the forums and
frameworks write it), and the hint named for that output is the mistake's own."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import optimizers

SEVERAL = "mistakes each give exactly what"


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _only_hint(function, args, kwargs, result, fragment):
    hints = diagnose(optimizers, [Call(function, args, kwargs, result)])
    assert len(hints) == 1 and fragment in hints[0] and SEVERAL not in hints[0], hints


@pytest.mark.parametrize("nesterov", [False, True])
def test_cs231n_velocity(rng, nesterov):
    w, dw, velocity = (rng.standard_normal((3, 4)) for _ in range(3))
    lr, mu = 0.1, 0.9
    v = mu * velocity - lr * dw  # CS231n's optim.sgd_momentum
    w_new = w - mu * velocity + (1 + mu) * v if nesterov else w + v
    kwargs = {"lr": lr, "momentum": mu, "nesterov": nesterov}
    args = (w, dw, {"velocity": velocity})
    _only_hint("sgd", args, kwargs, (w_new, {"velocity": v}), "velocity carries the learning rate")


def test_tensorflow_rmsprop_momentum(rng):
    w, dw, velocity = (rng.standard_normal((3, 4)) for _ in range(3))
    square_avg = rng.random((3, 4))
    lr, rho, mu, eps = 0.01, 0.9, 0.5, 1e-8
    ms = rho * square_avg + (1 - rho) * dw**2
    mom = mu * velocity + lr * dw / (np.sqrt(ms) + eps)  # tf.keras's RMSprop with momentum
    args = (w, dw, {"square_avg": square_avg, "velocity": velocity})
    kwargs = {"lr": lr, "alpha": rho, "momentum": mu, "eps": eps}
    result = (w - mom, {"square_avg": ms, "velocity": mom})
    _only_hint("rmsprop", args, kwargs, result, "learning rate inside the velocity")


def _adam_state(rng, step):
    return {"m": rng.standard_normal((3, 4)), "v": rng.random((3, 4)), "step": step}


@pytest.mark.parametrize("function", ["adam", "adamw"])
def test_epsilon_hat(rng, function):
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = _adam_state(rng, 2)
    lr, b1, b2, eps, decay = 0.01, 0.9, 0.999, 0.1, 0.1
    t = state["step"] + 1
    base = w * (1 - lr * decay) if function == "adamw" else w
    g = dw if function == "adamw" else dw + decay * w
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)  # TensorFlow's ApplyAdam
    w_new = base - lr_t * m / (np.sqrt(v) + eps)
    kwargs = {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": decay}
    result = (w_new, {"m": m, "v": v, "step": t})
    _only_hint(function, (w, dw, state), kwargs, result, "uncorrected sqrt(v)")


def test_betas_weigh_the_gradient(rng):
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = _adam_state(rng, 4)
    lr, b1, b2, eps = 0.01, 0.9, 0.99, 1e-8
    t = state["step"] + 1
    m = (1 - b1) * state["m"] + b1 * dw  # the first preprint's parameterization
    v = (1 - b2) * state["v"] + b2 * dw * dw
    w_new = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    kwargs = {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps}
    result = (w_new, {"m": m, "v": v, "step": t})
    _only_hint("adam", (w, dw, state), kwargs, result, "the old moment the weight 1 - beta")


def test_step_not_saved(rng):
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = _adam_state(rng, 3)
    w_new, new_state = optimizers.adam(w, dw, state, lr=0.01)
    result = (w_new, {**new_state, "step": state["step"]})
    _only_hint("adam", (w, dw, state), {"lr": 0.01}, result, "keeps the old step count")


SHAPE = (16, 8, 3, 3)
FAN_IN = 8 * 9


def _uniform(bound, seed):
    return (np.random.default_rng(seed).random(SHAPE) * 2.0 - 1.0) * bound


def _normal(std, seed):
    return np.random.default_rng(seed).standard_normal(SHAPE) * std


def test_uniform_bound_is_the_std():
    std = math.sqrt(2.0 / FAN_IN)
    result = _uniform(std, 3)  # U(-std, std), the old nn.Linear default
    _only_hint("kaiming_uniform", (np.empty(SHAPE),), {"seed": 3}, result, "as their bound")


@pytest.mark.parametrize(
    "options, gain",
    [({"nonlinearity": "tanh"}, 5 / 3), ({"a": 0.2}, math.sqrt(2 / 1.04)), ({}, math.sqrt(2))],
)
def test_gain_squared(options, gain):
    result = _normal(gain**2 / math.sqrt(FAN_IN), 5)
    args, kwargs = (np.empty(SHAPE),), {"seed": 5, **options}
    _only_hint("kaiming_normal", args, kwargs, result, "uses the gain squared")


@pytest.mark.parametrize(
    "options", [{"nonlinearity": "tanh"}, {"a": 1.0}, {"nonlinearity": "linear"}]
)
def test_gain_always_sqrt_two(options):
    result = _normal(math.sqrt(2.0 / FAN_IN), 7)  # CS231n's randn(n) * sqrt(2.0 / n)
    args, kwargs = (np.empty(SHAPE),), {"seed": 7, **options}
    _only_hint("kaiming_normal", args, kwargs, result, "whatever the nonlinearity")


def test_default_gain_is_not_named_as_hardcoded():
    # leaky_relu with a = 0 has the gain sqrt(2): sqrt(2 / fan) is then the right std
    correct = optimizers.kaiming_normal(np.empty(SHAPE), seed=7)
    assert (
        diagnose(optimizers, [Call("kaiming_normal", (np.empty(SHAPE),), {"seed": 7}, correct)])
        == []
    )
