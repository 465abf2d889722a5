"""Bounds that follow the conditioning of the computation: the spread of reference results."""

import types

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close, format_pair
from autograder.suite.conditioning import ConditionedReference, forget_spreads, spread_of


def _pair_difference(x: np.ndarray) -> np.ndarray:
    """x[:, 0] - x[:, 1] written as a cancellation of terms much larger than the result."""
    big = x * 1e4
    return (big[:, 0] + 1.0) - (big[:, 1] + 1.0)


def _module(**functions):
    module = types.ModuleType("toy_reference")
    for name, function in functions.items():
        function.__module__ = module.__name__
        setattr(module, name, function)
    return module


@pytest.fixture(autouse=True)
def _clean():
    yield
    forget_spreads()


def test_results_are_the_reference_objects_and_carry_a_spread():
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    reference = ConditionedReference(_module(pair_difference=_pair_difference))
    result = reference.pair_difference(x)
    np.testing.assert_array_equal(result, _pair_difference(x))
    spread = spread_of(result)
    assert spread is not None and spread.shape == result.shape
    assert spread_of(result.copy()) is None  # a derived array carries nothing


def test_cancellation_widens_the_bound_to_the_scale_of_the_terms():
    # The float64 answer rounded to float32 differs from the float32 reference by the rounding
    # of the 1e4-sized terms: far beyond 1e-5 * max|expected|, within the terms' precision.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    x[:, 1] = x[:, 0] + rng.standard_normal(64).astype(np.float32) * 1e-3
    reference = ConditionedReference(_module(pair_difference=_pair_difference))
    expected = reference.pair_difference(x)
    rounded = _pair_difference(x.astype(np.float64)).astype(np.float32)
    with pytest.raises(AssertionError, match="differ beyond tolerance"):
        assert_close(rounded, expected.copy())  # the classic bound rejects a correct answer
    assert_close(rounded, expected)
    with pytest.raises(AssertionError, match="differ beyond tolerance"):
        assert_close(rounded + np.float32(1.0), expected)  # a mistake beyond the terms fails


def test_well_conditioned_outputs_keep_the_classic_bound():
    x = np.random.default_rng(2).standard_normal(50)
    reference = ConditionedReference(_module(double=lambda v: 2.0 * v))
    expected = reference.double(x)
    assert float(spread_of(expected).max()) <= 4 * np.finfo(np.float64).eps * np.abs(x).max()
    with pytest.raises(AssertionError):
        assert_close(expected * (1 + 1e-8), expected)


def test_ties_zeros_and_round_values_are_not_moved():
    def first_max(v):
        return (v == v.max(axis=1, keepdims=True)).astype(v.dtype)

    x = np.array([[0.3, 0.3, -0.1], [0.0, 1.5, 1.5], [2.0, -1.0, 2.0]], dtype=np.float32)
    reference = ConditionedReference(_module(first_max=first_max, relu=lambda v: v * (v > 0)))
    assert not spread_of(reference.first_max(x)).any()  # ties stay ties
    z = np.array([0.0, -0.0, 1.0, -3.0, 0.5])
    assert not spread_of(reference.relu(z)).any()  # zeros and round values stay put


def test_scalar_results_carry_a_spread():
    def cancelling_loss(v):
        return _pair_difference(v).sum()

    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    x[:, 1] = x[:, 0] + rng.standard_normal(64).astype(np.float32) * 1e-6
    reference = ConditionedReference(_module(loss=cancelling_loss))
    expected = reference.loss(x)
    assert isinstance(expected, np.float32) and spread_of(expected) is not None
    rounded = np.float32(cancelling_loss(x.astype(np.float64)))
    with pytest.raises(AssertionError):
        assert_scalar_close(rounded, np.float32(expected))  # the classic bound rejects it
    assert_scalar_close(rounded, expected)


def test_stateful_or_non_data_arguments_are_not_replayed():
    calls = []

    def draw(rng):
        calls.append(1)
        return rng.standard_normal(3)

    reference = ConditionedReference(_module(draw=draw))
    result = reference.draw(np.random.default_rng(0))
    assert len(calls) == 1 and spread_of(result) is None


def test_scalar_messages_show_the_digits_that_differ():
    with pytest.raises(AssertionError) as info:
        assert_scalar_close(np.float64(0.98314312), np.float64(0.98314301))
    assert "expected 0.9831430, got 0.9831431" in str(info.value)
    assert format_pair(np.float32(1.0), np.float32(1.0)) == ("1", "1")
