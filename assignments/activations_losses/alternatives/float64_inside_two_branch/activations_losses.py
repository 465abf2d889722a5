"""VARIANT float64_inside_two_branch (alternative correct submission, used by the fairness tests).

Activation functions and loss functions, each with its gradient.

How it differs from the reference: CS231n-style code that upcasts every input to float64,
computes in float64 and casts the results back to the input dtype at the very end ("float64
inside, input dtype outside"), and:

* ReLU as ``x * (x > 0)`` and its backward through ``where``; leaky ReLU and its backward
  as a multiplication by a slope array ``where(x > 0, 1, slope)``;
* the stable sigmoid as two branches filled through boolean indexing (each ``exp`` only sees
  non-positive arguments), tanh as ``2 * sigmoid(2x) - 1`` and its derivative as
  ``4 * s * (1 - s)`` with ``s = sigmoid(2x)``;
* softmax through the log-sum-exp, ``exp(x - max - log(sum(exp(x - max))))``, and its backward
  in the expanded form ``s * dout - s * sum(s * dout)``;
* cross-entropy with label smoothing as ``(1 - eps) * NLL + eps * mean_k(-log p_k)``, its
  gradient by subtracting at ``[arange(N), y]``;
* the hinge loss through the CS231n margins matrix;
* the binary focal loss through ``1 - p_t = p (1 - t) + sigmoid(-x) t`` and
  ``p - t = p (1 - t) - sigmoid(-x) t``, with a closed-form derivative of the modulator;
* the multiclass focal loss with ``1 - p_y = -expm1(log p_y)``;
* MSE as ``mean(diff**2)``, the L1 gradient's sign as ``(diff > 0) - (diff < 0)``;
* the distillation loss as ``sum q log q - sum q log p``;
* the L1 penalty's gradient through nested ``where``.
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


def _as64(a: Array) -> Array:
    """A float64 copy of ``a`` (the computations run in float64)."""
    xp = get_array_module(a)
    return a.astype(xp.float64)


def _require_float(a: Array, name: str) -> None:
    if a.dtype.kind != "f":
        raise ValueError(f"{name} must be floating-point, got {a.dtype}")


def _require_same_shape(a: Array, b: Array, name: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {b.shape}")


def _check_classification(logits: Array, y: Array) -> tuple[int, int]:
    _require_float(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (N, K), got {logits.ndim}-D")
    n, k = logits.shape
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    if n < 1:
        raise ValueError("empty batch")
    xp = get_array_module(y)
    if bool(xp.any(y < 0)) or bool(xp.any(y >= k)):
        raise ValueError(f"labels must lie in 0 .. {k - 1}")
    return int(n), int(k)


def _check_pred_target(pred: Array, target: Array) -> None:
    _require_float(pred, "pred")
    _require_same_shape(target, pred, "target")
    if pred.size == 0:
        raise ValueError("pred is empty")


def _sigmoid64(x: Array) -> Array:
    """Stable sigmoid of a float64 array, branch by branch."""
    xp = get_array_module(x)
    out = xp.empty_like(x)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1.0 / (1.0 + xp.exp(-x[pos]))
    e = xp.exp(x[neg])
    out[neg] = e / (1.0 + e)
    return out


def _log_softmax64(z: Array, axis: int = -1) -> Array:
    xp = get_array_module(z)
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _loss_out(value: Array, dtype: Any) -> Array:
    """The float64 loss as a scalar of the input dtype."""
    return value.astype(dtype)


# ======================================================================== activations


def relu_forward(x: Array) -> Array:
    """ReLU: ``out = max(x, 0)``."""
    _require_float(x, "x")
    return (x * (x > 0)).astype(x.dtype)


def relu_backward(dout: Array, x: Array) -> Array:
    """ReLU backward: ``dx = dout`` where ``x > 0``, else 0."""
    _require_float(x, "x")
    _require_same_shape(dout, x, "dout")
    xp = get_array_module(dout, x)
    return xp.where(x > 0, _as64(dout), 0.0).astype(x.dtype)


def leaky_relu_forward(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: ``out = x`` where ``x > 0``, else ``negative_slope * x``."""
    _require_float(x, "x")
    xp = get_array_module(x)
    slope = xp.where(x > 0, 1.0, negative_slope)
    return (slope * _as64(x)).astype(x.dtype)


