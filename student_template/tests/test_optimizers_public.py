"""Public tests for optimizers.py: known steps, fans and gains, and initializer statistics.

Run them from your copy of the template with ``autograder check optimizers``. The hidden tests
compare every optimizer with a reference implementation over several steps and many options,
and test every initializer's statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("optimizers")]


@pytest.mark.points(1)
def test_sgd_and_momentum_hand_computed(student):
    w, dw = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    w1, state = student.sgd(w, dw, {"velocity": np.zeros(2)}, lr=0.1)
    assert_close(w1, np.array([0.95, -1.2]), name="w after plain SGD")
    w1, state = student.sgd(w, dw, {"velocity": np.zeros(2)}, lr=0.1, momentum=0.9)
    w2, state = student.sgd(w1, dw, state, lr=0.1, momentum=0.9)
    # velocity: g, then 0.9 g + g = 1.9 g
    assert_close(state["velocity"], 1.9 * dw, name="velocity after two steps")
    assert_close(w2, w - 0.1 * dw - 0.19 * dw, name="w after two momentum steps")


@pytest.mark.points(1)
def test_adam_first_step_is_lr_times_the_sign_of_the_gradient(student):
    # With bias correction, m_hat = g and v_hat = g**2 on the first step: each weight moves by
    # lr in the direction of -g, whatever the gradient's size. Without it, the step would be
    # (1 - beta1) / sqrt(1 - beta2) = 3.2 times larger.
    w = np.zeros(3)
    dw = np.array([1e-3, -2.0, 30.0])
    state = {"m": np.zeros(3), "v": np.zeros(3), "step": 0}
    w1, new_state = student.adam(w, dw, state, lr=0.1)
    assert_close(w1, -0.1 * np.sign(dw), name="w after one Adam step", rtol=1e-4, atol_scale=1e-4)
    assert new_state["step"] == 1, "the state's step counts the steps taken"


@pytest.mark.points(1)
@pytest.mark.backends("numpy")  # no arrays in or out: nothing to check on a device
def test_fans_and_gains(student):
    assert tuple(student.fan_in_and_fan_out((64, 32, 3, 3))) == (32 * 9, 64 * 9)
    assert tuple(student.fan_in_and_fan_out((10, 20))) == (20, 10)
    assert student.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert student.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert student.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))


@pytest.mark.points(2)
def test_kaiming_normal_has_the_he_standard_deviation(student, rng):
    shape = (128, 64, 3, 3)
    w = student.kaiming_normal(np.empty(shape), seed=int(rng.integers(0, 2**31)))
    assert type(w) is np.ndarray and w.shape == shape and w.dtype == np.float64
    expected = math.sqrt(2.0) / math.sqrt(64 * 9)  # gain sqrt(2), fan_in = C * KH * KW
    std = float(w.std())
    assert abs(std / expected - 1) < 0.01, f"std {std:.5f}, expected {expected:.5f}"
    within = float((np.abs(w) < expected).mean())
    assert abs(within - 0.6827) < 0.01, f"{within:.1%} within one std: not normal"
