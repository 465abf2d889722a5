"""Activation functions and loss functions, each with its gradient.

Conventions
-----------
* **Activations** are elementwise (softmax: along one axis). Each has a forward function
  ``<name>_forward(x, ...) -> out`` and a backward function
  ``<name>_backward(dout, x, ...) -> dx`` that gets the forward *input* ``x`` and recomputes
  what it needs. Shapes are arbitrary; ``out`` and ``dx`` are shaped like ``x``.
* **Losses** return ``(loss, grad)``: ``loss`` is a scalar (a NumPy scalar or a 0-d array, in
  the dtype of the inputs) and ``grad`` is the gradient of ``loss`` with respect to the first
  argument (the logits or predictions), shaped like it. Every loss is a **mean** over the batch
  (PyTorch's default ``reduction="mean"``): for per-example losses over ``N`` examples, divide
  by ``N``; for elementwise losses (MSE, L1, binary focal) divide by the number of elements.
* Logits are ``(N, K)`` (``N`` examples, ``K`` classes); integer labels ``y`` are ``(N,)``
  with values in ``0 .. K-1``.
* The semantics are PyTorch's: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``softmax``,
  ``cross_entropy(label_smoothing=)``, ``multi_margin_loss``, ``mse_loss``, ``l1_loss``,
  ``kl_div`` (distillation) and torchvision's ``sigmoid_focal_loss``. Gradients at kinks
  follow PyTorch too: ReLU's gradient at 0 is 0, leaky ReLU's is ``negative_slope``, the L1
  loss's is 0 where prediction equals target.
* **Numerical stability** is graded: logits of magnitude 1000 must give finite, correct
  results. Never evaluate ``exp`` of a large positive number: subtract the row maximum before
  a softmax, use ``log_softmax = z - max - log(sum(exp(z - max)))``, and write the sigmoid
  and ``log(1 + exp(-|x|))`` so that ``exp`` only sees non-positive arguments.
* Functions never modify their inputs. Float results have the dtype of the (first) input.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly. No
  Python loops over examples or classes.
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
def _check_float(x: Array, name: str = "x") -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")


def _check_like(dout: Array, x: Array, name: str = "dout") -> None:
    if tuple(dout.shape) != tuple(x.shape):
        raise ValueError(f"{name} must have the shape of x {tuple(x.shape)}, got {dout.shape}")


def _check_logits_labels(logits: Array, y: Array) -> tuple[int, int]:
    _check_float(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got shape {tuple(logits.shape)}")
    n, k = (int(s) for s in logits.shape)
    if y.dtype.kind not in "iu" or tuple(y.shape) != (n,):
        raise ValueError(
            f"y must be an integer array of shape (N,) = ({n},), got {y.dtype} {tuple(y.shape)}"
        )
    if n == 0:
        raise ValueError("the batch is empty: logits must have at least one row")
    xp = get_array_module(y)
    if bool(xp.any((y < 0) | (y >= k))):
        raise ValueError(f"labels must be in 0 .. K-1 = 0 .. {k - 1}")
    return n, k


def _scalar(value: Array, dtype: Any) -> Array:
    return value.astype(dtype, copy=False)


def _log_softmax(z: Array) -> Array:
    xp = get_array_module(z)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def _one_hot(y: Array, k: int, dtype: Any) -> Array:
    xp = get_array_module(y)
    return (y[:, None] == xp.arange(k)[None, :]).astype(dtype)


def _sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))`` with ``exp`` of non-positive numbers only."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    one = x.dtype.type(1.0)
    return xp.where(x >= 0, one / (one + e), e / (one + e))


def _softplus_neg_abs(x: Array) -> Array:
    """``log(1 + exp(-|x|))``, accurate for every x."""
    xp = get_array_module(x)
    return xp.log1p(xp.exp(-xp.abs(x)))


# END SOLUTION


# ======================================================================== activations


def relu_forward(x: Array) -> Array:
    """ReLU: ``out = max(x, 0)``.

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    return get_array_module(x).maximum(x, x.dtype.type(0.0))
    # END SOLUTION


