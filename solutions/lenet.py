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

from solutions.activations_losses import relu_backward, relu_forward, softmax_cross_entropy
from solutions.conv import conv_backward, conv_forward
from solutions.optimizers import kaiming_uniform, sgd, xavier_uniform
from solutions.pooling import max_pool_backward, max_pool_forward

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
    # BEGIN SOLUTION
    _check_fc(x, w)
    out = x @ w.T
    if b is not None:
        if tuple(b.shape) != (w.shape[0],):
            raise ValueError(f"b must have shape ({w.shape[0]},), got {tuple(b.shape)}")
        out = out + b
    return out.astype(x.dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_fc(x, w)
    out_features, in_features = (int(v) for v in w.shape)
    expected = (*x.shape[:-1], out_features)
    if tuple(dout.shape) != expected:
        raise ValueError(f"dout must have shape {expected}, got {tuple(dout.shape)}")
    rows = dout.reshape(-1, out_features)
    dx = dout @ w
    dw = rows.T @ x.reshape(-1, in_features)
    db = rows.sum(axis=0)
    dtype = dout.dtype
    return dx.astype(dtype, copy=False), dw.astype(dtype, copy=False), db.astype(dtype)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (N, ...), got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0], -1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    shape = tuple(int(v) for v in input_shape)
    if len(shape) < 2 or tuple(dout.shape) != (shape[0], int(np.prod(shape[1:]))):
        raise ValueError(f"dout of shape {tuple(dout.shape)} does not flatten input_shape {shape}")
    return dout.reshape(shape)
    # END SOLUTION


# BEGIN SOLUTION
def _check_fc(x: Array, w: Array) -> None:
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"x must have shape (..., {w.shape[1]}) for w of shape {tuple(w.shape)}, got "
            f"{tuple(x.shape)}"
        )


# END SOLUTION


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
    # BEGIN SOLUTION
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(like)
    params: dict[str, Array] = {}
    weights = [name for name in PARAMETER_SHAPES if name.endswith("_w")]
    for index, name in enumerate(weights):
        empty = xp.zeros(PARAMETER_SHAPES[name], dtype=like.dtype)
        if name == "fc3_w":
            params[name] = xavier_uniform(empty, seed=10 * seed + index)
        else:
            params[name] = kaiming_uniform(empty, nonlinearity="relu", seed=10 * seed + index)
        bias = name[:-1] + "b"
        params[bias] = xp.zeros(PARAMETER_SHAPES[bias], dtype=like.dtype)
    return {name: params[name] for name in PARAMETER_SHAPES}
    # END SOLUTION


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
    # BEGIN SOLUTION
    logits, _ = _forward(params, x)
    return logits
    # END SOLUTION


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
    # BEGIN SOLUTION
    logits, cache = _forward(params, x)
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, _backward(params, cache, dlogits)
    # END SOLUTION


# BEGIN SOLUTION
def _check_params(params: dict[str, Array], x: Array) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != INPUT_SHAPE:
        raise ValueError(f"x must have shape (N, 1, 32, 32), got {tuple(x.shape)}")
    for name, shape in PARAMETER_SHAPES.items():
        if name not in params:
            raise ValueError(f"params has no {name!r} (it needs {list(PARAMETER_SHAPES)})")
        if tuple(params[name].shape) != shape:
            raise ValueError(
                f"params[{name!r}] must have shape {shape}, got {tuple(params[name].shape)}"
            )


def _forward(params: dict[str, Array], x: Array) -> tuple[Array, dict[str, Any]]:
    _check_params(params, x)
    p = params
    cache: dict[str, Any] = {"x": x}
    cache["c1"] = conv_forward(x, p["conv1_w"], p["conv1_b"])
    cache["r1"] = relu_forward(cache["c1"])
    cache["p1"], cache["s1"] = max_pool_forward(cache["r1"], 2)
    cache["c2"] = conv_forward(cache["p1"], p["conv2_w"], p["conv2_b"])
    cache["r2"] = relu_forward(cache["c2"])
    cache["p2"], cache["s2"] = max_pool_forward(cache["r2"], 2)
    cache["f"] = flatten_forward(cache["p2"])
    cache["h1"] = fc_forward(cache["f"], p["fc1_w"], p["fc1_b"])
    cache["a1"] = relu_forward(cache["h1"])
    cache["h2"] = fc_forward(cache["a1"], p["fc2_w"], p["fc2_b"])
    cache["a2"] = relu_forward(cache["h2"])
    logits = fc_forward(cache["a2"], p["fc3_w"], p["fc3_b"])
    return logits, cache


