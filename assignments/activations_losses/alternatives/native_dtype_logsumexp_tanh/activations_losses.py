"""VARIANT native_dtype_logsumexp_tanh (alternative correct submission, used by the fairness tests).

Activation functions and loss functions, each with its gradient.

How it differs from the reference: everything is computed in the input dtype (no upcast),
with other stable identities than the reference's:

* ReLU and its backward by copying and zeroing through a boolean mask; leaky ReLU as
  ``max(x, 0) + slope * min(x, 0)``;
* the sigmoid as ``0.5 * (1 + tanh(x / 2))`` and its derivative as
  ``0.25 * (1 - t) * (1 + t)`` with ``t = tanh(x / 2)``;
* tanh as ``sign(x) * -expm1(-2|x|) / (1 + exp(-2|x|))`` and its derivative as
  ``4 e / (1 + e)**2`` with ``e = exp(-2|x|)``;
* softmax as ``e * (1 / sum(e))`` after subtracting the maximum; its backward with ``einsum``
  over the softmax axis moved last;
* cross-entropy as ``sum(q * (log(sum(exp(z - m))) - (z - m))) / N`` with the smoothed target
  distribution ``q`` built from rows of an identity matrix;
* the hinge loss from ``scores - correct`` (zero at the label), without indexing;
* the binary focal loss through log-sigmoids, ``log p = min(x, 0) - log1p(exp(-|x|))``, with the
  modulator's derivative as ``gamma * away**gamma * (daway / away)``;
* the multiclass focal loss with ``1 - p_y`` as the sum of the other classes' probabilities;
* the distillation loss by boolean indexing of the entries where the teacher's ``q > 0``;
* the penalties through ``vdot`` and a split into positive and negative weights.
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


# ======================================================================== helpers


def _float_input(a: Array, name: str = "x") -> None:
    if not a.dtype.kind == "f":
        raise ValueError(f"{name}: expected a floating-point array, got {a.dtype}")


def _same_shape(a: Array, like: Array, name: str = "dout") -> None:
    if tuple(a.shape) != tuple(like.shape):
        raise ValueError(f"{name}: expected shape {tuple(like.shape)}, got {tuple(a.shape)}")


def _labels(logits: Array, y: Array) -> tuple[int, int]:
    """Validate ``(N, K)`` logits and ``(N,)`` labels; return ``(N, K)``."""
    _float_input(logits, "logits")
    if len(logits.shape) != 2:
        raise ValueError(f"logits: expected (N, K), got shape {tuple(logits.shape)}")
    n, k = int(logits.shape[0]), int(logits.shape[1])
    if n == 0:
        raise ValueError("logits: the batch is empty")
    if y.dtype.kind not in ("i", "u") or len(y.shape) != 1 or int(y.shape[0]) != n:
        raise ValueError(f"y: expected ({n},) integer labels, got {y.dtype} {tuple(y.shape)}")
    xp = get_array_module(y)
    if not bool(xp.all((y >= 0) & (y < k))):
        raise ValueError(f"y: labels must be in 0 .. {k - 1}")
    return n, k


def _regression(pred: Array, target: Array) -> None:
    _float_input(pred, "pred")
    _same_shape(target, pred, "target")
    if pred.size == 0:
        raise ValueError("pred: empty array")


def _c(dtype: Any, value: float) -> Any:
    """A constant in ``dtype`` (keeps float32 computations in float32)."""
    return dtype.type(value)


def _sigmoid(x: Array) -> Array:
    xp = get_array_module(x)
    half = _c(x.dtype, 0.5)
    return half * (_c(x.dtype, 1.0) + xp.tanh(half * x))


def _neg_log_softmax(z: Array, axis: int = -1) -> Array:
    """``-log softmax(z)`` as ``log(sum(exp(z - m))) - (z - m)``."""
    xp = get_array_module(z)
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    return xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True)) - shifted


# ======================================================================== activations


def relu_forward(x: Array) -> Array:
    """ReLU: ``out = max(x, 0)``."""
    _float_input(x)
    out = x.copy()
    out[x < 0] = 0
    return out


def relu_backward(dout: Array, x: Array) -> Array:
    """ReLU backward: ``dx = dout`` where ``x > 0``, else 0."""
    _float_input(x)
    _same_shape(dout, x)
    dx = dout.astype(x.dtype, copy=True)
    dx[x <= 0] = 0
    return dx


def leaky_relu_forward(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: ``max(x, 0) + negative_slope * min(x, 0)``."""
    _float_input(x)
    xp = get_array_module(x)
    zero = _c(x.dtype, 0.0)
    return xp.maximum(x, zero) + _c(x.dtype, negative_slope) * xp.minimum(x, zero)


