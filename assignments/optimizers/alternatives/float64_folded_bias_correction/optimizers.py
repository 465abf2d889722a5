"""Optimizers and initialization, alternative submission "float64_folded_bias_correction".

How this variant differs from the reference (same results up to rounding):

* every optimizer upcasts ``w``, ``dw`` and the state to float64, computes the whole step in
  float64, and casts the new parameters and state back to the dtype of ``w`` at the end;
* moving averages (Adam's ``m`` and ``v``, RMSprop's square average) are linear
  interpolations computed as ``torch.lerp`` does, ``a + w * (b - a)`` for a weight
  ``w = 1 - beta < 0.5`` and ``b - (1 - w) * (b - a)`` otherwise, instead of
  ``beta * a + (1 - beta) * b``;
* Adam folds both bias corrections into the step size, as in the Adam paper's efficient
  version: ``alpha_t = lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)`` and
  ``w_new = w - alpha_t * m / (sqrt(v) + eps * sqrt(1 - beta2 ** t))``. The eps is rescaled
  by ``sqrt(1 - beta2 ** t)`` so that the step is algebraically equal to torch's
  ``lr / (1 - beta1 ** t) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)``;
* Nesterov's update is expanded, ``w - lr * g - lr * momentum * v``;
* fans are computed with a loop over the kernel axes, gains with an if-chain, Xavier bounds
  from the standard deviation (``sqrt(3) * std``), uniform draws as ``low + (high - low) * u``,
  normal draws by the Box-Muller transform of uniform draws (the same generator,
  ``xp.random.default_rng(seed)``, so the same seed replays the same weights).

State keys, dtypes, seeds and the array module are those of the assignment's template.
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


def _check_args(w: Array, dw: Array, state: dict, keys: tuple[str, ...], lr: float) -> None:
    """The argument checks every optimizer shares."""
    if w.dtype.kind != "f":
        raise ValueError(f"w must be a floating-point array, got {w.dtype}")
    if tuple(dw.shape) != tuple(w.shape):
        raise ValueError(f"dw has shape {tuple(dw.shape)} but w has shape {tuple(w.shape)}")
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict, got {type(state).__name__}")
    if sorted(state.keys()) != sorted(keys):
        raise ValueError(f"state must have the keys {sorted(keys)}, got {sorted(state.keys())}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")


def _grad64(xp: Any, w64: Array, dw: Array, weight_decay: float) -> Array:
    """g = dw + weight_decay * w, in float64."""
    g = dw.astype(xp.float64)
    if weight_decay != 0:
        g = g + weight_decay * w64
    return g


def _lerp(start: Array, end: Array, weight: float) -> Array:
    """start + weight * (end - start), in the numerically safe form torch.lerp uses."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (1.0 - weight) * (end - start)


