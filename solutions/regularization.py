"""Regularization: inverted dropout (masks, forward, backward) and weight decay.

Conventions
-----------
* **Inverted dropout**, as ``torch.nn.functional.dropout``: in training, each value is kept
  with probability ``1 - p`` and zeroed with probability ``p``, and the kept values are scaled
  by ``1 / (1 - p)``, so that the *expected* output equals the input. In evaluation the layer
  is the identity: nothing is dropped and nothing is scaled (this is why the scaling happens
  during training: the network used at test time needs no change).
* The randomness is explicit. ``dropout_mask`` draws a keep-mask from a seed; the forward and
  backward passes take the mask as an argument. So a forward pass and its backward pass use
  the same mask by construction, and a test can replay a pass exactly. A mask is a boolean
  array shaped like ``x``: ``True`` where the value is kept.
* ``p`` is the probability of dropping a value, ``0 <= p <= 1``. ``p = 0`` keeps everything
  (the output equals the input); ``p = 1`` drops everything (the output is all zeros, as in
  PyTorch; do not divide by ``1 - p = 0``).
* **Weight decay** adds ``weight_decay * w`` to the gradient of every weight before the update
  (``torch.optim.SGD(weight_decay=...)``), which is the gradient of the L2 penalty
  ``weight_decay / 2 * sum(w ** 2)``. Its *decoupled* form (as in AdamW) shrinks the weights
  directly, ``w -= lr * weight_decay * w``, apart from the gradient step.
* Functions never modify their inputs. Returned float arrays have the dtype of their main input
  (``x``, ``dout`` or ``w``).
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly. That
  includes random numbers: ``xp.random.default_rng(seed)`` gives a generator that draws on
  the device when ``x`` is a CuPy array.
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


# BEGIN SOLUTION
def _check_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p (the probability of dropping a value) must be in [0, 1], got {p!r}")


def _check_mask(mask: Array, shape: tuple[int, ...]) -> None:
    if mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array, got dtype {mask.dtype}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"mask must have shape {tuple(shape)}, got {tuple(mask.shape)}")


def _keep_scale(p: float, dtype: Any) -> Any:
    """``1 / (1 - p)`` in ``dtype``; 0 when everything is dropped (``p = 1``)."""
    return dtype.type(0.0 if p == 1.0 else 1.0 / (1.0 - p))


def _masked(values: Array, p: float, mask: Array) -> Array:
    xp = get_array_module(values, mask)
    scale = _keep_scale(p, values.dtype)
    return xp.where(mask, values * scale, values.dtype.type(0.0)).astype(values.dtype, copy=False)


# END SOLUTION


def dropout_mask(x: Array, p: float, seed: int) -> Array:
    """Draw a dropout keep-mask shaped like ``x``.

    Each entry is kept (``True``) with probability ``1 - p``, independently of the others. Use
    the generator of ``x``'s array module, seeded with ``seed``:
    ``xp.random.default_rng(seed)``, and compare uniform draws in ``[0, 1)`` with ``p``: an
    entry is kept when its draw is at least ``p``.

    The same ``seed`` must give the same mask (a forward pass can be replayed); different seeds
    give independent masks. The values themselves depend on the generator (NumPy's and CuPy's
    differ), so masks are graded by their statistics: the fraction kept, and independence
    between seeds and between entries.

    Args:
        x: the array the mask is for (its shape and array module matter, not its values).
        p: probability of dropping an entry, ``0 <= p <= 1``.
        seed: a non-negative int seeding the generator.

    Returns:
        A boolean array shaped like ``x``, in ``x``'s array module: ``True`` = kept. ``p = 0``
        keeps everything, ``p = 1`` drops everything.

    Raises:
        ValueError: if ``p`` is not in ``[0, 1]``, or ``seed`` is not a non-negative int.
    """
    # BEGIN SOLUTION
    _check_p(p)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(x)
    draws = xp.random.default_rng(seed).random(tuple(x.shape))
    return draws >= p
    # END SOLUTION


def dropout_forward(x: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout forward pass.

    Args:
        x: input of any shape, floating-point.
        p: probability of dropping a value, ``0 <= p <= 1``.
        mask: boolean keep-mask shaped like ``x`` (``True`` = kept), e.g. from
            ``dropout_mask``. Ignored in evaluation.
        training: training mode (drop and scale) or evaluation mode (identity).

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``. Training:
        ``out = x * mask / (1 - p)`` (all zeros when ``p = 1``). Evaluation: ``x`` unchanged
        (``x`` itself or a copy: no function of the kit writes to its inputs).

    Raises:
        ValueError: if ``p`` is not in ``[0, 1]``, or in training if ``mask`` is not a boolean
            array shaped like ``x``.
    """
    # BEGIN SOLUTION
    _check_p(p)
    if not training:
        return x.copy()
    _check_mask(mask, x.shape)
    return _masked(x, p, mask)
    # END SOLUTION


