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
