"""Numeric gradients by central differences, for checking a backward pass without a reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x`` by central differences.

    Args:
        f: a function of one array; called with perturbed copies of ``x``, never ``x`` itself.
        x: float64 array of any shape (float32 is too coarse for finite differences).
        dout: upstream gradient, shaped like ``f(x)``.
        h: step size.

    Returns:
        float64 array shaped like ``x``: ``(L(x + h e_i) - L(x - h e_i)) / (2h)`` for each
        element ``i``, where ``L(z) = sum(f(z) * dout)``. Costs ``2 * x.size`` calls of ``f``.
    """
    x = np.array(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    grad_flat = grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        plus = float(np.sum(np.asarray(f(x.copy())) * dout))
        flat[i] = original - h
        minus = float(np.sum(np.asarray(f(x.copy())) * dout))
        flat[i] = original
        grad_flat[i] = (plus - minus) / (2 * h)
    return grad
