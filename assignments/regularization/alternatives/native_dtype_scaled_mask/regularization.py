"""VARIANT native_dtype_scaled_mask (alternative correct submission, used by the fairness tests).

Regularization: inverted dropout (masks, forward, backward) and weight decay.

How it differs from the reference: everything in the input dtype, written the way the CS231n
dropout notes do, and:

* the mask is drawn with ``rng.random(size=...)`` from the same seeded generator (``p = 0`` and
  ``p = 1`` answered directly with all-``True`` and all-``False`` masks);
* dropout builds a *scaled* mask, ``mask.astype(dtype) / (1 - p)`` with ``1 - p`` rounded to
  the input dtype first (all zeros when ``p = 1``), and multiplies the input by it;
* coupled weight decay with the decay folded into a factor, ``w * (1 - lr * wd) - lr * dw``;
* decoupled weight decay as ``w - (lr * wd) * w`` in the input dtype.
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


def _check_probability(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, int | float) or not (p >= 0 and p <= 1):
        raise ValueError(f"the drop probability p must be in [0, 1], got {p!r}")


def _scaled_mask(mask: Array, p: float, like: Array) -> Array:
    """The keep-mask as numbers: ``1 / (1 - p)`` where kept, 0 where dropped."""
    if mask.dtype != bool or tuple(mask.shape) != tuple(like.shape):
        raise ValueError(
            f"mask must be a boolean array of shape {tuple(like.shape)}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )
    xp = get_array_module(mask, like)
    if p >= 1:  # everything dropped: no division by 1 - p = 0
        return xp.zeros(tuple(like.shape), dtype=like.dtype)
    return mask.astype(like.dtype) / like.dtype.type(1.0 - p)


def _check_update(w: Array, lr: float, weight_decay: float) -> None:
    if not w.dtype.kind == "f":
        raise ValueError(f"w must be a floating-point array, got {w.dtype}")
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")


def dropout_mask(x: Array, p: float, seed: int) -> Array:
    """A keep-mask shaped like ``x``: ``True`` where the uniform draw is at least ``p``."""
    _check_probability(p)
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(x)
    shape = tuple(x.shape)
    if p == 0:
        return xp.ones(shape, dtype=bool)
    if p == 1:
        return xp.zeros(shape, dtype=bool)
    generator = xp.random.default_rng(seed)
    return generator.random(size=shape) >= p


def dropout_forward(x: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout forward: ``x`` times the scaled mask (training), a copy (eval)."""
    _check_probability(p)
    if not training:
        return x.astype(x.dtype, copy=True)
    return x * _scaled_mask(mask, p, x)


def dropout_backward(dout: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout backward: ``dout`` times the scaled mask (training), a copy (eval)."""
    _check_probability(p)
    if not training:
        return dout.astype(dout.dtype, copy=True)
    return dout * _scaled_mask(mask, p, dout)


def sgd_step_with_weight_decay(w: Array, dw: Array, lr: float, weight_decay: float) -> Array:
    """SGD with coupled weight decay, as ``w * (1 - lr * wd) - lr * dw``."""
    _check_update(w, lr, weight_decay)
    if tuple(dw.shape) != tuple(w.shape):
        raise ValueError(f"dw must have the shape of w {tuple(w.shape)}, got {tuple(dw.shape)}")
    dtype = w.dtype
    shrink = dtype.type(1.0 - lr * weight_decay)
    return w * shrink - dtype.type(lr) * dw.astype(dtype, copy=False)


def decoupled_weight_decay(w: Array, lr: float, weight_decay: float) -> Array:
    """AdamW's decoupled decay, as ``w - (lr * wd) * w``."""
    _check_update(w, lr, weight_decay)
    return w - w.dtype.type(lr * weight_decay) * w
