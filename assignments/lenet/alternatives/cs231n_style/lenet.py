"""VARIANT cs231n_style (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (``conv.py``
loops over kernel offsets with einsum, ``pooling.py`` uses sliding windows and ``add.at``,
``activations_losses.py`` and ``optimizers.py`` compute in the input dtype), written with
CS231n's conventions:

* the fully connected layer reshapes ``x`` to rows, ``x.reshape(-1, D).dot(w.T)``, adds the
  bias in place into that fresh product and reshapes back; its backward works on the rows too
  (``dx = dout_rows.dot(w)``, ``dw = dout_rows.T.dot(x_rows)``, ``db = dout_rows.sum(0)``);
* the network is a table of layers run by a ``for`` loop; every layer leaves a cache tuple in
  a list, and the backward walks the table reversed, filling ``grads`` from ``fc3`` down to
  ``conv1`` (the dict comes back in that order);
* ``lenet_init`` builds every weight in float64 (``xp.zeros(shape)``, as CS231n's models do)
  and casts the whole dict to the dtype of ``like`` at the end;
* ``evaluate`` concatenates the logits of all batches (a single forward when the set fits in
  one batch) and takes one loss and one ``argmax`` over the whole set;
* ``train`` converts each step's loss to a Python float as it goes; the learning rate is the
  reference's cosine, written with ``math.cos`` and ``0.01 * base_lr``;
* no upcasting anywhere: float32 stays float32.

LeNet-5 in its modern form, built from your own layers, and trained on handwritten digits::

    x      (N, 1, 32, 32)   conv1 5x5 1->6, relu, pool 2x2  -> (N, 6, 14, 14)
                            conv2 5x5 6->16, relu, pool 2x2 -> (N, 16, 5, 5)
    flatten (N, 400)        fc1 -> 120, relu, fc2 -> 84, relu, fc3 -> 10 logits

A fully connected layer follows ``torch.nn.functional.linear``: ``out = x @ w.T + b`` with
``w`` of shape ``(out_features, in_features)``. Functions never modify their inputs, arrays
keep the dtype of ``x``, and every function works on NumPy and CuPy arrays alike.
"""

from __future__ import annotations

import math
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

# The network, layer by layer: (kind, name of its parameters or None).
LAYERS = (
    ("conv", "conv1"),
    ("relu", None),
    ("pool", None),
    ("conv", "conv2"),
    ("relu", None),
    ("pool", None),
    ("flatten", None),
    ("fc", "fc1"),
    ("relu", None),
    ("fc", "fc2"),
    ("relu", None),
    ("fc", "fc3"),
)


# ------------------------------------------------------------------ fully connected, flatten


def fc_forward(x: Array, w: Array, b: Array | None) -> Array:
    """A fully connected layer: ``out = x @ w.T + b``, ``w`` of shape ``(M, D)``."""
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (out_features, in_features), got {tuple(w.shape)}")
    M, D = int(w.shape[0]), int(w.shape[1])
    if x.ndim < 1 or int(x.shape[-1]) != D:
        raise ValueError(f"x must have shape (..., {D}), got {tuple(x.shape)}")
    if b is not None and tuple(b.shape) != (M,):
        raise ValueError(f"b must have shape ({M},), got {tuple(b.shape)}")
    x_rows = x.reshape(-1, D)
    out = x_rows.dot(w.T)  # (rows, M), a new array
    if b is not None:
        out += b
    out = out.reshape((*x.shape[:-1], M))
    return out.astype(x.dtype, copy=False)


