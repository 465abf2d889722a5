"""autograder.suite.draws: weights drawn from the same random numbers, whatever their shapes."""

from __future__ import annotations

import numpy as np

from autograder.suite.draws import shared_draw
from solutions.optimizers import kaiming_uniform, xavier_uniform


def test_two_shapes_drawn_with_one_seed_share_their_draws():
    small = kaiming_uniform(np.zeros((6, 1, 5, 5), np.float32), nonlinearity="relu", seed=3)
    large = xavier_uniform(np.zeros((84, 120), np.float32), seed=3)
    bounds = {
        "small": float(np.sqrt(6.0 / 25)),
        "large": float(np.sqrt(6.0 / (120 + 84))),
    }
    assert shared_draw({"small": small, "large": large}, bounds) == "small and large"


def test_weights_of_other_seeds_share_nothing():
    weights = {
        f"seed {seed}": kaiming_uniform(np.zeros((16, 6, 5, 5)), nonlinearity="relu", seed=seed)
        for seed in range(20)
    }
    bounds = {label: float(np.sqrt(6.0 / 150)) for label in weights}
    assert shared_draw(weights, bounds) is None


def test_a_draw_by_rng_uniform_is_recognised_too():
    # a student's initializer may call rng.uniform(-b, b, shape) instead of scaling random()
    b1, b2 = 0.3, 0.07
    first = np.random.default_rng(5).uniform(-b1, b1, (150,)).astype(np.float32)
    second = np.random.default_rng(5).uniform(-b2, b2, (40, 60)).astype(np.float32)
    assert shared_draw({"a": first, "b": second}, {"a": b1, "b": b2}) == "a and b"
