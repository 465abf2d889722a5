"""Optimizers as pure update functions, and weight initialization.

Conventions
-----------
* **Optimizers** are pure functions of one parameter array: ``step(w, dw, state, ...)``
  returns ``(w_new, state_new)`` and modifies nothing. ``state`` is a dict of what the
  optimizer carries from one step to the next; the first step gets the initial state below
  (arrays of zeros shaped like ``w``, counters at 0), and each later step gets the state the
  previous one returned. The semantics, step by step, are those of ``torch.optim``: ``SGD``
  (with ``momentum``, ``nesterov``), ``Adagrad``, ``RMSprop``, ``Adam`` and ``AdamW``, with
  their defaults for the options not listed.

  ============  ==========================================================  ================
  optimizer     state keys (initial value)                                  torch.optim
  ============  ==========================================================  ================
  ``sgd``       ``"velocity"`` (zeros)                                      ``SGD``
  ``adagrad``   ``"sum_sq"`` (zeros)                                        ``Adagrad``
  ``rmsprop``   ``"square_avg"`` (zeros), ``"velocity"`` (zeros)            ``RMSprop``
  ``adam``      ``"m"`` (zeros), ``"v"`` (zeros), ``"step"`` (0)            ``Adam``
  ``adamw``     ``"m"`` (zeros), ``"v"`` (zeros), ``"step"`` (0)            ``AdamW``
  ============  ==========================================================  ================

  Return a new state dict with the same keys (new arrays, the step as an int).
* ``weight_decay`` is added to the gradient (``g = dw + weight_decay * w``) in every optimizer
  but AdamW, whose decay is decoupled: ``w = w * (1 - lr * weight_decay)`` before its update.
* **Initialization** functions draw new weights shaped like a given array ``w`` (only its
  shape, dtype and array module are used; its values are ignored), from
  ``xp.random.default_rng(seed)``. They follow ``torch.nn.init``: fans are computed as
  ``torch.nn.init._calculate_fan_in_and_fan_out`` does (for a conv weight
  ``(F, C, KH, KW)``: ``fan_in = C * KH * KW``, ``fan_out = F * KH * KW``; for a linear
  weight ``(out, in)``: ``fan_in = in``, ``fan_out = out``), gains as ``calculate_gain``.
  Random draws cannot match PyTorch's number for number, so initializers are graded by their
  statistics (mean, standard deviation, bounds, shape of the distribution) on large arrays.
* Every returned array has the dtype of ``w``.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def sgd(
    w: Array,
    dw: Array,
    state: dict,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> tuple[Array, dict]:
    """One step of SGD, with optional (Nesterov) momentum (``torch.optim.SGD``, dampening 0).

    With ``g = dw + weight_decay * w``:

    * ``momentum == 0``: ``w_new = w - lr * g``; the velocity is returned unchanged.
    * otherwise ``v = momentum * velocity + g`` (on the first step ``velocity`` is zeros, so
      ``v = g``, as PyTorch's first buffer), and ``w_new = w - lr * v``, or with ``nesterov``
      ``w_new = w - lr * (g + momentum * v)``.

    Args:
        w: parameters, any shape, floating-point.
        dw: gradient of the loss with respect to ``w``.
        state: ``{"velocity": array shaped like w}``.
        lr: learning rate, ``> 0``.
        momentum: in ``[0, 1)``.
        nesterov: use Nesterov momentum (needs ``momentum > 0``).
        weight_decay: L2 coefficient, ``>= 0``.

    Returns:
        ``(w_new, {"velocity": v})``.

    Raises:
        ValueError: if shapes or state keys are wrong, ``lr <= 0``, or ``nesterov`` is asked
            without momentum.
    """
    raise NotImplementedError("sgd is not implemented yet")


def adagrad(
    w: Array,
    dw: Array,
    state: dict,
    lr: float = 0.01,
    eps: float = 1e-10,
    weight_decay: float = 0.0,
) -> tuple[Array, dict]:
    """One step of Adagrad (``torch.optim.Adagrad``):

    ``sum_sq += g ** 2``, ``w_new = w - lr * g / (sqrt(sum_sq) + eps)`` with
    ``g = dw + weight_decay * w``.

    Args:
        w, dw: parameters and gradient.
        state: ``{"sum_sq": array shaped like w}``.
        lr: learning rate, ``> 0``.
        eps: added to the square root (outside it).
        weight_decay: L2 coefficient, ``>= 0``.

    Returns:
        ``(w_new, {"sum_sq": new_sum_sq})``.

    Raises:
        ValueError: if shapes or state keys are wrong, or ``lr <= 0``.
    """
    raise NotImplementedError("adagrad is not implemented yet")


def rmsprop(
    w: Array,
    dw: Array,
    state: dict,
    lr: float = 0.01,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> tuple[Array, dict]:
    """One step of RMSprop (``torch.optim.RMSprop``, not centered):

    ``square_avg = alpha * square_avg + (1 - alpha) * g ** 2``,
    ``d = g / (sqrt(square_avg) + eps)``; without momentum ``w_new = w - lr * d``; with it
    ``velocity = momentum * velocity + d`` and ``w_new = w - lr * velocity``.
    ``g = dw + weight_decay * w``.

    Args:
        w, dw: parameters and gradient.
        state: ``{"square_avg": ..., "velocity": ...}``, arrays shaped like ``w``.
        lr: learning rate, ``> 0``.
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the square root (outside it).
        momentum: ``>= 0``.
        weight_decay: L2 coefficient, ``>= 0``.

    Returns:
        ``(w_new, {"square_avg": ..., "velocity": ...})`` (the velocity unchanged without
        momentum).

    Raises:
        ValueError: if shapes or state keys are wrong, or ``lr <= 0``.
    """
    raise NotImplementedError("rmsprop is not implemented yet")


def adam(
    w: Array,
    dw: Array,
    state: dict,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Array, dict]:
    """One step of Adam (``torch.optim.Adam``), with bias correction:

    ``t = step + 1``, ``m = beta1 * m + (1 - beta1) * g``,
    ``v = beta2 * v + (1 - beta2) * g ** 2``,
    ``w_new = w - lr / (1 - beta1 ** t) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)``,
    with ``g = dw + weight_decay * w`` (coupled L2, as ``Adam``'s ``weight_decay``).

    Without the bias correction, the first steps would be far too small: ``m`` and ``v`` start
    at zero, so early on they underestimate the gradient's moments by the factors
    ``1 - beta ** t``.

    Args:
        w, dw: parameters and gradient.
        state: ``{"m": array, "v": array, "step": int}`` (zeros and 0 on the first step).
        lr: learning rate, ``> 0``.
        beta1, beta2: decay rates of the moment averages, in ``[0, 1)``.
        eps: added to the (corrected) square root.
        weight_decay: L2 coefficient, ``>= 0``.

    Returns:
        ``(w_new, {"m": m, "v": v, "step": t})``.

    Raises:
        ValueError: if shapes or state keys are wrong, ``lr <= 0``, or a beta is outside
            ``[0, 1)``.
    """
    raise NotImplementedError("adam is not implemented yet")


def adamw(
    w: Array,
    dw: Array,
    state: dict,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[Array, dict]:
    """One step of AdamW (``torch.optim.AdamW``): Adam on ``g = dw`` after the decoupled decay
    ``w = w * (1 - lr * weight_decay)``. Same state and arguments as ``adam`` (note the default
    ``weight_decay=1e-2``, as PyTorch's).

    Returns:
        ``(w_new, {"m": m, "v": v, "step": t})``.
    """
    raise NotImplementedError("adamw is not implemented yet")


# ======================================================================== initialization


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """The fans of a weight of ``shape``, as ``torch.nn.init._calculate_fan_in_and_fan_out``.

    ``shape`` is ``(out, in, *kernel)``: ``fan_in = in * prod(kernel)`` and
    ``fan_out = out * prod(kernel)``; a linear weight ``(out, in)`` has no kernel axes.

    Args:
        shape: a tuple of at least 2 positive ints.

    Returns:
        ``(fan_in, fan_out)``, ints.

    Raises:
        ValueError: for fewer than 2 dimensions (fans are not defined).
    """
    raise NotImplementedError("fan_in_and_fan_out is not implemented yet")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``:
    1 for ``"linear"``, ``"conv2d"`` and ``"sigmoid"``, 5/3 for ``"tanh"``, ``sqrt(2)`` for
    ``"relu"``, ``sqrt(2 / (1 + a ** 2))`` for ``"leaky_relu"`` with slope ``a = param``
    (default 0.01).

    Raises:
        ValueError: for another nonlinearity.
    """
    raise NotImplementedError("calculate_gain is not implemented yet")


def xavier_uniform(w: Array, gain: float = 1.0, seed: int = 0) -> Array:
    """Xavier/Glorot uniform initialization (``torch.nn.init.xavier_uniform_``): draws from
    ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Args:
        w: array giving the shape (at least 2-D), dtype and array module of the new weights.
        gain: scale factor (``calculate_gain``).
        seed: seeds ``xp.random.default_rng``.

    Returns:
        New weights shaped like ``w``, dtype of ``w``.
    """
    raise NotImplementedError("xavier_uniform is not implemented yet")


def xavier_normal(w: Array, gain: float = 1.0, seed: int = 0) -> Array:
    """Xavier/Glorot normal initialization (``torch.nn.init.xavier_normal_``): draws from
    ``N(0, std ** 2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Args and returns as ``xavier_uniform``.
    """
    raise NotImplementedError("xavier_normal is not implemented yet")


def kaiming_uniform(
    w: Array,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: int = 0,
) -> Array:
    """He/Kaiming uniform initialization (``torch.nn.init.kaiming_uniform_``): draws from
    ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``
    and ``fan`` the fan-in (``mode="fan_in"``, preserves the forward pass's variance) or the
    fan-out (``mode="fan_out"``, preserves the backward pass's).

    Args:
        w: array giving the shape (at least 2-D), dtype and array module of the new weights.
        a: negative slope of the leaky ReLU that follows (used by ``"leaky_relu"`` only).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: as ``calculate_gain`` (default ``"leaky_relu"`` with ``a = 0``:
            ``gain = sqrt(2)``, PyTorch's default).
        seed: seeds ``xp.random.default_rng``.

    Returns:
        New weights shaped like ``w``, dtype of ``w``.

    Raises:
        ValueError: for another ``mode`` or an unsupported nonlinearity.
    """
    raise NotImplementedError("kaiming_uniform is not implemented yet")


def kaiming_normal(
    w: Array,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: int = 0,
) -> Array:
    """He/Kaiming normal initialization (``torch.nn.init.kaiming_normal_``): draws from
    ``N(0, std ** 2)`` with ``std = gain / sqrt(fan)``. Arguments as ``kaiming_uniform``.
    """
    raise NotImplementedError("kaiming_normal is not implemented yet")
