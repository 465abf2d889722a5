"""VARIANT float64_inside_multiply_then_divide (alternative correct submission, used by the
fairness tests).

Regularization: inverted dropout (masks, forward, backward) and weight decay.

How it differs from the reference: CS231n-style code that computes in float64 and casts the
result back to the input dtype at the end ("float64 inside, input dtype outside"), and:

* the mask is ``~(draws < p)`` from the same seeded generator and the same uniform draws;
* dropout multiplies by the boolean mask first and then divides by ``1 - p`` (no precomputed
  scale), with ``p = 1`` handled as all zeros;
* coupled weight decay as ``w - lr * dw - lr * weight_decay * w`` (two separate steps);
* decoupled weight decay as ``w - lr * weight_decay * w`` (the shrink subtracted, not a factor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def _validate_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, int | float):
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")


def _validate_mask(mask: Array, like: Array) -> None:
    if mask.dtype != bool:
        raise ValueError(f"mask must be boolean, got {mask.dtype}")
    if mask.shape != like.shape:
        raise ValueError(f"mask has shape {mask.shape}, expected {like.shape}")


def _inverted_dropout(values: Array, p: float, mask: Array) -> Array:
    """``values * mask / (1 - p)`` computed in float64, zeros when ``p = 1``."""
    xp = get_array_module(values, mask)
    if p == 1:
        return xp.zeros_like(values)
    out = values.astype(xp.float64) * mask
    out = out / (1.0 - p)
    return out.astype(values.dtype)


def _validate_step(w: Array, dw: Array, lr: float, weight_decay: float) -> None:
    if w.dtype.kind != "f":
        raise ValueError(f"w must be floating-point, got {w.dtype}")
    if dw.shape != w.shape:
        raise ValueError(f"dw has shape {dw.shape}, expected {w.shape}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")


def dropout_mask(x: Array, p: float, seed: int) -> Array:
    """A keep-mask shaped like ``x``: ``True`` where the uniform draw is not below ``p``."""
    _validate_p(p)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(x)
    rng = xp.random.default_rng(seed)
    draws = rng.random(x.shape)
    return ~(draws < p)


def dropout_forward(x: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout forward: ``x * mask / (1 - p)`` in training, a copy of ``x`` in eval."""
    _validate_p(p)
    if not training:
        return x.copy()
    _validate_mask(mask, x)
    return _inverted_dropout(x, p, mask)


def dropout_backward(dout: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout backward: ``dout * mask / (1 - p)`` in training, a copy in eval."""
    _validate_p(p)
    if not training:
        return dout.copy()
    _validate_mask(mask, dout)
    return _inverted_dropout(dout, p, mask)


def sgd_step_with_weight_decay(w: Array, dw: Array, lr: float, weight_decay: float) -> Array:
    """SGD with coupled weight decay: ``w - lr * dw - lr * weight_decay * w``."""
    _validate_step(w, dw, lr, weight_decay)
    xp = get_array_module(w, dw)
    w64 = w.astype(xp.float64)
    w_new = w64 - lr * dw.astype(xp.float64)
    w_new = w_new - lr * weight_decay * w64
    return w_new.astype(w.dtype)


def decoupled_weight_decay(w: Array, lr: float, weight_decay: float) -> Array:
    """AdamW's decoupled decay: ``w - lr * weight_decay * w``."""
    _validate_step(w, w, lr, weight_decay)
    xp = get_array_module(w)
    w64 = w.astype(xp.float64)
    return (w64 - (lr * weight_decay) * w64).astype(w.dtype)
