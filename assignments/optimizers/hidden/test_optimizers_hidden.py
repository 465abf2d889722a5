"""Hidden tests for optimizers.py: every step against the reference, and the statistics of
every initializer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import ComparisonError, assert_close

pytestmark = [pytest.mark.assignment("optimizers"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
STEPS = 5

OPTIMIZERS = [  # (function, options, state keys holding arrays, plus "step" for Adam)
    pytest.param("sgd", {"lr": 0.1}, ("velocity",), id="sgd"),
    pytest.param("sgd", {"lr": 0.1, "momentum": 0.9}, ("velocity",), id="sgd_momentum"),
    pytest.param(
        "sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, ("velocity",), id="sgd_nesterov"
    ),
    pytest.param(
        "sgd", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}, ("velocity",), id="sgd_decay"
    ),
    pytest.param("adagrad", {"lr": 0.1}, ("sum_sq",), id="adagrad"),
    pytest.param(
        "adagrad", {"lr": 0.05, "eps": 1e-6, "weight_decay": 0.1}, ("sum_sq",), id="adagrad_decay"
    ),
    pytest.param("rmsprop", {"lr": 0.01}, ("square_avg", "velocity"), id="rmsprop"),
    pytest.param(
        "rmsprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01},
        ("square_avg", "velocity"),
        id="rmsprop_momentum_decay",
    ),
    pytest.param("adam", {"lr": 0.01}, ("m", "v", "step"), id="adam"),
    pytest.param(
        "adam",
        {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6},
        ("m", "v", "step"),
        id="adam_betas",
    ),
    pytest.param("adam", {"lr": 0.01, "weight_decay": 0.1}, ("m", "v", "step"), id="adam_l2"),
    pytest.param("adamw", {"lr": 0.01}, ("m", "v", "step"), id="adamw_default_decay"),
    pytest.param("adamw", {"lr": 0.02, "weight_decay": 0.3}, ("m", "v", "step"), id="adamw"),
]


def _initial_state(keys, w):
    return {key: 0 if key == "step" else np.zeros_like(w) for key in keys}


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, keys", OPTIMIZERS)
def test_optimizer_steps(student, reference, rng, name, options, keys, dtype):
    # Each step starts from the reference's parameters and state, so an error shows at the
    # step that makes it (Adam's bias correction at the first steps, for example).
    w = rng.standard_normal((4, 3)).astype(dtype)
    state = _initial_state(keys, w)
    for step in range(STEPS):
        dw = rng.standard_normal(w.shape).astype(dtype)
        got = getattr(student, name)(w, dw, state, **options)
        want = getattr(reference, name)(w, dw, state, **options)
        assert isinstance(got, tuple) and len(got) == 2, f"{name} must return (w_new, state)"
        assert_close(got[0], want[0], name=f"w after step {step + 1}")
        assert isinstance(got[1], dict) and set(got[1]) == set(keys), (
            f"the state must be a dict with the keys {sorted(keys)}"
        )
        for key in keys:
            if key == "step":
                assert int(got[1]["step"]) == want[1]["step"], f"state['step'] at step {step + 1}"
            else:
                assert_close(got[1][key], want[1][key], name=f"state[{key!r}] at step {step + 1}")
        w, state = want


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # no arrays in or out: nothing to check on a device
@pytest.mark.parametrize(
    "shape",
    [(16, 8), (64, 32, 3, 3), (4, 6, 5), (2, 3, 2, 3, 4)],
    ids=lambda s: "x".join(map(str, s)),
)
def test_fans(student, reference, shape):
    got = student.fan_in_and_fan_out(shape)
    assert tuple(int(v) for v in got) == reference.fan_in_and_fan_out(shape), (
        f"fan_in_and_fan_out({shape}) returned {tuple(int(v) for v in got)}: not its fans"
    )


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # no arrays in or out: nothing to check on a device
@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.3),
        ("conv2d", None),
    ],
)
def test_gains(student, reference, nonlinearity, param):
    got = float(student.calculate_gain(nonlinearity, param))
    assert got == pytest.approx(reference.calculate_gain(nonlinearity, param), rel=1e-12), (
        f"calculate_gain({nonlinearity!r}, {param}) returned {got!r}: not its gain"
    )


SHAPE = (256, 128, 3, 3)  # fan_in = 1152, fan_out = 2304: the fans differ by a factor 2
FAN_IN, FAN_OUT = 128 * 9, 256 * 9
LEAKY = math.sqrt(2.0 / (1.0 + 0.2**2))
INITS = [  # (function, options, expected std, distribution)
    pytest.param(
        "xavier_uniform", {}, math.sqrt(2.0 / (FAN_IN + FAN_OUT)), "uniform", id="xavier_uniform"
    ),
    pytest.param(
        "xavier_uniform",
        {"gain": 5 / 3},
        5 / 3 * math.sqrt(2.0 / (FAN_IN + FAN_OUT)),
        "uniform",
        id="xavier_uniform_tanh_gain",
    ),
    pytest.param(
        "xavier_normal",
        {"gain": 0.5},
        0.5 * math.sqrt(2.0 / (FAN_IN + FAN_OUT)),
        "normal",
        id="xavier_normal",
    ),
    pytest.param(
        "kaiming_uniform", {}, math.sqrt(2.0 / FAN_IN), "uniform", id="kaiming_uniform_default"
    ),
    pytest.param(
        "kaiming_uniform",
        {"a": 0.2, "mode": "fan_out"},
        LEAKY / math.sqrt(FAN_OUT),
        "uniform",
        id="kaiming_uniform_fan_out_leaky",
    ),
    pytest.param(
        "kaiming_normal",
        {"nonlinearity": "relu"},
        math.sqrt(2.0 / FAN_IN),
        "normal",
        id="kaiming_normal_relu",
    ),
    pytest.param(
        "kaiming_normal",
        {"mode": "fan_out", "nonlinearity": "tanh"},
        5 / 3 / math.sqrt(FAN_OUT),
        "normal",
        id="kaiming_normal_fan_out_tanh",
    ),
]


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, expected, kind", INITS)
def test_initializer_statistics(student, rng, name, options, expected, kind, dtype):
    # 294912 draws: the sample std is within 1% of the right one with probability 1 - 1e-12;
    # a wrong gain (sqrt(2) vs 1, 5/3) or the wrong fan (fan_out = 2 fan_in) misses by > 40%.
    seed = int(rng.integers(0, 2**31))
    w = getattr(student, name)(np.empty(SHAPE, dtype), seed=seed, **options)
    assert type(w) is np.ndarray and w.shape == SHAPE and w.dtype == np.dtype(dtype), (
        f"{name} must return an array shaped and typed like w ({SHAPE}, {np.dtype(dtype)})"
    )
    values = w.astype(np.float64)
    std = float(values.std())
    if not abs(std / expected - 1) < 0.01:
        raise ComparisonError(
            f"standard deviation {std:.6f}, expected {expected:.6f} (check the gain and the fan)",
            redacted=f"standard deviation {std:.6f}, more than 1% off the right one (check the "
            f"gain and the fan)",
        )
    mean = float(values.mean())
    assert abs(mean) < 6 * expected / math.sqrt(values.size), f"mean {mean:.2e}, expected 0"
    within = float((np.abs(values) < expected).mean())
    target = 0.6827 if kind == "normal" else 1 / math.sqrt(3)
    assert abs(within - target) < 0.01, (
        f"{within:.1%} of the values lie within one standard deviation; a {kind} "
        f"distribution has {target:.1%}"
    )
    if kind == "uniform":
        bound = math.sqrt(3) * expected
        largest = float(np.abs(values).max())
        if not bound * (1 - 1e-3) < largest <= bound * (1 + 1e-6):
            raise ComparisonError(
                f"values must fill (-{bound:.6f}, {bound:.6f}); the largest magnitude is "
                f"{largest:.6f}",
                redacted=f"values must fill (-bound, bound) of a uniform distribution with the "
                f"right standard deviation; the largest magnitude is {largest:.6f}",
            )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", ["xavier_uniform", "kaiming_normal"])
def test_initializers_replay_their_seed(student, rng, name):
    seed = int(rng.integers(0, 2**31))
    first = getattr(student, name)(np.empty((16, 8)), seed=seed)
    assert np.array_equal(getattr(student, name)(np.empty((16, 8)), seed=seed), first), (
        "the same seed must give the same weights"
    )
    other = getattr(student, name)(np.empty((16, 8)), seed=seed + 1)
    assert not np.array_equal(other, first), "different seeds must give different weights"


@pytest.mark.points(0.5)
def test_nesterov_without_momentum_raises(student):
    with pytest.raises(ValueError):
        student.sgd(np.ones(2), np.ones(2), {"velocity": np.zeros(2)}, lr=0.1, nesterov=True)
