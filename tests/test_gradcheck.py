"""Numeric gradients against gradients known in closed form."""

import numpy as np

from autograder.gradcheck import numeric_gradient


def test_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    dout = np.array(1.0)
    numeric = numeric_gradient(lambda z: z @ a @ z, x, dout)
    np.testing.assert_allclose(numeric, (a + a.T) @ x, rtol=1e-7, atol=1e-8)


def test_upstream_gradient_weights_each_output():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    numeric = numeric_gradient(np.sin, x, dout)
    np.testing.assert_allclose(numeric, np.cos(x) * dout, rtol=1e-7, atol=1e-8)


def test_the_input_is_never_modified():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z is x)
        z += 1.0  # a careless function that modifies its argument
        return z

    numeric_gradient(f, x, np.ones((2, 3)))
    np.testing.assert_array_equal(x, before)
    assert not any(seen)


def test_sampled_check_passes_a_right_gradient_and_names_a_wrong_position():
    import pytest

    from autograder.gradcheck import assert_gradient_close

    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 7))
    dout = rng.standard_normal((5, 7))
    right = np.cos(x) * dout
    assert_gradient_close(right, np.sin, x, dout, name="dx", samples=10)
    wrong = right.copy()
    wrong[-1, -1] += 1.0  # the last element is always checked
    with pytest.raises(AssertionError, match=r"first at dx\[\(4, 6\)\]"):
        assert_gradient_close(wrong, np.sin, x, dout, name="dx", samples=10)
    with pytest.raises(AssertionError, match="expected dtype float64"):
        assert_gradient_close(right.astype(np.float32), np.sin, x, dout, name="dx")


def test_sampled_check_calls_the_function_twice_per_sampled_position():
    from autograder.gradcheck import assert_gradient_close

    calls = []
    x = np.linspace(0, 1, 100)

    def f(z):
        calls.append(1)
        return z**2

    assert_gradient_close(2 * x, f, x, np.ones(100), samples=12)
    assert len(calls) == 24