def _adam_step(
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
    _check_args(w, dw, state, ("m", "v", "step"), lr)
    if not (0.0 <= beta1 < 1.0) or not (0.0 <= beta2 < 1.0):
        raise ValueError(f"betas must be in [0, 1), got {beta1}, {beta2}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"state['step'] must be a non-negative int, got {step!r}")
    xp = get_array_module(w)
    w64 = w.astype(xp.float64)
    if decoupled:
        w64 = w64 * (1.0 - lr * weight_decay)  # AdamW: decay the weights, not the gradient
        g = dw.astype(xp.float64)
    else:
        g = _grad64(xp, w64, dw, weight_decay)
    t = int(step) + 1
    m = state["m"].astype(xp.float64)
    v = state["v"].astype(xp.float64)
    m = _lerp(m, g, 1.0 - beta1)
    v = _lerp(v, g * g, 1.0 - beta2)
    correction1 = 1.0 - beta1**t
    correction2 = math.sqrt(1.0 - beta2**t)
    alpha_t = lr * correction2 / correction1
    w64 = w64 - alpha_t * m / (xp.sqrt(v) + eps * correction2)
    dtype = w.dtype
    return w64.astype(dtype), {"m": m.astype(dtype), "v": v.astype(dtype), "step": t}


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _draw_uniform(w: Array, bound: float, seed: int) -> Array:
    """U(-bound, bound) shaped like w, as low + (high - low) * u."""
    _check_seed(seed)
    xp = get_array_module(w)
    u = xp.random.default_rng(seed).random(tuple(w.shape))
    return (-bound + (2.0 * bound) * u).astype(w.dtype)


def _draw_normal(w: Array, std: float, seed: int) -> Array:
    """N(0, std ** 2) shaped like w, by the Box-Muller transform of two uniform draws."""
    _check_seed(seed)
    xp = get_array_module(w)
    u = xp.random.default_rng(seed).random((2, *tuple(w.shape)))
    radius = xp.sqrt(-2.0 * xp.log1p(-u[0]))  # 1 - u is in (0, 1]: the log is finite
    z = radius * xp.cos(2.0 * math.pi * u[1])
    return (std * z).astype(w.dtype)


def _kaiming_fan(shape: tuple[int, ...], mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


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
    _check_args(w, dw, state, ("velocity",), lr)
    if nesterov and not momentum > 0:
        raise ValueError("nesterov=True needs momentum > 0")
    xp = get_array_module(w)
    dtype = w.dtype
    w64 = w.astype(xp.float64)
    g = _grad64(xp, w64, dw, weight_decay)
    if momentum == 0:
        w64 = w64 - lr * g
        return w64.astype(dtype), {"velocity": state["velocity"].astype(dtype, copy=True)}
    v = momentum * state["velocity"].astype(xp.float64) + g
    if nesterov:
        w64 = w64 - lr * g - (lr * momentum) * v
    else:
        w64 = w64 - lr * v
    return w64.astype(dtype), {"velocity": v.astype(dtype)}


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
    _check_args(w, dw, state, ("sum_sq",), lr)
    xp = get_array_module(w)
    w64 = w.astype(xp.float64)
    g = _grad64(xp, w64, dw, weight_decay)
    sum_sq = state["sum_sq"].astype(xp.float64) + g**2
    w64 = w64 - lr * (g / (xp.sqrt(sum_sq) + eps))
    return w64.astype(w.dtype), {"sum_sq": sum_sq.astype(w.dtype)}


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
    _check_args(w, dw, state, ("square_avg", "velocity"), lr)
    xp = get_array_module(w)
    dtype = w.dtype
    w64 = w.astype(xp.float64)
    g = _grad64(xp, w64, dw, weight_decay)
    square_avg = state["square_avg"].astype(xp.float64)
    square_avg = _lerp(square_avg, g * g, 1.0 - alpha)
    d = g / (xp.sqrt(square_avg) + eps)
    if momentum > 0:
        velocity = momentum * state["velocity"].astype(xp.float64) + d
        w64 = w64 - lr * velocity
        velocity = velocity.astype(dtype)
    else:
        w64 = w64 - lr * d
        velocity = state["velocity"].astype(dtype, copy=True)
    return w64.astype(dtype), {"square_avg": square_avg.astype(dtype), "velocity": velocity}


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
    return _adam_step(w, dw, state, lr, beta1, beta2, eps, weight_decay, decoupled=False)


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
    return _adam_step(w, dw, state, lr, beta1, beta2, eps, weight_decay, decoupled=True)


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
    dims = [int(d) for d in shape]
    if len(dims) < 2:
        raise ValueError(f"fans are not defined for fewer than 2 dimensions, got shape {shape}")
    receptive_field = 1
    for k in dims[2:]:
        receptive_field *= k
    fan_in = dims[1] * receptive_field
    fan_out = dims[0] * receptive_field
    return fan_in, fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``:
    1 for ``"linear"``, ``"conv2d"`` and ``"sigmoid"``, 5/3 for ``"tanh"``, ``sqrt(2)`` for
    ``"relu"``, ``sqrt(2 / (1 + a ** 2))`` for ``"leaky_relu"`` with slope ``a = param``
    (default 0.01).

    Raises:
        ValueError: for another nonlinearity.
    """
    if nonlinearity == "linear" or nonlinearity == "conv2d" or nonlinearity == "sigmoid":
        return 1.0
    elif nonlinearity == "tanh":
        return 5.0 / 3
    elif nonlinearity == "relu":
        return math.sqrt(2.0)
    elif nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        else:
            negative_slope = float(param)
        return math.sqrt(2.0 / (1 + negative_slope**2))
    else:
        raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


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
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _draw_uniform(w, math.sqrt(3.0) * std, seed)


def xavier_normal(w: Array, gain: float = 1.0, seed: int = 0) -> Array:
    """Xavier/Glorot normal initialization (``torch.nn.init.xavier_normal_``): draws from
    ``N(0, std ** 2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Args and returns as ``xavier_uniform``.
    """
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _draw_normal(w, std, seed)


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
    fan = _kaiming_fan(w.shape, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _draw_uniform(w, math.sqrt(3.0) * std, seed)


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
    fan = _kaiming_fan(w.shape, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _draw_normal(w, std, seed)