def fc_backward(dout: Array, x: Array, w: Array) -> tuple[Array, Array, Array]:
    """Backward pass of ``fc_forward``: ``(dx, dw, db)``, dtype of ``dout``."""
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (out_features, in_features), got {tuple(w.shape)}")
    M, D = int(w.shape[0]), int(w.shape[1])
    if x.ndim < 1 or int(x.shape[-1]) != D:
        raise ValueError(f"x must have shape (..., {D}), got {tuple(x.shape)}")
    expected = (*x.shape[:-1], M)
    if tuple(dout.shape) != expected:
        raise ValueError(f"dout has shape {tuple(dout.shape)}, expected {expected}")
    x_rows = x.reshape(-1, D)
    dout_rows = dout.reshape(-1, M)
    dx = dout_rows.dot(w).reshape(x.shape)
    dw = dout_rows.T.dot(x_rows)
    db = dout_rows.sum(axis=0)
    dtype = dout.dtype
    return dx.astype(dtype, copy=False), dw.astype(dtype, copy=False), db.astype(dtype)


def flatten_forward(x: Array) -> Array:
    """``torch.flatten(x, 1)``: ``(N, d1, ..., dk)`` to ``(N, d1 * ... * dk)``, C order."""
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes, got shape {tuple(x.shape)}")
    N = int(x.shape[0])
    D = 1
    for size in x.shape[1:]:
        D *= int(size)
    return x.reshape(N, D)


def flatten_backward(dout: Array, input_shape: tuple[int, ...]) -> Array:
    """Backward pass of ``flatten_forward``: ``dout`` reshaped to ``input_shape``."""
    shape = tuple(int(s) for s in input_shape)
    D = 1
    for size in shape[1:]:
        D *= size
    if len(shape) < 2 or tuple(dout.shape) != (shape[0], D):
        raise ValueError(f"dout of shape {tuple(dout.shape)} does not flatten {shape}")
    return dout.reshape(shape)


# ------------------------------------------------------------------ the network


