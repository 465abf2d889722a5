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


# ======================================================================== activations


def relu_forward(x: Array) -> Array:
    """ReLU: ``out = max(x, 0)``.

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``.
    """
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(dout: Array, x: Array) -> Array:
    """ReLU backward: ``dx = dout`` where ``x > 0``, else 0 (also at ``x == 0``, as PyTorch).

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    raise NotImplementedError("relu_backward is not implemented yet")


def leaky_relu_forward(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: ``out = x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        x: input of any shape, floating-point.
        negative_slope: slope for non-positive inputs (PyTorch's default 0.01); any float,
            1 or above included.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``.
    """
    raise NotImplementedError("leaky_relu_forward is not implemented yet")


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
    raise NotImplementedError("leaky_relu_backward is not implemented yet")


def sigmoid_forward(x: Array) -> Array:
    """Logistic sigmoid: ``out = 1 / (1 + exp(-x))``, finite and accurate for any ``x``
    (``x = -1000`` gives 0 without overflow warnings, ``x = 1000`` gives 1).

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``, values in ``[0, 1]``.
    """
    raise NotImplementedError("sigmoid_forward is not implemented yet")


def sigmoid_backward(dout: Array, x: Array) -> Array:
    """Sigmoid backward: ``dx = dout * s * (1 - s)`` with ``s = sigmoid(x)``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    raise NotImplementedError("sigmoid_backward is not implemented yet")


def tanh_forward(x: Array) -> Array:
    """Hyperbolic tangent: ``out = tanh(x)``.

    Args:
        x: input of any shape, floating-point.

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``, values in ``[-1, 1]``.
    """
    raise NotImplementedError("tanh_forward is not implemented yet")


def tanh_backward(dout: Array, x: Array) -> Array:
    """Tanh backward: ``dx = dout * (1 - tanh(x) ** 2)``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.

    Returns:
        ``dx`` shaped like ``x``, dtype of ``x``.
    """
    raise NotImplementedError("tanh_backward is not implemented yet")


def softmax_forward(x: Array, axis: int = -1) -> Array:
    """Softmax along ``axis``: ``out = exp(x) / sum(exp(x))``, computed stably by subtracting
    the maximum along ``axis`` first (logits of 1000 must not overflow).

    Args:
        x: input of any shape, floating-point.
        axis: the axis the probabilities sum to 1 along (default: the last).

    Returns:
        ``out`` shaped like ``x``, dtype of ``x``; it sums to 1 along ``axis``.
    """
    raise NotImplementedError("softmax_forward is not implemented yet")


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
    raise NotImplementedError("softmax_backward is not implemented yet")


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
    raise NotImplementedError("softmax_cross_entropy is not implemented yet")


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
    raise NotImplementedError("multiclass_hinge is not implemented yet")


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
    raise NotImplementedError("mse_loss is not implemented yet")


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
    raise NotImplementedError("l1_loss is not implemented yet")


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
    raise NotImplementedError("binary_focal_loss is not implemented yet")


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
    raise NotImplementedError("multiclass_focal_loss is not implemented yet")


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
    raise NotImplementedError("distillation_loss is not implemented yet")


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
    raise NotImplementedError("l1_penalty is not implemented yet")


def l2_penalty(w: Array, strength: float) -> tuple[Array, Array]:
    """L2 weight penalty, ``strength / 2 * sum(w ** 2)``, whose gradient ``strength * w`` is
    the weight-decay term of SGD.

    Args:
        w: weights, any shape, floating-point.
        strength: ``>= 0``.

    Returns:
        ``(penalty, dw)``: the scalar penalty and ``strength * w``, both in the dtype of ``w``.
    """
    raise NotImplementedError("l2_penalty is not implemented yet")