def relu_backward(dout: Array, x: Array) -> Array:
    """ReLU backward: ``dx = dout`` where ``x > 0``, else 0 (also at ``x == 0``, as PyTorch).

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    _check_like(dout, x)
    return (dout * (x > 0)).astype(x.dtype, copy=False)
    # END SOLUTION


def leaky_relu_forward(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: ``out = x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        x: input of any shape, floating-point.
        negative_slope: slope for non-positive inputs (PyTorch's default 0.01); any float,
            1 or above included.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    xp = get_array_module(x)
    return xp.where(x > 0, x, x * x.dtype.type(negative_slope))
    # END SOLUTION


def leaky_relu_backward(dout: Array, x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU backward: ``dx = dout`` where ``x > 0``, else ``negative_slope * dout``
    (at ``x == 0`` the slope is ``negative_slope``, as PyTorch).

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.
        negative_slope: as in the forward pass.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    _check_like(dout, x)
    xp = get_array_module(dout, x)
    dout = dout.astype(x.dtype, copy=False)
    return xp.where(x > 0, dout, dout * x.dtype.type(negative_slope))
    # END SOLUTION


def sigmoid_forward(x: Array) -> Array:
    """Logistic sigmoid: ``out = 1 / (1 + exp(-x))``, finite and accurate for any ``x``
    (``x = -1000`` gives 0 without overflow warnings, ``x = 1000`` gives 1).

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``, values in ``[0, 1]``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    return _sigmoid(x)
    # END SOLUTION


def sigmoid_backward(dout: Array, x: Array) -> Array:
    """Sigmoid backward: ``dx = dout * s * (1 - s)`` with ``s = sigmoid(x)``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    _check_like(dout, x)
    s = _sigmoid(x)
    return (dout * s * (x.dtype.type(1.0) - s)).astype(x.dtype, copy=False)
    # END SOLUTION


def tanh_forward(x: Array) -> Array:
    """Hyperbolic tangent: ``out = tanh(x)``.

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``, values in ``[-1, 1]``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    return get_array_module(x).tanh(x)
    # END SOLUTION


def tanh_backward(dout: Array, x: Array) -> Array:
    """Tanh backward: ``dx = dout * (1 - tanh(x) ** 2)``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    _check_like(dout, x)
    t = get_array_module(x).tanh(x)
    return (dout * (x.dtype.type(1.0) - t * t)).astype(x.dtype, copy=False)
    # END SOLUTION


def softmax_forward(x: Array, axis: int = -1) -> Array:
    """Softmax along ``axis``: ``out = exp(x) / sum(exp(x))``, computed stably by subtracting
    the maximum along ``axis`` first (logits of 1000 must not overflow).

    Args:
        x: input of any shape, floating-point.
        axis: the axis the probabilities sum to 1 along (default: the last).

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``; it sums to 1 along ``axis``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    xp = get_array_module(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
    # END SOLUTION


def softmax_backward(dout: Array, x: Array, axis: int = -1) -> Array:
    """Softmax backward: with ``s = softmax(x)``,
    ``dx = s * (dout - sum(dout * s, axis, keepdims=True))`` (the Jacobian-vector product,
    without building the ``K x K`` Jacobian).

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.
        axis: as in the forward pass.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    # BEGIN SOLUTION
    _check_float(x)
    _check_like(dout, x)
    s = softmax_forward(x, axis)
    dout = dout.astype(x.dtype, copy=False)
    return s * (dout - (dout * s).sum(axis=axis, keepdims=True))
    # END SOLUTION


# ======================================================================== classification losses


def softmax_cross_entropy(
    logits: Array, y: Array, label_smoothing: float = 0.0
) -> tuple[Array, Array]:
    """Softmax cross-entropy with optional label smoothing
    (``torch.nn.functional.cross_entropy(logits, y, label_smoothing=...)``).

    With ``p = softmax(logits)`` per row and ``eps = label_smoothing``, the target distribution
    of example ``i`` is ``q = (1 - eps) * onehot(y_i) + eps / K``, and

        ``loss = mean over i of -sum_k q_k * log p_ik``.

    Use ``log_softmax`` (never ``log`` of a softmax that may have underflowed to 0).

    Args:
        logits: ``(N, K)`` floating-point scores.
        y: ``(N,)`` integer labels in ``0 .. K-1``.
        label_smoothing: ``eps`` in ``[0, 1]``.

    Returns:
        ``(loss, dlogits)``: the scalar loss and its gradient ``(p - q) / N``, shaped like
        ``logits``; both in the dtype of ``logits``.

    Raises:
        ValueError: if ``logits`` is not ``(N, K)`` floating-point with ``N >= 1``, ``y`` is not
            ``(N,)`` integer with values in range, or ``label_smoothing`` is outside ``[0, 1]``.
    """
    # BEGIN SOLUTION
    n, k = _check_logits_labels(logits, y)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    log_p = _log_softmax(logits)
    eps = dtype.type(label_smoothing)
    q = (dtype.type(1.0) - eps) * _one_hot(y, k, dtype) + eps / dtype.type(k)
    loss = -(q * log_p).sum() / dtype.type(n)
    grad = (xp.exp(log_p) - q) / dtype.type(n)
    return _scalar(loss, dtype), grad.astype(dtype, copy=False)
    # END SOLUTION


def multiclass_hinge(scores: Array, y: Array, margin: float = 1.0) -> tuple[Array, Array]:
    """Multiclass hinge (SVM) loss, as ``torch.nn.functional.multi_margin_loss(p=1)``:

        ``loss_i = sum over j != y_i of max(0, margin - scores[i, y_i] + scores[i, j]) / K``

    and ``loss = mean over i of loss_i``. Note PyTorch's division by ``K`` (the CS231n SVM loss
    does not divide).

    Args:
        scores: ``(N, K)`` floating-point class scores.
        y: ``(N,)`` integer labels in ``0 .. K-1``.
        margin: the margin, ``> 0``.

    Returns:
        ``(loss, dscores)``: the scalar loss and its gradient, shaped like ``scores``; both in
        the dtype of ``scores``. A term that is exactly 0 (on the kink) contributes no gradient.

    Raises:
        ValueError: as ``softmax_cross_entropy``, or if ``margin <= 0``.
    """
    # BEGIN SOLUTION
    n, k = _check_logits_labels(scores, y)
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    xp = get_array_module(scores)
    dtype = scores.dtype
    correct = xp.take_along_axis(scores, y[:, None].astype(xp.int64), axis=1)
    terms = dtype.type(margin) - correct + scores
    is_label = _one_hot(y, k, dtype).astype(bool)
    active = (terms > 0) & ~is_label
    loss = xp.where(active, terms, dtype.type(0.0)).sum() / dtype.type(n * k)
    grad = active.astype(dtype)
    grad = grad - is_label * grad.sum(axis=1, keepdims=True)
    return _scalar(loss, dtype), (grad / dtype.type(n * k)).astype(dtype, copy=False)
    # END SOLUTION


# ======================================================================== regression losses


def mse_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean squared error, ``mean((pred - target) ** 2)`` over all elements
    (``torch.nn.functional.mse_loss``).

    Args:
        pred: predictions, any shape, floating-point.
        target: targets, shaped like ``pred``.

    Returns:
        ``(loss, dpred)``: the scalar loss and ``2 * (pred - target) / pred.size``; both in the
        dtype of ``pred``.

    Raises:
        ValueError: if ``target`` is not shaped like ``pred`` or ``pred`` is empty.
    """
    # BEGIN SOLUTION
    _check_regression(pred, target)
    dtype = pred.dtype
    diff = pred - target.astype(dtype, copy=False)
    size = dtype.type(pred.size)
    return _scalar((diff * diff).sum() / size, dtype), (dtype.type(2.0) * diff / size)
    # END SOLUTION