def lenet_init(like: Array, seed: int = 0) -> dict[str, Array]:
    """Kaiming-uniform (ReLU) conv1, conv2, fc1, fc2; Xavier-uniform fc3; zero biases.

    The weights are drawn in the order of the layers with seeds ``10 * seed + i``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(like)
    params = {}
    weights = ["conv1_w", "conv2_w", "fc1_w", "fc2_w", "fc3_w"]
    for i, name in enumerate(weights):
        template = xp.zeros(PARAMETER_SHAPES[name])  # float64, cast at the end
        if name == "fc3_w":
            params[name] = xavier_uniform(template, seed=10 * seed + i)
        else:
            params[name] = kaiming_uniform(template, nonlinearity="relu", seed=10 * seed + i)
        bias = name.replace("_w", "_b")
        params[bias] = xp.zeros(PARAMETER_SHAPES[bias])
    for k, v in params.items():
        params[k] = v.astype(like.dtype)
    return params


def _check_inputs(params: dict[str, Array], x: Array) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != INPUT_SHAPE:
        raise ValueError(f"x must have shape (N, 1, 32, 32), got {tuple(x.shape)}")
    for k, shape in PARAMETER_SHAPES.items():
        if k not in params:
            raise ValueError(f"params is missing {k!r}")
        if tuple(params[k].shape) != shape:
            raise ValueError(f"params[{k!r}] must have shape {shape}, got {params[k].shape}")


def _layer_forward(kind: str, name: str | None, params: dict[str, Array], h: Array) -> tuple:
    if kind == "conv":
        w, b = params[name + "_w"], params[name + "_b"]
        return conv_forward(h, w, b), (h, w)
    if kind == "fc":
        w, b = params[name + "_w"], params[name + "_b"]
        return fc_forward(h, w, b), (h, w)
    if kind == "relu":
        return relu_forward(h), (h,)
    if kind == "pool":
        out, switches = max_pool_forward(h, 2, 2)
        return out, (switches, tuple(h.shape))
    return flatten_forward(h), (tuple(h.shape),)


def _model_forward(params: dict[str, Array], x: Array) -> tuple[Array, list]:
    _check_inputs(params, x)
    caches = []
    out = x
    for kind, name in LAYERS:
        out, cache = _layer_forward(kind, name, params, out)
        caches.append(cache)
    return out, caches


def _model_backward(dscores: Array, caches: list) -> dict[str, Array]:
    grads = {}
    dout = dscores
    for (kind, name), cache in zip(reversed(LAYERS), reversed(caches), strict=True):
        if kind == "fc":
            h, w = cache
            dout, grads[name + "_w"], grads[name + "_b"] = fc_backward(dout, h, w)
        elif kind == "conv":
            h, w = cache
            dout, grads[name + "_w"], grads[name + "_b"] = conv_backward(dout, h, w)
        elif kind == "relu":
            (h,) = cache
            dout = relu_backward(dout, h)
        elif kind == "pool":
            switches, shape = cache
            dout = max_pool_backward(dout, switches, shape)
        else:
            (shape,) = cache
            dout = flatten_backward(dout, shape)
    return grads


def lenet_forward(params: dict[str, Array], x: Array) -> Array:
    """The ``(N, 10)`` logits of LeNet-5 for images ``x`` of shape ``(N, 1, 32, 32)``."""
    scores, _ = _model_forward(params, x)
    return scores


def lenet_loss(params: dict[str, Array], x: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    """Softmax cross-entropy of the logits (mean over the batch) and every parameter's
    gradient."""
    scores, caches = _model_forward(params, x)
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = _model_backward(dscores, caches)
    return loss, grads


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
    """Cosine annealing from ``base_lr`` (first step) to ``base_lr / 100`` (last step)."""
    if total_steps <= 1:
        return float(base_lr)
    lr_min = 0.01 * base_lr
    t = step / (total_steps - 1)
    return float(lr_min + 0.5 * (base_lr - lr_min) * (1.0 + math.cos(math.pi * t)))


def train_step(
    params: dict[str, Array],
    velocities: dict[str, Array],
    x: Array,
    y: Array,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[dict[str, Array], dict[str, Array], Array]:
    """``lenet_loss`` on the batch, then one ``sgd`` step per parameter; the loss is the
    one before the step."""
    loss, grads = lenet_loss(params, x, y)
    next_params = {}
    next_velocities = {}
    for p, dw in grads.items():
        config = {"velocity": velocities[p]}
        next_w, next_config = sgd(
            params[p], dw, config, lr, momentum=momentum, weight_decay=weight_decay
        )
        next_params[p] = next_w
        next_velocities[p] = next_config["velocity"]
    return next_params, next_velocities, loss


def evaluate(
    params: dict[str, Array], x: Array, y: Array, batch_size: int = 500
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over the whole set, as Python floats."""
    xp = get_array_module(x)
    N = int(x.shape[0])
    if N <= batch_size:
        scores = lenet_forward(params, x)
    else:
        scores = xp.concatenate(
            [lenet_forward(params, x[i : i + batch_size]) for i in range(0, N, batch_size)]
        )
    loss, _ = softmax_cross_entropy(scores, y)
    y_pred = scores.argmax(axis=1)
    acc = float((y_pred == y).mean())
    return float(loss), acc


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
    """SGD with momentum over ``epochs`` passes in the batches of ``minibatches``, at the rate
    ``learning_rate(step, epochs * batches_per_epoch, base_lr)``; every step's loss."""
    xp = get_array_module(x_train)
    num_train = int(x_train.shape[0])
    iterations_per_epoch = -(-num_train // batch_size)  # the last batch may be smaller
    num_iterations = epochs * iterations_per_epoch
    velocities = {p: xp.zeros_like(w) for p, w in params.items()}
    loss_history = []
    it = 0
    for epoch in range(epochs):
        for batch_idx in minibatches(num_train, batch_size, seed, epoch):
            idx = xp.asarray(batch_idx)
            X_batch, y_batch = x_train[idx], y_train[idx]
            lr = learning_rate(it, num_iterations, base_lr)
            params, velocities, loss = train_step(
                params, velocities, X_batch, y_batch, lr, momentum, weight_decay
            )
            loss_history.append(float(loss))
            it += 1
        if on_epoch is not None:
            on_epoch(epoch, params)
    return params, loss_history