def dropout_backward(dout: Array, p: float, mask: Array, training: bool = True) -> Array:
    """Inverted dropout backward pass.

    Args:
        dout: upstream gradient, shaped like the forward input.
        p: the ``p`` of the forward pass.
        mask: the mask of the forward pass.
        training: the mode of the forward pass.

    Returns:
        ``dx`` shaped like ``dout``, dtype of ``dout``: ``dout * mask / (1 - p)`` in training
        (zeros when ``p = 1``), ``dout`` unchanged in evaluation (itself or a copy).

    Raises:
        ValueError: as ``dropout_forward``.
    """
    # BEGIN SOLUTION
    _check_p(p)
    if not training:
        return dout.copy()
    _check_mask(mask, dout.shape)
    return _masked(dout, p, mask)
    # END SOLUTION


def sgd_step_with_weight_decay(w: Array, dw: Array, lr: float, weight_decay: float) -> Array:
    """One SGD step with (coupled, L2) weight decay, as ``torch.optim.SGD(lr=lr,
    weight_decay=weight_decay)`` without momentum.

    The decay term is added to the gradient: ``w_new = w - lr * (dw + weight_decay * w)``.

    Args:
        w: weights, any shape, floating-point.
        dw: gradient of the loss with respect to ``w``, shaped like ``w``.
        lr: learning rate, ``> 0``.
        weight_decay: decay coefficient, ``>= 0``.

    Returns:
        ``w_new`` shaped like ``w``, dtype of ``w``.

    Raises:
        ValueError: if ``dw`` is not shaped like ``w``, ``lr <= 0`` or ``weight_decay < 0``.
    """
    # BEGIN SOLUTION
    _check_update(w, dw, lr, weight_decay)
    dtype = w.dtype
    step = dw.astype(dtype, copy=False) + dtype.type(weight_decay) * w
    return (w - dtype.type(lr) * step).astype(dtype, copy=False)
    # END SOLUTION


def decoupled_weight_decay(w: Array, lr: float, weight_decay: float) -> Array:
    """The decoupled weight-decay step of AdamW (applied before the optimizer's own step):
    ``w_new = w * (1 - lr * weight_decay)``.

    Args:
        w: weights, any shape, floating-point.
        lr: learning rate, ``> 0``.
        weight_decay: decay coefficient, ``>= 0``.

    Returns:
        ``w_new`` shaped like ``w``, dtype of ``w``.

    Raises:
        ValueError: if ``lr <= 0`` or ``weight_decay < 0``.
    """
    # BEGIN SOLUTION
    _check_update(w, w, lr, weight_decay)
    dtype = w.dtype
    return (w * dtype.type(1.0 - lr * weight_decay)).astype(dtype, copy=False)
    # END SOLUTION


# BEGIN SOLUTION
def _check_update(w: Array, dw: Array, lr: float, weight_decay: float) -> None:
    if w.dtype.kind != "f":
        raise ValueError(f"w must be a floating-point array, got dtype {w.dtype}")
    if tuple(dw.shape) != tuple(w.shape):
        raise ValueError(f"dw must have the shape of w {tuple(w.shape)}, got {tuple(dw.shape)}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")


# END SOLUTION
