"""Public tests for optimizers.py: known steps, fans and gains, and initializer statistics.

Run them from your copy of the template with ``autograder check optimizers``. Every optimizer
option (momentum, Nesterov, weight decay, eps, alpha, betas, AdamW's decoupled decay) has a
known step here, written out from the docstring's formulas, and every initializer option
(gain, ``a``, ``mode``, ``nonlinearity``) a known standard deviation. The hidden tests compare
every optimizer with a reference implementation over several steps and many options, and
test every initializer's statistics more closely.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("optimizers")]

W0 = np.array([1.0, -1.0, 0.5])
G1 = np.array([0.5, 2.0, -0.25])
G2 = np.array([-1.0, 0.5, 3.0])


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _steps(student, name, state, grads, **options):
    """The parameters after each step of ``name`` from W0, each step fed the state the
    previous one returned."""
    w, ws = W0, []
    for g in grads:
        got = getattr(student, name)(w, g, state, **options)
        _require(isinstance(got, tuple) and len(got) == 2, f"{name} returns (w_new, state)")
        w, state = got
        ws.append(w)
    return ws, state


def _zeros(*keys):
    return {key: np.zeros(3) for key in keys}


# ======================================================================== SGD


@pytest.mark.points(1)
def test_sgd_hand_computed(student):
    (w1,), _ = _steps(student, "sgd", _zeros("velocity"), [G1], lr=0.1)
    assert_close(w1, W0 - 0.1 * G1, name="w after plain SGD")


@pytest.mark.points(1)
def test_sgd_momentum_hand_computed(student):
    # velocity: g1, then 0.9 g1 + g2 (PyTorch's first buffer is the gradient itself)
    (_, w2), state = _steps(student, "sgd", _zeros("velocity"), [G1, G2], lr=0.1, momentum=0.9)
    assert_close(state["velocity"], 0.9 * G1 + G2, name="velocity after two steps")
    assert_close(w2, W0 - 0.1 * G1 - 0.1 * (0.9 * G1 + G2), name="w after two momentum steps")


@pytest.mark.points(1)
def test_sgd_nesterov_hand_computed(student):
    # v = momentum * v + g, then the step is g + momentum * v (a look-ahead), not v.
    (w1, w2), _ = _steps(
        student, "sgd", _zeros("velocity"), [G1, G2], lr=0.1, momentum=0.9, nesterov=True
    )
    v1, v2 = G1, 0.9 * G1 + G2
    assert_close(w1, W0 - 0.1 * (G1 + 0.9 * v1), name="w after one Nesterov step")
    assert_close(w2, w1 - 0.1 * (G2 + 0.9 * v2), name="w after two Nesterov steps")


@pytest.mark.points(1)
def test_sgd_weight_decay_hand_computed(student):
    # weight decay adds weight_decay * w to the gradient
    (w1,), _ = _steps(student, "sgd", _zeros("velocity"), [G1], lr=0.1, weight_decay=0.5)
    assert_close(w1, W0 - 0.1 * (G1 + 0.5 * W0), name="w after SGD with weight decay")


# ======================================================================== Adagrad


@pytest.mark.points(1)
def test_adagrad_hand_computed(student):
    (_, w2), state = _steps(student, "adagrad", _zeros("sum_sq"), [G1, G2], lr=0.1)
    s2 = G1**2 + G2**2
    assert_close(state["sum_sq"], s2, name="sum_sq after two steps")
    expected = W0 - 0.1 * G1 / (np.abs(G1) + 1e-10) - 0.1 * G2 / (np.sqrt(s2) + 1e-10)
    assert_close(w2, expected, name="w after two Adagrad steps")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "options, g",
    [({"eps": 1.0}, G1), ({"weight_decay": 0.5}, G1 + 0.5 * W0)],
    ids=["eps1", "weight_decay0.5"],
)
def test_adagrad_options_hand_computed(student, options, g):
    # first step: sum_sq = g ** 2, w - lr * g / (|g| + eps), eps outside the square root
    (w1,), _ = _steps(student, "adagrad", _zeros("sum_sq"), [G1], lr=0.1, **options)
    eps = options.get("eps", 1e-10)
    assert_close(w1, W0 - 0.1 * g / (np.abs(g) + eps), name="w after one Adagrad step")


# ======================================================================== RMSprop


@pytest.mark.points(1)
def test_rmsprop_hand_computed(student):
    (_, w2), state = _steps(student, "rmsprop", _zeros("square_avg", "velocity"), [G1, G2])
    a1 = 0.01 * G1**2
    a2 = 0.99 * a1 + 0.01 * G2**2
    assert_close(state["square_avg"], a2, name="square_avg after two steps")
    expected = W0 - 0.01 * G1 / (np.sqrt(a1) + 1e-8) - 0.01 * G2 / (np.sqrt(a2) + 1e-8)
    assert_close(w2, expected, name="w after two RMSprop steps")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "options, g, alpha, eps",
    [
        ({"alpha": 0.5}, G1, 0.5, 1e-8),
        ({"weight_decay": 0.5}, G1 + 0.5 * W0, 0.99, 1e-8),
    ],
    ids=["alpha0.5", "weight_decay0.5"],
)
def test_rmsprop_options_hand_computed(student, options, g, alpha, eps):
    _check_rmsprop_first_step(student, options, g, alpha, eps)


def _check_rmsprop_first_step(student, options, g, alpha, eps):
    # first step: square_avg = (1 - alpha) g ** 2, w - lr * g / (sqrt(square_avg) + eps)
    state = _zeros("square_avg", "velocity")
    (w1,), _ = _steps(student, "rmsprop", state, [G1], lr=0.1, **options)
    expected = W0 - 0.1 * g / (np.sqrt((1 - alpha) * g**2) + eps)
    assert_close(w1, expected, name="w after one RMSprop step")


# No hidden case sets RMSprop's eps: this test carries that share too.
@pytest.mark.points(3)
def test_rmsprop_eps_is_added_outside_the_square_root(student):
    _check_rmsprop_first_step(student, {"eps": 1.0}, G1, 0.99, 1.0)


@pytest.mark.points(1)
def test_rmsprop_momentum_hand_computed(student):
    # velocity = momentum * velocity + d, then w - lr * velocity
    state = _zeros("square_avg", "velocity")
    (_, w2), _ = _steps(student, "rmsprop", state, [G1, G2], lr=0.1, momentum=0.5)
    a1 = 0.01 * G1**2
    a2 = 0.99 * a1 + 0.01 * G2**2
    d1, d2 = G1 / (np.sqrt(a1) + 1e-8), G2 / (np.sqrt(a2) + 1e-8)
    assert_close(w2, W0 - 0.1 * d1 - 0.1 * (0.5 * d1 + d2), name="w after two steps")


# ======================================================================== Adam and AdamW


def _adam_state():
    return {"m": np.zeros(3), "v": np.zeros(3), "step": 0}


@pytest.mark.points(1)
def test_adam_first_step_is_lr_times_the_sign_of_the_gradient(student):
    # With bias correction, m_hat = g and v_hat = g**2 on the first step: each weight moves by
    # lr * g / (|g| + eps), lr in the direction of -g, whatever the gradient's size. Without
    # it, the step would be (1 - beta1) / sqrt(1 - beta2) = 3.2 times larger.
    dw = np.array([1e-3, -2.0, 30.0])
    got = student.adam(W0, dw, _adam_state(), lr=0.1)
    _require(isinstance(got, tuple) and len(got) == 2, "adam returns (w_new, state)")
    w1, new_state = got
    assert_close(w1, W0 - 0.1 * dw / (np.abs(dw) + 1e-8), name="w after one Adam step")
    _require(new_state["step"] == 1, "the state's step counts the steps taken")


@pytest.mark.points(1)
def test_adam_betas_hand_computed(student):
    b1, b2, lr, eps = 0.5, 0.75, 0.1, 1e-8
    (w1, w2), state = _steps(student, "adam", _adam_state(), [G1, G2], lr=lr, beta1=b1, beta2=b2)
    m2 = b1 * (1 - b1) * G1 + (1 - b1) * G2
    v2 = b2 * (1 - b2) * G1**2 + (1 - b2) * G2**2
    assert_close(state["m"], m2, name="m after two steps")
    assert_close(state["v"], v2, name="v after two steps")
    # w2 = w1 - lr / (1 - b1 ** 2) * m2 / (sqrt(v2) / sqrt(1 - b2 ** 2) + eps)
    expected = w1 - lr / (1 - b1**2) * m2 / (np.sqrt(v2) / np.sqrt(1 - b2**2) + eps)
    assert_close(w2, expected, name="w after two Adam steps")
    assert_close(w1, W0 - lr * G1 / (np.abs(G1) + eps), name="w after one Adam step")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "options, g, eps",
    [({"eps": 0.5}, G1, 0.5), ({"weight_decay": 0.5}, G1 + 0.5 * W0, 1e-8)],
    ids=["eps0.5", "weight_decay0.5"],
)
def test_adam_options_hand_computed(student, options, g, eps):
    # first step: w - lr * g / (|g| + eps); Adam's weight decay is added to the gradient
    (w1,), _ = _steps(student, "adam", _adam_state(), [G1], lr=0.1, **options)
    assert_close(w1, W0 - 0.1 * g / (np.abs(g) + eps), name="w after one Adam step")


@pytest.mark.points(1)
@pytest.mark.parametrize("weight_decay", [None, 0.3], ids=["default_decay", "decay0.3"])
def test_adamw_decays_the_weights_before_the_step(student, weight_decay):
    # AdamW: w * (1 - lr * weight_decay) (default 1e-2), then Adam's step on dw alone.
    options = {} if weight_decay is None else {"weight_decay": weight_decay}
    decay = 1e-2 if weight_decay is None else weight_decay
    (w1,), _ = _steps(student, "adamw", _adam_state(), [G1], lr=0.1, **options)
    expected = W0 * (1 - 0.1 * decay) - 0.1 * G1 / (np.abs(G1) + 1e-8)
    assert_close(w1, expected, name="w after one AdamW step")


# ======================================================================== fans and gains


@pytest.mark.points(1)
@pytest.mark.backends("numpy")  # no arrays in or out: nothing to check on a device
def test_fans_hand_computed(student):
    for shape, fans in [
        ((64, 32, 3, 3), (32 * 9, 64 * 9)),
        ((10, 20), (20, 10)),
        ((4, 6, 5), (30, 20)),
    ]:
        got = tuple(int(v) for v in student.fan_in_and_fan_out(shape))
        _require(got == fans, f"fan_in_and_fan_out({shape}) returned {got}, expected {fans}")


@pytest.mark.points(0.2)
@pytest.mark.backends("numpy")
@pytest.mark.parametrize(
    "args, gain",
    [
        (("linear",), 1.0),
        (("sigmoid",), 1.0),
        (("conv2d",), 1.0),
        (("tanh",), 5 / 3),
        (("relu",), math.sqrt(2)),
    ],
    ids=["linear", "sigmoid", "conv2d", "tanh", "relu"],
)
def test_gains_hand_computed(student, args, gain):
    got = float(student.calculate_gain(*args))
    _require(
        abs(got - gain) <= 1e-12 * gain, f"calculate_gain{args} returned {got}, expected {gain}"
    )


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")
@pytest.mark.parametrize("param, gain", [(None, math.sqrt(2 / 1.0001)), (0.2, math.sqrt(2 / 1.04))])
def test_leaky_relu_gain_hand_computed(student, param, gain):
    got = float(student.calculate_gain("leaky_relu", param))
    _require(
        abs(got - gain) <= 1e-12 * gain,
        f"calculate_gain('leaky_relu', {param}) returned {got}, expected {gain}",
    )


# ======================================================================== initializers

SHAPE = (128, 64, 3, 3)  # fan_in = 576, fan_out = 1152: the fans differ by a factor 2
FAN_IN, FAN_OUT = 64 * 9, 128 * 9
XAVIER = math.sqrt(2.0 / (FAN_IN + FAN_OUT))


def _check_statistics(w, expected, kind):
    # 73728 draws: the sample standard deviation is within 5% of the right one far beyond
    # any chance; a wrong gain or fan (factors sqrt(2), 5/3, 2 ** 0.5 apart) misses by > 15%.
    _require(
        type(w) is np.ndarray and w.shape == SHAPE and w.dtype == np.float64,
        f"the weights must be a float64 array of shape {SHAPE}",
    )
    std = float(w.std())
    _require(
        abs(std / expected - 1) < 0.05, f"standard deviation {std:.5f}, expected {expected:.5f}"
    )
    within = float((np.abs(w) < expected).mean())
    target = 0.6827 if kind == "normal" else 1 / math.sqrt(3)
    _require(
        abs(within - target) < 0.02,
        f"{within:.1%} of the values lie within one standard deviation; a {kind} distribution "
        f"has {target:.1%}",
    )
    if kind == "uniform":
        bound, largest = math.sqrt(3) * expected, float(np.abs(w).max())
        _require(
            largest <= bound * (1 + 1e-9) and largest > 0.99 * bound,
            f"values must fill (-{bound:.5f}, {bound:.5f}); the largest magnitude is {largest:.5f}",
        )


INITIALIZERS = {
    # name: (function, options, expected standard deviation, distribution)
    "xavier_uniform": ("xavier_uniform", {}, XAVIER, "uniform"),
    "xavier_uniform_gain": ("xavier_uniform", {"gain": 5 / 3}, 5 / 3 * XAVIER, "uniform"),
    "xavier_normal": ("xavier_normal", {}, XAVIER, "normal"),
    "xavier_normal_gain": ("xavier_normal", {"gain": 0.5}, 0.5 * XAVIER, "normal"),
    "kaiming_uniform": ("kaiming_uniform", {}, math.sqrt(2 / FAN_IN), "uniform"),
    "kaiming_uniform_a1": ("kaiming_uniform", {"a": 1.0}, 1 / math.sqrt(FAN_IN), "uniform"),
    "kaiming_uniform_fan_out": (
        "kaiming_uniform",
        {"mode": "fan_out"},
        math.sqrt(2 / FAN_OUT),
        "uniform",
    ),
    "kaiming_normal": ("kaiming_normal", {}, math.sqrt(2 / FAN_IN), "normal"),
    "kaiming_normal_fan_out": (
        "kaiming_normal",
        {"mode": "fan_out"},
        math.sqrt(2 / FAN_OUT),
        "normal",
    ),
    "kaiming_normal_linear": (
        "kaiming_normal",
        {"nonlinearity": "linear"},
        1 / math.sqrt(FAN_IN),
        "normal",
    ),
}


# No hidden case sets these options of these initializers: their tests carry that share too.
INITIALIZERS_PUBLIC_ONLY = {
    "kaiming_uniform_tanh": (
        "kaiming_uniform",
        {"nonlinearity": "tanh"},
        5 / 3 / math.sqrt(FAN_IN),
        "uniform",
    ),
    "kaiming_normal_a1": ("kaiming_normal", {"a": 1.0}, 1 / math.sqrt(FAN_IN), "normal"),
}


def _check_initializer(student, rng, name, options, expected, kind):
    # xavier: gain * sqrt(2 / (fan_in + fan_out)); kaiming: gain / sqrt(fan) with
    # gain = calculate_gain(nonlinearity, a) (default leaky_relu with a = 0: sqrt(2)) and
    # fan = fan_in or fan_out (mode). A uniform draw U(-b, b) has standard deviation b / sqrt(3).
    w = getattr(student, name)(np.empty(SHAPE), seed=int(rng.integers(0, 2**31)), **options)
    _check_statistics(w, expected, kind)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", INITIALIZERS)
def test_initializer_has_the_right_standard_deviation(student, rng, case):
    _check_initializer(student, rng, *INITIALIZERS[case])


@pytest.mark.points(3)
@pytest.mark.parametrize("case", INITIALIZERS_PUBLIC_ONLY)
def test_initializer_option_has_the_right_standard_deviation(student, rng, case):
    _check_initializer(student, rng, *INITIALIZERS_PUBLIC_ONLY[case])
