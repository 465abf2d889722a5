"""LeNet-5 in its modern form, built from your own layers, and trained on handwritten digits.

The network
-----------
::

    x      (N, 1, 32, 32)   images, values in [0, 1]
    conv1  (N, 6, 28, 28)   5x5 convolution, 1 -> 6 channels, stride 1, no padding, with bias
    relu
    pool1  (N, 6, 14, 14)   2x2 max-pooling, stride 2
    conv2  (N, 16, 10, 10)  5x5 convolution, 6 -> 16 channels, with bias
    relu
    pool2  (N, 16, 5, 5)    2x2 max-pooling, stride 2
    flatten (N, 400)        row-major over (C, H, W), as ``torch.flatten(x, 1)``
    fc1    (N, 120)         fully connected, then relu
    fc2    (N, 84)          fully connected, then relu
    fc3    (N, 10)          fully connected: the logits, one per digit

LeCun et al. (1998) used tanh-like squashing, average-pooling ("subsampling") with trainable
coefficients and a sparse connection table for conv2; the modern form keeps the shapes and
uses ReLU, max-pooling and a full conv2, as Dive into Deep Learning's LeNet does.

Conventions
-----------
* Use your own layers: ``conv_forward``/``conv_backward`` (``conv.py``), ``max_pool_forward``/
  ``max_pool_backward`` (``pooling.py``), ``relu_forward``/``relu_backward`` and
  ``softmax_cross_entropy`` (``activations_losses.py``), ``sgd``, ``kaiming_uniform`` and
  ``xavier_uniform`` (``optimizers.py``): they are imported below; submit those four files with
  this one.
* A fully connected layer follows ``torch.nn.functional.linear``: ``out = x @ w.T + b`` with
  ``w`` of shape ``(out_features, in_features)`` (PyTorch's layout, not CS231n's ``(D, M)``).
* Parameters are a dict of arrays (``params``), with these keys and shapes:

  ============  =================  ============  =================
  key           shape              key           shape
  ============  =================  ============  =================
  ``conv1_w``   ``(6, 1, 5, 5)``   ``conv1_b``   ``(6,)``
  ``conv2_w``   ``(16, 6, 5, 5)``  ``conv2_b``   ``(16,)``
  ``fc1_w``     ``(120, 400)``     ``fc1_b``     ``(120,)``
  ``fc2_w``     ``(84, 120)``      ``fc2_b``     ``(84,)``
  ``fc3_w``     ``(10, 84)``       ``fc3_b``     ``(10,)``
  ============  =================  ============  =================

  61,706 numbers in all, 48,000 of them in ``fc1_w``: most of LeNet's parameters sit in its
  first fully connected layer, most of its arithmetic in its convolutions.
* Gradients (``grads``) are a dict with the same keys and shapes. ReLU's derivative at
  exactly 0 is 0, and a max-pooling window's gradient goes to its switch (PyTorch's rules).
* Functions never modify their inputs (nor the arrays inside the dicts): they return new dicts
  of new arrays. Arrays keep the dtype of ``x`` (float32 or float64), and every function works
  on NumPy and CuPy arrays alike (create arrays through ``get_array_module``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from activations_losses import relu_backward, relu_forward, softmax_cross_entropy
from conv import conv_backward, conv_forward
from optimizers import kaiming_uniform, sgd, xavier_uniform
from pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU

PARAMETER_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1_w": (6, 1, 5, 5),
    "conv1_b": (6,),
    "conv2_w": (16, 6, 5, 5),
    "conv2_b": (16,),
    "fc1_w": (120, 400),
    "fc1_b": (120,),
    "fc2_w": (84, 120),
    "fc2_b": (84,),
    "fc3_w": (10, 84),
    "fc3_b": (10,),
}
"""Every parameter of LeNet-5 and its shape, in the order of the layers."""

INPUT_SHAPE = (1, 32, 32)
"""The shape of one image: one channel of 32 x 32 pixels."""


# ------------------------------------------------------------------ fully connected, flatten


def fc_forward(x: Array, w: Array, b: Array | None) -> Array:
    """A fully connected (linear) layer, ``torch.nn.functional.linear``: ``out = x @ w.T + b``.

    Args:
        x: input of shape ``(..., in_features)``: any number of leading axes (at least one
            axis in all), floating-point.
        w: weights, shape ``(out_features, in_features)``, dtype of ``x``.
        b: bias, shape ``(out_features,)``, dtype of ``x``; or ``None`` for no bias.

    Returns:
        ``out`` of shape ``(..., out_features)`` (the leading axes of ``x`` kept), dtype of
        ``x``.

    Raises:
        ValueError: if ``w`` is not 2-D, ``x``'s last axis is not ``in_features``, or ``b`` is
            not ``(out_features,)``.
    """
    raise NotImplementedError("fc_forward is not implemented yet")


def fc_backward(dout: Array, x: Array, w: Array) -> tuple[Array, Array, Array]:
    """Backward pass of ``fc_forward``: the gradients of the loss w.r.t. ``x``, ``w`` and ``b``.

    With ``dout = dL/dout`` and the same ``x`` and ``w`` as the forward call (the bias does not
    influence any gradient), summing over every leading axis of ``x``:

    * ``dx = dout @ w``, shape of ``x``;
    * ``dw = sum over the leading positions of outer(dout, x)``, that is
      ``dout.reshape(-1, out_features).T @ x.reshape(-1, in_features)``, shape of ``w``;
    * ``db = dout`` summed over every leading axis, shape ``(out_features,)``.

    Args:
        dout: upstream gradient, shape ``(..., out_features)`` (the leading axes of ``x``).
        x: the forward input, shape ``(..., in_features)``.
        w: the forward weights, shape ``(out_features, in_features)``.

    Returns:
        ``(dx, dw, db)``, dtype of ``dout``.

    Raises:
        ValueError: if the shapes do not match a forward call.
    """
    raise NotImplementedError("fc_backward is not implemented yet")


def flatten_forward(x: Array) -> Array:
    """Flatten every axis but the first, row-major: ``torch.flatten(x, 1)``.

    Args:
        x: input of shape ``(N, d1, ..., dk)``, ``k >= 1``.

    Returns:
        ``out`` of shape ``(N, d1 * ... * dk)``: ``out[n]`` is ``x[n]`` read in C order (the
        last axis fastest). A view of ``x`` is fine: no function of the kit writes to its
        inputs.

    Raises:
        ValueError: if ``x`` has fewer than 2 axes.
    """
    raise NotImplementedError("flatten_forward is not implemented yet")


def flatten_backward(dout: Array, input_shape: tuple[int, ...]) -> Array:
    """Backward pass of ``flatten_forward``: ``dout`` back in the input's shape.

    Args:
        dout: upstream gradient, shape ``(N, d1 * ... * dk)``.
        input_shape: the forward input's shape ``(N, d1, ..., dk)``.

    Returns:
        ``dx`` of shape ``input_shape``, dtype of ``dout``.

    Raises:
        ValueError: if ``dout`` does not hold ``input_shape``'s number of elements per example.
    """
    raise NotImplementedError("flatten_backward is not implemented yet")


# ------------------------------------------------------------------ the network


def lenet_init(like: Array, seed: int = 0) -> dict[str, Array]:
    """LeNet-5's initial parameters, drawn with your own initializers.

    * ``conv1_w``, ``conv2_w``, ``fc1_w``, ``fc2_w`` (each followed by a ReLU):
      ``kaiming_uniform(w, nonlinearity="relu", seed=...)``;
    * ``fc3_w`` (the logits, no ReLU): ``xavier_uniform(w, seed=...)``;
    * every bias: zeros.

    The weight tensors are drawn in the order of the layers with the seeds ``10 * seed``,
    ``10 * seed + 1``, ..., ``10 * seed + 4`` (so the five draws differ, and two seeds never
    share one).

    Args:
        like: an array whose dtype (float32 or float64) and array module (NumPy, or CuPy on
            the GPU) the parameters take, for example the training images.
        seed: a non-negative int.

    Returns:
        ``params``, with the keys and shapes of the module docstring's table.

    Raises:
        ValueError: if ``seed`` is not a non-negative int.
    """
    raise NotImplementedError("lenet_init is not implemented yet")


def lenet_forward(params: dict[str, Array], x: Array) -> Array:
    """The logits of LeNet-5 for a batch of images (the module docstring's network).

    Args:
        params: the parameters (the module docstring's table), dtype of ``x``.
        x: images, shape ``(N, 1, 32, 32)``, float32 or float64.

    Returns:
        ``logits`` of shape ``(N, 10)``, dtype of ``x``.

    Raises:
        ValueError: if ``x`` is not ``(N, 1, 32, 32)`` or a parameter is missing or misshapen.
    """
    raise NotImplementedError("lenet_forward is not implemented yet")


def lenet_loss(params: dict[str, Array], x: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    """The softmax cross-entropy of LeNet-5's logits, and its gradient for every parameter.

    ``loss = softmax_cross_entropy(lenet_forward(params, x), y)[0]`` (the mean over the batch).

    Args:
        params: the parameters, dtype of ``x``.
        x: images, shape ``(N, 1, 32, 32)``.
        y: labels, shape ``(N,)``, integers in ``0 .. 9``.

    Returns:
        ``(loss, grads)``: the scalar loss (dtype of ``x``) and ``grads``, a dict with the keys
        and shapes of ``params``: ``grads[k] = dloss / dparams[k]``.

    Raises:
        ValueError: as ``lenet_forward``, or if ``y`` is not ``(N,)`` integer labels.
    """
    raise NotImplementedError("lenet_loss is not implemented yet")


# ------------------------------------------------------------------ training


def minibatches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The mini-batches of one epoch: the indices ``0 .. n-1`` in a seeded random order, cut
    into consecutive batches of ``batch_size`` (the last one smaller when ``batch_size`` does
    not divide ``n``). Given: not graded, use it as it is.

    The order is ``np.random.default_rng([seed, epoch]).permutation(n)``: the same for the
    same ``(seed, epoch)``, different between epochs.

    Returns:
        A list of int64 NumPy arrays (index the data with them).
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def learning_rate(step: int, total_steps: int, base_lr: float) -> float:
    """The learning rate of optimizer step ``step`` (0-based) of ``total_steps``: your choice.

    Any schedule that depends only on these three numbers may go here (constant, step decay,
    warm-up, ...); the graded training run calls it once per step. The reference decays the
    rate along a half cosine, from ``base_lr`` at the first step to ``base_lr / 100`` at the
    last (``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``eta_min = base_lr / 100``).

    Returns:
        A float, ``> 0``.
    """
    raise NotImplementedError("learning_rate is not implemented yet")


def train_step(
    params: dict[str, Array],
    velocities: dict[str, Array],
    x: Array,
    y: Array,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[dict[str, Array], dict[str, Array], Array]:
    """One optimizer step on one mini-batch: ``lenet_loss``, then your ``sgd`` on every
    parameter (``torch.optim.SGD(momentum=momentum, weight_decay=weight_decay)``).

    Args:
        params: the parameters before the step.
        velocities: SGD's velocity per parameter (same keys and shapes; zeros before the
            first step).
        x: the batch's images, ``(B, 1, 32, 32)``; y: its labels, ``(B,)``.
        lr, momentum, weight_decay: as ``sgd``'s (weight decay applies to every parameter).

    Returns:
        ``(new_params, new_velocities, loss)``: ``loss`` is the batch's loss BEFORE the step.
    """
    raise NotImplementedError("train_step is not implemented yet")


def evaluate(
    params: dict[str, Array], x: Array, y: Array, batch_size: int = 500
) -> tuple[float, float]:
    """Mean loss and accuracy of ``params`` on a data set, in batches of ``batch_size``.

    Returns:
        ``(loss, accuracy)``: the mean cross-entropy over all examples and the share of them
        whose largest logit is their label (ties: the first largest), both Python floats.
    """
    raise NotImplementedError("evaluate is not implemented yet")


def train(
    params: dict[str, Array],
    x_train: Array,
    y_train: Array,
    epochs: int,
    batch_size: int,
    base_lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, Array]], None] | None = None,
) -> tuple[dict[str, Array], list[float]]:
    """Train LeNet-5: ``epochs`` passes over the training set in the mini-batches of
    ``minibatches(n, batch_size, seed, epoch)``, one ``train_step`` per batch at the rate
    ``learning_rate(step, epochs * batches_per_epoch, base_lr)``.

    Args:
        params: the initial parameters (not modified).
        x_train: ``(n, 1, 32, 32)`` images; y_train: ``(n,)`` labels.
        epochs, batch_size: positive ints.
        base_lr, momentum, weight_decay: as ``train_step``'s.
        seed: the mini-batches' order.
        on_epoch: called as ``on_epoch(epoch, params)`` after each epoch, if given (for your
            own curves; the grader passes None).

    Returns:
        ``(params, losses)``: the trained parameters and every step's loss (before its step),
        in order, as Python floats.
    """
    raise NotImplementedError("train is not implemented yet")