def _backward(params: dict[str, Array], cache: dict[str, Any], dlogits: Array) -> dict[str, Array]:
    p, c = params, cache
    grads: dict[str, Array] = {}
    da2, grads["fc3_w"], grads["fc3_b"] = fc_backward(dlogits, c["a2"], p["fc3_w"])
    dh2 = relu_backward(da2, c["h2"])
    da1, grads["fc2_w"], grads["fc2_b"] = fc_backward(dh2, c["a1"], p["fc2_w"])
    dh1 = relu_backward(da1, c["h1"])
    df, grads["fc1_w"], grads["fc1_b"] = fc_backward(dh1, c["f"], p["fc1_w"])
    dp2 = flatten_backward(df, tuple(c["p2"].shape))
    dr2 = max_pool_backward(dp2, c["s2"], tuple(c["r2"].shape))
    dc2 = relu_backward(dr2, c["c2"])
    dp1, grads["conv2_w"], grads["conv2_b"] = conv_backward(dc2, c["p1"], p["conv2_w"])
    dr1 = max_pool_backward(dp1, c["s1"], tuple(c["r1"].shape))
    dc1 = relu_backward(dr1, c["c1"])
    _, grads["conv1_w"], grads["conv1_b"] = conv_backward(dc1, c["x"], p["conv1_w"])
    return {name: grads[name] for name in PARAMETER_SHAPES}


# END SOLUTION


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
    # BEGIN SOLUTION
    if total_steps <= 1:
        return float(base_lr)
    low = base_lr / 100.0
    progress = step / (total_steps - 1)
    return float(low + (base_lr - low) * 0.5 * (1.0 + np.cos(np.pi * progress)))
    # END SOLUTION


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
    # BEGIN SOLUTION
    loss, grads = lenet_loss(params, x, y)
    new_params: dict[str, Array] = {}
    new_velocities: dict[str, Array] = {}
    for name in PARAMETER_SHAPES:
        new_params[name], state = sgd(
            params[name],
            grads[name],
            {"velocity": velocities[name]},
            lr,
            momentum=momentum,
            weight_decay=weight_decay,
        )
        new_velocities[name] = state["velocity"]
    return new_params, new_velocities, loss
    # END SOLUTION


def evaluate(
    params: dict[str, Array], x: Array, y: Array, batch_size: int = 500
) -> tuple[float, float]:
    """Mean loss and accuracy of ``params`` on a data set, in batches of ``batch_size``.

    Returns:
        ``(loss, accuracy)``: the mean cross-entropy over all examples and the share of them
        whose largest logit is their label (ties: the first largest), both Python floats.
    """
    # BEGIN SOLUTION
    total_loss = 0.0
    correct = 0
    n = int(x.shape[0])
    for start in range(0, n, batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        logits = lenet_forward(params, xb)
        loss, _ = softmax_cross_entropy(logits, yb)
        total_loss += float(loss) * int(xb.shape[0])
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / n, correct / n
    # END SOLUTION


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
    # BEGIN SOLUTION
    n = int(x_train.shape[0])
    per_epoch = len(minibatches(n, batch_size, seed, 0))
    total = epochs * per_epoch
    xp = get_array_module(x_train)
    velocities = {name: value * 0 for name, value in params.items()}
    losses = []  # left on the device: one transfer at the end, not one per step
    step = 0
    for epoch in range(epochs):
        for index in minibatches(n, batch_size, seed, epoch):
            batch = xp.asarray(index)
            lr = learning_rate(step, total, base_lr)
            params, velocities, loss = train_step(
                params, velocities, x_train[batch], y_train[batch], lr, momentum, weight_decay
            )
            losses.append(loss)
            step += 1
        if on_epoch is not None:
            on_epoch(epoch, params)
    return params, [float(v) for v in xp.stack(losses).tolist()]
    # END SOLUTION