def leaky_relu_backward(dout: Array, x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU backward: ``dout``, scaled by ``negative_slope`` where ``x <= 0``."""
    _float_input(x)
    _same_shape(dout, x)
    dx = dout.astype(x.dtype, copy=True)
    dx[x <= 0] *= _c(x.dtype, negative_slope)
    return dx


def sigmoid_forward(x: Array) -> Array:
    """Logistic sigmoid as ``0.5 * (1 + tanh(x / 2))`` (no ``exp``, nothing can overflow)."""
    _float_input(x)
    return _sigmoid(x)


def sigmoid_backward(dout: Array, x: Array) -> Array:
    """Sigmoid backward: ``s (1 - s) = 0.25 * (1 - t) * (1 + t)`` with ``t = tanh(x / 2)``."""
    _float_input(x)
    _same_shape(dout, x)
    xp = get_array_module(x)
    one = _c(x.dtype, 1.0)
    t = xp.tanh(_c(x.dtype, 0.5) * x)
    return dout.astype(x.dtype, copy=False) * (_c(x.dtype, 0.25) * (one - t) * (one + t))


def tanh_forward(x: Array) -> Array:
    """Tanh as ``sign(x) * (1 - e) / (1 + e)`` with ``e = exp(-2|x|) <= 1``."""
    _float_input(x)
    xp = get_array_module(x)
    e = xp.exp(_c(x.dtype, -2.0) * xp.abs(x))
    return xp.sign(x) * (-xp.expm1(_c(x.dtype, -2.0) * xp.abs(x)) / (_c(x.dtype, 1.0) + e))


def tanh_backward(dout: Array, x: Array) -> Array:
    """Tanh backward: ``sech(x)**2 = 4 e / (1 + e)**2`` with ``e = exp(-2|x|)``."""
    _float_input(x)
    _same_shape(dout, x)
    xp = get_array_module(x)
    e = xp.exp(_c(x.dtype, -2.0) * xp.abs(x))
    denom = _c(x.dtype, 1.0) + e
    return dout.astype(x.dtype, copy=False) * (_c(x.dtype, 4.0) * e / (denom * denom))


def softmax_forward(x: Array, axis: int = -1) -> Array:
    """Softmax along ``axis``: subtract the maximum, exponentiate, multiply by ``1 / sum``."""
    _float_input(x)
    xp = get_array_module(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e * (_c(x.dtype, 1.0) / xp.sum(e, axis=axis, keepdims=True))


def softmax_backward(dout: Array, x: Array, axis: int = -1) -> Array:
    """Softmax backward, the Jacobian-vector product with ``einsum`` along the last axis."""
    _float_input(x)
    _same_shape(dout, x)
    xp = get_array_module(x)
    s = xp.moveaxis(softmax_forward(x, axis), axis, -1)
    d = xp.moveaxis(dout.astype(x.dtype, copy=False), axis, -1)
    inner = xp.einsum("...k,...k->...", s, d)
    dx = s * (d - inner[..., None])
    return xp.ascontiguousarray(xp.moveaxis(dx, -1, axis))


# ======================================================================== classification losses


def softmax_cross_entropy(
    logits: Array, y: Array, label_smoothing: float = 0.0
) -> tuple[Array, Array]:
    """Softmax cross-entropy against the smoothed target distribution ``q``."""
    n, k = _labels(logits, y)
    if not (label_smoothing >= 0.0 and label_smoothing <= 1.0):
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    eps = _c(dtype, label_smoothing)
    q = xp.eye(k, dtype=dtype)[y] * (_c(dtype, 1.0) - eps) + eps / _c(dtype, k)
    nlp = _neg_log_softmax(logits)  # -log p, >= 0
    loss = xp.sum(q * nlp) / _c(dtype, n)
    p = xp.exp(-nlp)
    dlogits = (p - q) / _c(dtype, n)
    return loss.astype(dtype), dlogits


def multiclass_hinge(scores: Array, y: Array, margin: float = 1.0) -> tuple[Array, Array]:
    """Multiclass hinge loss (``multi_margin_loss``), from ``scores - correct``."""
    n, k = _labels(scores, y)
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}")
    xp = get_array_module(scores)
    dtype = scores.dtype
    is_label = y[:, None] == xp.arange(k)[None, :]
    correct = xp.sum(xp.where(is_label, scores, _c(dtype, 0.0)), axis=1, keepdims=True)
    terms = (scores - correct) + _c(dtype, margin)
    violated = (terms > 0) & ~is_label
    hinge = xp.where(violated, terms, _c(dtype, 0.0))
    loss = xp.mean(xp.sum(hinge, axis=1)) / _c(dtype, k)
    ind = violated.astype(dtype)
    dscores = ind - is_label * xp.sum(ind, axis=1, keepdims=True)
    return loss.astype(dtype), dscores / _c(dtype, n) / _c(dtype, k)


# ======================================================================== regression losses


def mse_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean squared error, via a dot product of the flattened differences."""
    _regression(pred, target)
    xp = get_array_module(pred)
    dtype = pred.dtype
    diff = (pred - target.astype(dtype, copy=False)).ravel()
    size = _c(dtype, diff.size)
    loss = xp.vdot(diff, diff) / size
    grad = (diff * (_c(dtype, 2.0) / size)).reshape(pred.shape)
    return loss.astype(dtype), grad


def l1_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean absolute error; the gradient is ``+-1 / size`` (0 where pred equals target)."""
    _regression(pred, target)
    xp = get_array_module(pred)
    dtype = pred.dtype
    diff = pred - target.astype(dtype, copy=False)
    inv = _c(dtype, 1.0 / pred.size)
    loss = xp.sum(xp.where(diff >= 0, diff, -diff)) * inv
    zero = _c(dtype, 0.0)
    grad = xp.where(diff > 0, inv, xp.where(diff < 0, -inv, zero))
    return loss.astype(dtype), grad.astype(dtype, copy=False)


# ======================================================================== focal losses


def binary_focal_loss(
    logits: Array, targets: Array, alpha: float = 0.25, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Binary focal loss on logits through log-sigmoid identities."""
    _regression(logits, targets)
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if alpha > 1:
        raise ValueError(f"alpha must be in [0, 1] or negative, got {alpha}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    one, zero = _c(dtype, 1.0), _c(dtype, 0.0)
    x = logits
    t = targets.astype(dtype, copy=False)
    softplus_tail = xp.log1p(xp.exp(-xp.abs(x)))
    log_p = xp.minimum(x, zero) - softplus_tail  # log sigmoid(x)
    log_1mp = xp.minimum(-x, zero) - softplus_tail  # log sigmoid(-x) = log(1 - p)
    p = xp.exp(log_p)
    one_minus_p = xp.exp(log_1mp)
    ce = -(t * log_p + (one - t) * log_1mp)
    away = p * (one - t) + one_minus_p * t  # 1 - p_t
    modulator = away ** _c(dtype, gamma)
    daway = p * one_minus_p * (one - _c(dtype, 2.0) * t)
    # d(away ** gamma) / dx = gamma * away ** gamma * (daway / away); |daway / away| <= 1 and
    # daway = 0 where away = 0, so the term is 0 there
    positive = away > 0
    if gamma == 0:
        dmodulator = xp.zeros_like(away)
    else:
        daway_over_away = xp.where(positive, daway / xp.where(positive, away, one), zero)
        dmodulator = _c(dtype, gamma) * modulator * daway_over_away
    focal = ce * modulator
    dfocal = (p - t) * modulator + ce * dmodulator
    if alpha >= 0:
        a = _c(dtype, alpha)
        weight = a * t + (one - a) * (one - t)
        focal = focal * weight
        dfocal = dfocal * weight
    size = _c(dtype, x.size)
    return (xp.sum(focal) / size).astype(dtype), dfocal / size


def multiclass_focal_loss(
    logits: Array, y: Array, alpha: float = 1.0, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Multiclass focal loss; ``1 - p_y`` is the sum of the other classes' probabilities."""
    n, k = _labels(logits, y)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    one, zero = _c(dtype, 1.0), _c(dtype, 0.0)
    is_label = y[:, None] == xp.arange(k)[None, :]
    nlp = _neg_log_softmax(logits)
    s = xp.exp(-nlp)
    log_py = -xp.sum(xp.where(is_label, nlp, zero), axis=1, keepdims=True)  # (N, 1)
    p_y = xp.exp(log_py)
    g = xp.sum(xp.where(is_label, zero, s), axis=1, keepdims=True)  # 1 - p_y
    g_gamma = g ** _c(dtype, gamma)
    a = _c(dtype, alpha)
    loss = -a * xp.sum(g_gamma * log_py) / _c(dtype, n)
    if gamma == 0:
        f = xp.ones_like(g)
    else:
        positive = g > 0
        g_safe = xp.where(positive, g, one)
        second = _c(dtype, gamma) * p_y * g_safe ** _c(dtype, gamma - 1.0) * log_py
        f = g_gamma - xp.where(positive, second, zero)
    # s - onehot, with s_y - 1 written as -g
    s_minus_onehot = xp.where(is_label, -g, s)
    dlogits = (a / _c(dtype, n)) * f * s_minus_onehot
    return loss.astype(dtype), dlogits


# ======================================================================== distillation


def distillation_loss(
    student_logits: Array, teacher_logits: Array, temperature: float = 4.0
) -> tuple[Array, Array]:
    """Distillation loss ``T**2 * KL(q || p) / N``, summed where the teacher's ``q > 0``."""
    _float_input(student_logits, "student_logits")
    if len(student_logits.shape) != 2:
        raise ValueError(f"student_logits: expected (N, K), got {tuple(student_logits.shape)}")
    _same_shape(teacher_logits, student_logits, "teacher_logits")
    if int(student_logits.shape[0]) == 0:
        raise ValueError("student_logits: the batch is empty")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    xp = get_array_module(student_logits)
    dtype = student_logits.dtype
    n = int(student_logits.shape[0])
    inv_t = _c(dtype, 1.0 / temperature)
    nlp = _neg_log_softmax(student_logits * inv_t)
    nlq = _neg_log_softmax(teacher_logits.astype(dtype, copy=False) * inv_t)
    q = softmax_forward(teacher_logits.astype(dtype, copy=False) * inv_t, axis=1)
    keep = q > 0
    kl = xp.sum(q[keep] * (nlp[keep] - nlq[keep]))
    loss = kl * _c(dtype, temperature * temperature / n)
    p = softmax_forward(student_logits * inv_t, axis=1)
    grad = (p - q) * _c(dtype, temperature / n)
    return loss.astype(dtype), grad


# ======================================================================== weight penalties


def l1_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L1 penalty, summing the positive and the negative weights apart."""
    _float_input(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be non-negative, got {strength}")
    xp = get_array_module(w)
    lam = _c(w.dtype, strength)
    pos, neg = w > 0, w < 0
    penalty = lam * (xp.sum(xp.where(pos, w, 0)) - xp.sum(xp.where(neg, w, 0)))
    dw = lam * pos.astype(w.dtype) - lam * neg.astype(w.dtype)
    return penalty.astype(w.dtype), dw.astype(w.dtype, copy=False)


def l2_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L2 penalty ``strength / 2 * <w, w>`` and its gradient ``strength * w``."""
    _float_input(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be non-negative, got {strength}")
    xp = get_array_module(w)
    flat = w.ravel()
    penalty = xp.vdot(flat, flat) * _c(w.dtype, strength / 2.0)
    return penalty.astype(w.dtype), w * _c(w.dtype, strength)