def leaky_relu_backward(dout: Array, x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU backward: ``dout`` where ``x > 0``, else ``negative_slope * dout``."""
    _require_float(x, "x")
    _require_same_shape(dout, x, "dout")
    xp = get_array_module(dout, x)
    slope = xp.where(x > 0, 1.0, negative_slope)
    return (_as64(dout) * slope).astype(x.dtype)


def sigmoid_forward(x: Array) -> Array:
    """Logistic sigmoid, stable for any ``x``."""
    _require_float(x, "x")
    return _sigmoid64(_as64(x)).astype(x.dtype)


def sigmoid_backward(dout: Array, x: Array) -> Array:
    """Sigmoid backward: ``dx = dout * s * (1 - s)``."""
    _require_float(x, "x")
    _require_same_shape(dout, x, "dout")
    x64 = _as64(x)
    s = _sigmoid64(x64)
    one_minus_s = _sigmoid64(-x64)
    return (_as64(dout) * s * one_minus_s).astype(x.dtype)


def tanh_forward(x: Array) -> Array:
    """Hyperbolic tangent, as ``2 * sigmoid(2x) - 1``."""
    _require_float(x, "x")
    return (2.0 * _sigmoid64(2.0 * _as64(x)) - 1.0).astype(x.dtype)


def tanh_backward(dout: Array, x: Array) -> Array:
    """Tanh backward: ``1 - tanh(x)**2 = 4 * sigmoid(2x) * sigmoid(-2x)``."""
    _require_float(x, "x")
    _require_same_shape(dout, x, "dout")
    x2 = 2.0 * _as64(x)
    deriv = 4.0 * _sigmoid64(x2) * _sigmoid64(-x2)
    return (_as64(dout) * deriv).astype(x.dtype)


def softmax_forward(x: Array, axis: int = -1) -> Array:
    """Softmax along ``axis`` through the log-sum-exp."""
    _require_float(x, "x")
    xp = get_array_module(x)
    return xp.exp(_log_softmax64(_as64(x), axis)).astype(x.dtype)


def softmax_backward(dout: Array, x: Array, axis: int = -1) -> Array:
    """Softmax backward: ``dx = s * dout - s * sum(s * dout)``."""
    _require_float(x, "x")
    _require_same_shape(dout, x, "dout")
    xp = get_array_module(dout, x)
    s = xp.exp(_log_softmax64(_as64(x), axis))
    sd = s * _as64(dout)
    return (sd - s * xp.sum(sd, axis=axis, keepdims=True)).astype(x.dtype)


# ======================================================================== classification losses


def softmax_cross_entropy(
    logits: Array, y: Array, label_smoothing: float = 0.0
) -> tuple[Array, Array]:
    """Softmax cross-entropy with label smoothing, as ``(1 - eps) * NLL + eps * uniform``."""
    n, k = _check_classification(logits, y)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    xp = get_array_module(logits)
    eps = float(label_smoothing)
    rows = xp.arange(n)
    log_p = _log_softmax64(_as64(logits))
    nll = -log_p[rows, y]  # (N,)
    uniform = -xp.mean(log_p, axis=1)  # (N,)
    loss = xp.mean((1.0 - eps) * nll + eps * uniform)
    dlogits = xp.exp(log_p) - eps / k
    dlogits[rows, y] -= 1.0 - eps
    dlogits /= n
    return _loss_out(loss, logits.dtype), dlogits.astype(logits.dtype)


def multiclass_hinge(scores: Array, y: Array, margin: float = 1.0) -> tuple[Array, Array]:
    """Multiclass hinge loss (PyTorch's ``multi_margin_loss``, divided by ``K``)."""
    n, k = _check_classification(scores, y)
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}")
    xp = get_array_module(scores)
    rows = xp.arange(n)
    s = _as64(scores)
    correct = s[rows, y][:, None]
    margins = xp.maximum(0.0, s - correct + margin)
    margins[rows, y] = 0.0
    loss = xp.sum(margins) / (n * k)
    counts = (margins > 0).astype(xp.float64)
    counts[rows, y] = -xp.sum(counts, axis=1)
    dscores = counts / (n * k)
    return _loss_out(loss, scores.dtype), dscores.astype(scores.dtype)


# ======================================================================== regression losses


def mse_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean squared error over all elements."""
    _check_pred_target(pred, target)
    xp = get_array_module(pred)
    diff = _as64(pred) - _as64(target)
    loss = xp.mean(diff**2)
    return _loss_out(loss, pred.dtype), (2.0 / diff.size * diff).astype(pred.dtype)


def l1_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean absolute error over all elements."""
    _check_pred_target(pred, target)
    xp = get_array_module(pred)
    diff = _as64(pred) - _as64(target)
    loss = xp.mean(xp.abs(diff))
    sign = (diff > 0).astype(xp.float64) - (diff < 0).astype(xp.float64)
    return _loss_out(loss, pred.dtype), (sign / diff.size).astype(pred.dtype)


# ======================================================================== focal losses


def binary_focal_loss(
    logits: Array, targets: Array, alpha: float = 0.25, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Binary focal loss on logits (torchvision's ``sigmoid_focal_loss``, mean)."""
    _check_pred_target(logits, targets)
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if alpha > 1:
        raise ValueError(f"alpha must be <= 1, got {alpha}")
    xp = get_array_module(logits)
    x = _as64(logits)
    t = _as64(targets)
    p = _sigmoid64(x)
    q = _sigmoid64(-x)  # 1 - p, without cancellation
    # BCE with logits: softplus(x) - x * t
    ce = xp.maximum(x, 0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
    away = p * (1.0 - t) + q * t  # 1 - p_t
    modulator = away**gamma
    daway = p * q * (1.0 - 2.0 * t)
    if gamma == 0:
        dmod = xp.zeros_like(x)
    else:
        ok = away > 0
        base = xp.where(ok, away, 1.0)
        dmod = xp.where(ok, gamma * base ** (gamma - 1.0) * daway, 0.0)
    focal = ce * modulator
    dce = p * (1.0 - t) - q * t  # p - t, without cancellation for hard targets
    dfocal = dce * modulator + ce * dmod
    if alpha >= 0:
        weight = (1.0 - alpha) + (2.0 * alpha - 1.0) * t
        focal = weight * focal
        dfocal = weight * dfocal
    loss = xp.mean(focal)
    return _loss_out(loss, logits.dtype), (dfocal / x.size).astype(logits.dtype)


def multiclass_focal_loss(
    logits: Array, y: Array, alpha: float = 1.0, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Multiclass (softmax) focal loss, mean over the batch."""
    n, _ = _check_classification(logits, y)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    xp = get_array_module(logits)
    rows = xp.arange(n)
    log_s = _log_softmax64(_as64(logits))
    s = xp.exp(log_s)
    log_py = log_s[rows, y]  # (N,)
    p_y = xp.exp(log_py)
    g = -xp.expm1(log_py)  # 1 - p_y, accurate when p_y is close to 1
    loss = -alpha * xp.mean(g**gamma * log_py)
    if gamma == 0:
        f = xp.ones_like(g)
    else:
        ok = g > 0
        base = xp.where(ok, g, 1.0)
        f = g**gamma - xp.where(ok, gamma * p_y * base ** (gamma - 1.0) * log_py, 0.0)
    ds = s.copy()
    ds[rows, y] -= 1.0
    dlogits = (alpha / n) * f[:, None] * ds
    return _loss_out(loss, logits.dtype), dlogits.astype(logits.dtype)


# ======================================================================== distillation


def distillation_loss(
    student_logits: Array, teacher_logits: Array, temperature: float = 4.0
) -> tuple[Array, Array]:
    """Knowledge distillation, ``T**2 * KL(q || p)`` averaged over the batch."""
    _require_float(student_logits, "student_logits")
    if student_logits.ndim != 2:
        raise ValueError("student_logits must be (N, K)")
    _require_same_shape(teacher_logits, student_logits, "teacher_logits")
    n = student_logits.shape[0]
    if n == 0:
        raise ValueError("empty batch")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    xp = get_array_module(student_logits)
    T = float(temperature)
    log_p = _log_softmax64(_as64(student_logits) / T)
    log_q = _log_softmax64(_as64(teacher_logits) / T)
    q = xp.exp(log_q)
    neg_entropy = xp.sum(xp.where(q > 0, q * log_q, 0.0))
    cross = xp.sum(q * log_p)
    loss = T * T * (neg_entropy - cross) / n
    grad = T * (xp.exp(log_p) - q) / n
    return _loss_out(loss, student_logits.dtype), grad.astype(student_logits.dtype)


# ======================================================================== weight penalties


def l1_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L1 weight penalty ``strength * sum(|w|)`` and its (sub)gradient."""
    _require_float(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    xp = get_array_module(w)
    w64 = _as64(w)
    penalty = strength * xp.sum(xp.abs(w64))
    dw = xp.where(w64 > 0, strength, xp.where(w64 < 0, -strength, 0.0))
    return _loss_out(penalty, w.dtype), dw.astype(w.dtype)


def l2_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L2 weight penalty ``strength / 2 * sum(w**2)`` and its gradient ``strength * w``."""
    _require_float(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    xp = get_array_module(w)
    w64 = _as64(w)
    penalty = 0.5 * strength * xp.sum(w64 * w64)
    return _loss_out(penalty, w.dtype), (strength * w64).astype(w.dtype)
