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


# BEGIN SOLUTION
def _check_step(w: Array, dw: Array, state: dict, keys: tuple[str, ...], lr: float) -> None:
    if w.dtype.kind != "f":
        raise ValueError(f"w must be a floating-point array, got dtype {w.dtype}")
    if tuple(dw.shape) != tuple(w.shape):
        raise ValueError(f"dw must have the shape of w {tuple(w.shape)}, got {tuple(dw.shape)}")
    if not isinstance(state, dict) or set(state) != set(keys):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"state must be a dict with the keys {sorted(keys)}, got {got}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")


def _decayed_gradient(w: Array, dw: Array, weight_decay: float) -> Array:
    g = dw.astype(w.dtype, copy=False)
    if weight_decay:
        g = g + w.dtype.type(weight_decay) * w
    return g


# END SOLUTION


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
    # BEGIN SOLUTION
    _check_step(w, dw, state, ("velocity",), lr)
    if nesterov and momentum <= 0:
        raise ValueError("Nesterov momentum requires momentum > 0")
    dtype = w.dtype
    g = _decayed_gradient(w, dw, weight_decay)
    if momentum == 0:
        return (w - dtype.type(lr) * g).astype(dtype, copy=False), {
            "velocity": state["velocity"].astype(dtype, copy=True)
        }
    v = dtype.type(momentum) * state["velocity"].astype(dtype, copy=False) + g
    step = g + dtype.type(momentum) * v if nesterov else v
    return (w - dtype.type(lr) * step).astype(dtype, copy=False), {"velocity": v}
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_step(w, dw, state, ("sum_sq",), lr)
    xp = get_array_module(w)
    dtype = w.dtype
    g = _decayed_gradient(w, dw, weight_decay)
    sum_sq = state["sum_sq"].astype(dtype, copy=False) + g * g
    w_new = w - dtype.type(lr) * g / (xp.sqrt(sum_sq) + dtype.type(eps))
    return w_new.astype(dtype, copy=False), {"sum_sq": sum_sq}
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_step(w, dw, state, ("square_avg", "velocity"), lr)
    xp = get_array_module(w)
    dtype = w.dtype
    g = _decayed_gradient(w, dw, weight_decay)
    a = dtype.type(alpha)
    square_avg = a * state["square_avg"].astype(dtype, copy=False) + (dtype.type(1.0) - a) * g * g
    d = g / (xp.sqrt(square_avg) + dtype.type(eps))
    velocity = state["velocity"].astype(dtype, copy=True)
    if momentum > 0:
        velocity = dtype.type(momentum) * velocity + d
        d = velocity
    w_new = w - dtype.type(lr) * d
    return w_new.astype(dtype, copy=False), {"square_avg": square_avg, "velocity": velocity}
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _adam(w, dw, state, lr, beta1, beta2, eps, weight_decay, decoupled=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _adam(w, dw, state, lr, beta1, beta2, eps, weight_decay, decoupled=True)
    # END SOLUTION


# BEGIN SOLUTION
def _adam(
    w: Array,
    dw: Array,
    state: dict,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: bool,
) -> tuple[Array, dict]:
    _check_step(w, dw, state, ("m", "v", "step"), lr)
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
        raise ValueError(f"state['step'] must be a non-negative int, got {step!r}")
    xp = get_array_module(w)
    dtype = w.dtype
    one = dtype.type(1.0)
    if decoupled:
        w = w * dtype.type(1.0 - lr * weight_decay)
        g = dw.astype(dtype, copy=False)
    else:
        g = _decayed_gradient(w, dw, weight_decay)
    t = int(step) + 1
    b1, b2 = dtype.type(beta1), dtype.type(beta2)
    m = b1 * state["m"].astype(dtype, copy=False) + (one - b1) * g
    v = b2 * state["v"].astype(dtype, copy=False) + (one - b2) * g * g
    step_size = dtype.type(lr / (1.0 - beta1**t))
    denom = xp.sqrt(v) / dtype.type(math.sqrt(1.0 - beta2**t)) + dtype.type(eps)
    w_new = w - step_size * m / denom
    return w_new.astype(dtype, copy=False), {"m": m, "v": v, "step": t}


GAINS = {"linear": 1.0, "conv2d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


# END SOLUTION


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
    # BEGIN SOLUTION
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(
            f"fans need a weight with at least 2 dimensions (out, in, *kernel), got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive
    # END SOLUTION


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``:
    1 for ``"linear"``, ``"conv2d"`` and ``"sigmoid"``, 5/3 for ``"tanh"``, ``sqrt(2)`` for
    ``"relu"``, ``sqrt(2 / (1 + a ** 2))`` for ``"leaky_relu"`` with slope ``a = param``
    (default 0.01).

    Raises:
        ValueError: for another nonlinearity.
    """
    # BEGIN SOLUTION
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity not in GAINS:
        raise ValueError(
            f"unsupported nonlinearity {nonlinearity!r}; expected one of "
            f"{sorted([*GAINS, 'leaky_relu'])}"
        )
    return GAINS[nonlinearity]
    # END SOLUTION


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
    # BEGIN SOLUTION
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(w, bound, seed)
    # END SOLUTION


def xavier_normal(w: Array, gain: float = 1.0, seed: int = 0) -> Array:
    """Xavier/Glorot normal initialization (``torch.nn.init.xavier_normal_``): draws from
    ``N(0, std ** 2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Args and returns as ``xavier_uniform``.
    """
    # BEGIN SOLUTION
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    return _normal(w, gain * math.sqrt(2.0 / (fan_in + fan_out)), seed)
    # END SOLUTION


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
    # BEGIN SOLUTION
    std = _kaiming_std(w, a, mode, nonlinearity)
    return _uniform(w, math.sqrt(3.0) * std, seed)
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _normal(w, _kaiming_std(w, a, mode, nonlinearity), seed)
    # END SOLUTION


# BEGIN SOLUTION
def _kaiming_std(w: Array, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _uniform(w: Array, bound: float, seed: int) -> Array:
    _check_seed(seed)
    xp = get_array_module(w)
    draws = xp.random.default_rng(seed).random(tuple(w.shape))
    return ((draws * 2.0 - 1.0) * bound).astype(w.dtype)


def _normal(w: Array, std: float, seed: int) -> Array:
    _check_seed(seed)
    xp = get_array_module(w)
    return (xp.random.default_rng(seed).standard_normal(tuple(w.shape)) * std).astype(w.dtype)


# END SOLUTION
