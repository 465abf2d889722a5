"""Optimizers and initialization, alternative submission "native_dtype_cs231n_style".

How this variant differs from the reference (same results up to rounding):

* everything is computed in the dtype of ``w`` (float32 stays float32), with the
  hyperparameters' derived constants (``1 - beta``, bias corrections, ``lr * weight_decay``)
  computed in Python floats first and then cast, rather than in the array's dtype;
* Adam is written as in CS231n: bias-corrected moments ``m_hat = m / (1 - beta1 ** t)`` and
  ``v_hat = v / (1 - beta2 ** t)``, then ``w - lr * m_hat / (sqrt(v_hat) + eps)``
  (``sqrt(v / c) = sqrt(v) / sqrt(c)``, so this is torch's formula);
* Nesterov's step is expanded in the old velocity:
  ``g + momentum * (momentum * velocity + g) = (1 + momentum) * g + momentum ** 2 * velocity``;
* Adagrad and RMSprop multiply by the reciprocal of ``sqrt(.) + eps``; AdamW's decoupled
  decay is written ``w - lr * weight_decay * w``;
* fans come from the total size, ``receptive = prod(shape) // (out * in)``; gains from a dict of
  functions (ReLU as a leaky ReLU of slope 0); uniform draws are ``(u - 0.5) * 2 * bound`` and
  all draws are made directly in float32 for float32 weights (``dtype=`` of the generator).

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


def _validate(w: Array, dw: Array, state: dict, keys: tuple[str, ...], lr: float) -> None:
    if w.dtype.kind != "f":
        raise ValueError("w must be a floating-point array")
    if dw.shape != w.shape:
        raise ValueError(f"shape mismatch: w {w.shape}, dw {dw.shape}")
    if not isinstance(state, dict) or set(state) != set(keys):
        raise ValueError(f"state must be a dict with keys {sorted(keys)}")
    if lr <= 0 or lr != lr:
        raise ValueError(f"lr must be positive, got {lr}")


def _l2_grad(w: Array, dw: Array, weight_decay: float) -> Array:
    grad = dw.astype(w.dtype)  # a copy: dw is never modified
    if weight_decay:
        grad += w.dtype.type(weight_decay) * w
    return grad


def _adam_update(
    w: Array,
    dw: Array,
    state: dict,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    adamw: bool,
) -> tuple[Array, dict]:
    _validate(w, dw, state, ("m", "v", "step"), lr)
    for beta in (beta1, beta2):
        if beta < 0 or beta >= 1:
            raise ValueError(f"betas must lie in [0, 1), got {beta}")
    t = state["step"]
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"state['step'] must be a non-negative int, got {t!r}")
    t = int(t) + 1
    xp = get_array_module(w)
    f = w.dtype.type
    if adamw:
        w = w - f(lr * weight_decay) * w
        grad = dw.astype(w.dtype)
    else:
        grad = _l2_grad(w, dw, weight_decay)
    m_prev = state["m"].astype(w.dtype, copy=False)
    v_prev = state["v"].astype(w.dtype, copy=False)
    m = f(beta1) * m_prev + f(1.0 - beta1) * grad
    v = f(beta2) * v_prev + f(1.0 - beta2) * (grad * grad)
    m_hat = m / f(1.0 - beta1**t)
    v_hat = v / f(1.0 - beta2**t)
    w_new = w - f(lr) * m_hat / (xp.sqrt(v_hat) + f(eps))
    return w_new, {"m": m, "v": v, "step": t}


def _generator(w: Array, seed: int) -> tuple[Any, Any]:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(w)
    draw_dtype = xp.float32 if w.dtype == xp.float32 else xp.float64
    return xp.random.default_rng(seed), draw_dtype


def _uniform_like(w: Array, bound: float, seed: int) -> Array:
    rng, draw_dtype = _generator(w, seed)
    u = rng.random(tuple(w.shape), dtype=draw_dtype)
    return ((u - 0.5) * (2.0 * bound)).astype(w.dtype)


def _normal_like(w: Array, std: float, seed: int) -> Array:
    rng, draw_dtype = _generator(w, seed)
    return (rng.standard_normal(tuple(w.shape), dtype=draw_dtype) * std).astype(w.dtype)


def _pick_fan(w: Array, mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    fans = {"fan_in": fan_in, "fan_out": fan_out}
    if mode not in fans:
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fans[mode]


def _leaky_gain(slope: float) -> float:
    return math.sqrt(2.0 / (1.0 + slope * slope))


_GAIN_FUNCTIONS = {
    "linear": lambda param: 1.0,
    "conv2d": lambda param: 1.0,
    "sigmoid": lambda param: 1.0,
    "tanh": lambda param: 5.0 / 3.0,
    "relu": lambda param: _leaky_gain(0.0),
    "leaky_relu": lambda param: _leaky_gain(0.01 if param is None else float(param)),
}


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
    _validate(w, dw, state, ("velocity",), lr)
    if nesterov and momentum <= 0:
        raise ValueError("Nesterov momentum needs momentum > 0")
    f = w.dtype.type
    grad = _l2_grad(w, dw, weight_decay)
    velocity = state["velocity"].astype(w.dtype, copy=False)
    if momentum == 0:
        return w - f(lr) * grad, {"velocity": velocity.astype(w.dtype, copy=True)}
    v = grad + f(momentum) * velocity
    if nesterov:
        update = f(1.0 + momentum) * grad + f(momentum * momentum) * velocity
    else:
        update = v
    return w - f(lr) * update, {"velocity": v}


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
    _validate(w, dw, state, ("sum_sq",), lr)
    xp = get_array_module(w)
    f = w.dtype.type
    grad = _l2_grad(w, dw, weight_decay)
    cache = state["sum_sq"].astype(w.dtype, copy=False) + grad * grad
    inv_rms = f(1.0) / (xp.sqrt(cache) + f(eps))
    return w - (f(lr) * grad) * inv_rms, {"sum_sq": cache}


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
    _validate(w, dw, state, ("square_avg", "velocity"), lr)
    xp = get_array_module(w)
    f = w.dtype.type
    grad = _l2_grad(w, dw, weight_decay)
    square_avg = state["square_avg"].astype(w.dtype, copy=False)
    cache = f(alpha) * square_avg + f(1.0 - alpha) * xp.square(grad)
    inv_rms = f(1.0) / (xp.sqrt(cache) + f(eps))
    if momentum > 0:
        velocity = f(momentum) * state["velocity"].astype(w.dtype, copy=False) + grad * inv_rms
        w_new = w - f(lr) * velocity
    else:
        velocity = state["velocity"].astype(w.dtype, copy=True)
        w_new = w - (f(lr) * grad) * inv_rms
    return w_new, {"square_avg": cache, "velocity": velocity}


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
    return _adam_update(w, dw, state, lr, beta1, beta2, eps, weight_decay, adamw=False)


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
    return _adam_update(w, dw, state, lr, beta1, beta2, eps, weight_decay, adamw=True)


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
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"need at least 2 dimensions to compute fans, got {shape}")
    num_out, num_in = shape[0], shape[1]
    receptive = math.prod(shape) // (num_out * num_in)
    return num_in * receptive, num_out * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``:
    1 for ``"linear"``, ``"conv2d"`` and ``"sigmoid"``, 5/3 for ``"tanh"``, ``sqrt(2)`` for
    ``"relu"``, ``sqrt(2 / (1 + a ** 2))`` for ``"leaky_relu"`` with slope ``a = param``
    (default 0.01).

    Raises:
        ValueError: for another nonlinearity.
    """
    if nonlinearity not in _GAIN_FUNCTIONS:
        raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")
    return _GAIN_FUNCTIONS[nonlinearity](param)


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
    return _uniform_like(w, gain * math.sqrt(6.0 / (fan_in + fan_out)), seed)


def xavier_normal(w: Array, gain: float = 1.0, seed: int = 0) -> Array:
    """Xavier/Glorot normal initialization (``torch.nn.init.xavier_normal_``): draws from
    ``N(0, std ** 2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Args and returns as ``xavier_uniform``.
    """
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    return _normal_like(w, gain * math.sqrt(2.0 / (fan_in + fan_out)), seed)


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
    fan = _pick_fan(w, mode)
    gain = calculate_gain(nonlinearity, a)
    return _uniform_like(w, gain * math.sqrt(3.0 / fan), seed)


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
    fan = _pick_fan(w, mode)
    gain = calculate_gain(nonlinearity, a)
    return _normal_like(w, gain / math.sqrt(fan), seed)