def l1_loss(pred: Array, target: Array) -> tuple[Array, Array]:
    """Mean absolute error (L1), ``mean(|pred - target|)`` over all elements
    (``torch.nn.functional.l1_loss``).

    Args:
        pred: predictions, any shape, floating-point.
        target: targets, shaped like ``pred``.

    Returns:
        ``(loss, dpred)``: the scalar loss and ``sign(pred - target) / pred.size`` (0 where
        they are equal); both in the dtype of ``pred``.

    Raises:
        ValueError: if ``target`` is not shaped like ``pred`` or ``pred`` is empty.
    """
    # BEGIN SOLUTION
    _check_regression(pred, target)
    xp = get_array_module(pred)
    dtype = pred.dtype
    diff = pred - target.astype(dtype, copy=False)
    size = dtype.type(pred.size)
    return _scalar(xp.abs(diff).sum() / size, dtype), (xp.sign(diff) / size).astype(dtype)
    # END SOLUTION


# BEGIN SOLUTION
def _check_regression(pred: Array, target: Array) -> None:
    _check_float(pred, "pred")
    _check_like(target, pred, "target")
    if pred.size == 0:
        raise ValueError("pred is empty")


# END SOLUTION


# ======================================================================== focal losses


def binary_focal_loss(
    logits: Array, targets: Array, alpha: float = 0.25, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Binary focal loss on logits, as torchvision's ``sigmoid_focal_loss(reduction="mean")``.

    Elementwise, with ``p = sigmoid(logits)`` and ``t = targets`` (0 or 1, or soft labels in
    between):

    * ``ce = -t * log(p) - (1 - t) * log(1 - p)`` (binary cross-entropy on logits; compute it
      as ``max(x, 0) - x * t + log(1 + exp(-|x|))``),
    * ``p_t = p * t + (1 - p) * (1 - t)`` (the probability given to the right answer),
    * ``focal = ce * (1 - p_t) ** gamma``: confident right answers are down-weighted,
    * if ``alpha >= 0``: ``focal *= alpha * t + (1 - alpha) * (1 - t)``; a negative ``alpha``
      turns this weighting off.

    ``loss`` is the mean of ``focal`` over all elements. With ``gamma = 0`` and ``alpha < 0``
    it is the plain binary cross-entropy.

    Args:
        logits: scores, any shape, floating-point.
        targets: shaped like ``logits``, values in ``[0, 1]``.
        alpha: class balance weight in ``[0, 1]``, or negative for none.
        gamma: focusing parameter, ``>= 0``.

    Returns:
        ``(loss, dlogits)``: the scalar loss and its gradient, shaped like ``logits``; both in
        the dtype of ``logits``.

    Raises:
        ValueError: if shapes differ, ``logits`` is empty, ``alpha > 1`` or ``gamma < 0``.
    """
    # BEGIN SOLUTION
    _check_regression(logits, targets)
    if not gamma >= 0:
        raise ValueError(f"gamma must be non-negative, got {gamma!r}")
    if alpha > 1:
        raise ValueError(f"alpha must be in [0, 1] (or negative for none), got {alpha!r}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    one = dtype.type(1.0)
    x = logits
    t = targets.astype(dtype, copy=False)
    p = _sigmoid(x)
    ce = xp.maximum(x, dtype.type(0.0)) - x * t + _softplus_neg_abs(x)
    p_t = p * t + (one - p) * (one - t)
    away = one - p_t
    modulator = away ** dtype.type(gamma)
    # d(away ** gamma) / d(away), taken as 0 where away == 0 (its limit for gamma > 1)
    if gamma == 0:
        dmodulator = xp.zeros_like(away)
    elif gamma == 1:
        dmodulator = xp.ones_like(away)
    else:
        safe = xp.where(away > 0, away, one)
        dmodulator = xp.where(
            away > 0, dtype.type(gamma) * safe ** dtype.type(gamma - 1.0), dtype.type(0.0)
        )
    # d ce / dx = p - t ;  d p_t / dx = (2t - 1) p (1 - p) ;  d away / dx = -(2t - 1) p (1 - p)
    daway = -(dtype.type(2.0) * t - one) * p * (one - p)
    focal = ce * modulator
    dfocal = (p - t) * modulator + ce * dmodulator * daway
    if alpha >= 0:
        weight = dtype.type(alpha) * t + dtype.type(1.0 - alpha) * (one - t)
        focal = focal * weight
        dfocal = dfocal * weight
    size = dtype.type(x.size)
    return _scalar(focal.sum() / size, dtype), (dfocal / size).astype(dtype, copy=False)
    # END SOLUTION


def multiclass_focal_loss(
    logits: Array, y: Array, alpha: float = 1.0, gamma: float = 2.0
) -> tuple[Array, Array]:
    """Multiclass (softmax) focal loss:

        ``loss = mean over i of -alpha * (1 - p_i) ** gamma * log(p_i)``

    where ``p_i = softmax(logits[i])[y_i]`` is the probability of the right class. With
    ``gamma = 0`` and ``alpha = 1`` it is the softmax cross-entropy.

    Args:
        logits: ``(N, K)`` floating-point scores.
        y: ``(N,)`` integer labels in ``0 .. K-1``.
        alpha: overall weight, ``> 0``.
        gamma: focusing parameter, ``>= 0``.

    Returns:
        ``(loss, dlogits)``: the scalar loss and its gradient, shaped like ``logits``; both in
        the dtype of ``logits``. With ``s = softmax(logits[i])``, ``g = 1 - p_i`` and
        ``f = g ** gamma - gamma * p_i * g ** (gamma - 1) * log(p_i)`` (the second term taken
        as 0 where ``g = 0``): ``dlogits[i] = alpha * f * (s - onehot(y_i)) / N``.

    Raises:
        ValueError: as ``softmax_cross_entropy``, or if ``alpha <= 0`` or ``gamma < 0``.
    """
    # BEGIN SOLUTION
    n, k = _check_logits_labels(logits, y)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha!r}")
    if not gamma >= 0:
        raise ValueError(f"gamma must be non-negative, got {gamma!r}")
    xp = get_array_module(logits)
    dtype = logits.dtype
    one = dtype.type(1.0)
    log_p = _log_softmax(logits)
    s = xp.exp(log_p)
    log_py = xp.take_along_axis(log_p, y[:, None].astype(xp.int64), axis=1)
    p_y = xp.exp(log_py)
    g = one - p_y
    g_gamma = g ** dtype.type(gamma)
    if gamma == 0:
        g_gamma_minus_1 = xp.zeros_like(g)
    elif gamma == 1:
        g_gamma_minus_1 = xp.ones_like(g)
    else:
        safe = xp.where(g > 0, g, one)
        g_gamma_minus_1 = xp.where(g > 0, safe ** dtype.type(gamma - 1.0), dtype.type(0.0))
    a = dtype.type(alpha)
    loss = -(a * g_gamma * log_py).sum() / dtype.type(n)
    f = g_gamma - dtype.type(gamma) * p_y * g_gamma_minus_1 * log_py
    grad = a * f * (s - _one_hot(y, k, dtype)) / dtype.type(n)
    return _scalar(loss, dtype), grad.astype(dtype, copy=False)
    # END SOLUTION


# ======================================================================== distillation


def distillation_loss(
    student_logits: Array, teacher_logits: Array, temperature: float = 4.0
) -> tuple[Array, Array]:
    """Knowledge-distillation loss (Hinton et al.), as
    ``T**2 * kl_div(log_softmax(s / T), softmax(t / T), reduction="batchmean")``:

        ``loss = T**2 / N * sum over i, k of q_ik * (log q_ik - log p_ik)``

    with ``p = softmax(student_logits / T)``, ``q = softmax(teacher_logits / T)`` row by row.
    The ``T**2`` factor keeps the gradient's size independent of the temperature.

    Args:
        student_logits: ``(N, K)`` floating-point scores of the student network.
        teacher_logits: ``(N, K)`` scores of the teacher (a constant: no gradient).
        temperature: ``T > 0``.

    Returns:
        ``(loss, dstudent_logits)``: the scalar loss and its gradient ``T * (p - q) / N``,
        shaped like ``student_logits``; both in its dtype. Where ``q_ik`` is 0, its term counts
        0 (the limit of ``q log q``).

    Raises:
        ValueError: if the logits are not ``(N, K)`` of one shape, or ``temperature <= 0``.
    """
    # BEGIN SOLUTION
    _check_float(student_logits, "student_logits")
    if student_logits.ndim != 2 or tuple(teacher_logits.shape) != tuple(student_logits.shape):
        raise ValueError(
            f"student_logits and teacher_logits must both have shape (N, K), got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if student_logits.shape[0] == 0:
        raise ValueError("the batch is empty")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    xp = get_array_module(student_logits)
    dtype = student_logits.dtype
    temp = dtype.type(temperature)
    n = dtype.type(student_logits.shape[0])
    log_p = _log_softmax(student_logits / temp)
    log_q = _log_softmax(teacher_logits.astype(dtype, copy=False) / temp)
    q = xp.exp(log_q)
    terms = xp.where(q > 0, q * (log_q - log_p), dtype.type(0.0))
    loss = temp * temp * terms.sum() / n
    grad = temp * (xp.exp(log_p) - q) / n
    return _scalar(loss, dtype), grad.astype(dtype, copy=False)
    # END SOLUTION


# ======================================================================== weight penalties


def l1_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L1 weight penalty, ``strength * sum(|w|)``, which pushes weights to exactly 0.

    Args:
        w: weights, any shape, floating-point.
        strength: ``>= 0``.

    Returns:
        ``(penalty, dw)``: the scalar penalty and ``strength * sign(w)`` (0 where ``w`` is 0),
        both in the dtype of ``w``.
    """
    # BEGIN SOLUTION
    _check_float(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be non-negative, got {strength!r}")
    xp = get_array_module(w)
    lam = w.dtype.type(strength)
    return _scalar(lam * xp.abs(w).sum(), w.dtype), (lam * xp.sign(w)).astype(w.dtype)
    # END SOLUTION


def l2_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L2 weight penalty, ``strength / 2 * sum(w ** 2)``, whose gradient ``strength * w`` is
    the weight-decay term of SGD.

    Args:
        w: weights, any shape, floating-point.
        strength: ``>= 0``.

    Returns:
        ``(penalty, dw)``: the scalar penalty and ``strength * w``, both in the dtype of ``w``.
    """
    # BEGIN SOLUTION
    _check_float(w, "w")
    if not strength >= 0:
        raise ValueError(f"strength must be non-negative, got {strength!r}")
    lam = w.dtype.type(strength)
    return _scalar(lam / w.dtype.type(2.0) * (w * w).sum(), w.dtype), (lam * w)
    # END SOLUTION
