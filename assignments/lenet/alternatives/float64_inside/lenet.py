"""VARIANT float64_inside (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (``conv.py`` is
im2col in float64 with ``add.at``, ``activations_losses.py`` and ``optimizers.py`` compute in
float64 inside; ``pooling.py`` uses sliding windows and ``add.at``, max-pooling being exact in
any dtype), and itself "float64 inside, input dtype outside":

* the fully connected layer is written with ``einsum`` (``"...i,oi->...o"`` forward,
  ``"...o,oi->...i"`` and ``"no,ni->oi"`` backward) on float64 copies of its operands, and
  casts its results back to the input dtype only on return;
* inside the network the whole fully connected head (fc1, relu, fc2, relu, fc3) and the loss
  stay in float64: the flattened features are upcast once, and only the head's gradients and
  the gradient reaching the convolutional part are cast back (the loss, the logits and every
  gradient are returned in the dtype of ``x``);
* each convolutional stage pools BEFORE its ReLU (max-pooling and ReLU commute, and so do
  their gradients, ReLU's derivative at 0 being 0): the ReLU then sees a quarter of the values;
* ``lenet_init`` draws every weight on a float64 template and casts it to the dtype of
  ``like``; ``train_step`` builds its dicts by comprehension; ``evaluate`` takes its argmax on
  the float64 logits and counts with ``count_nonzero``; ``train`` writes the losses into a
  preallocated float64 array and converts it once at the end; the learning rate is the
  reference's cosine written as ``base_lr * (0.01 + 0.99 * (1 + cos) / 2)``.

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

_HEAD = ("fc1", "fc2", "fc3")


# ------------------------------------------------------------------ fully connected, flatten


def _check_linear(x: Array, w: Array) -> tuple[int, int]:
    if getattr(w, "ndim", None) != 2:
        raise ValueError(f"w must be 2-D (out_features, in_features), got {tuple(w.shape)}")
    out_features, in_features = (int(s) for s in w.shape)
    if x.ndim == 0 or int(x.shape[-1]) != in_features:
        raise ValueError(f"x must have shape (..., {in_features}), got {tuple(x.shape)}")
    return out_features, in_features


def _linear64(x64: Array, w64: Array, b64: Array | None) -> Array:
    """``x @ w.T + b`` on float64 operands, in float64."""
    xp = get_array_module(x64, w64)
    out = xp.einsum("...i,oi->...o", x64, w64)
    return out if b64 is None else out + b64


def _linear64_backward(dout64: Array, x64: Array, w64: Array) -> tuple[Array, Array, Array]:
    """``(dx, dw, db)`` of ``_linear64``, all float64."""
    xp = get_array_module(dout64, x64, w64)
    out_features, in_features = (int(s) for s in w64.shape)
    rows = dout64.reshape(-1, out_features)
    dx = xp.einsum("...o,oi->...i", dout64, w64)
    dw = xp.einsum("no,ni->oi", rows, x64.reshape(-1, in_features))
    db = rows.sum(axis=0)
    return dx, dw, db


def fc_forward(x: Array, w: Array, b: Array | None) -> Array:
    """A fully connected layer, ``out = x @ w.T + b``: computed in float64, returned in the
    dtype of ``x``."""
    out_features, _ = _check_linear(x, w)
    xp = get_array_module(x, w)
    b64 = None
    if b is not None:
        if tuple(b.shape) != (out_features,):
            raise ValueError(f"b must have shape ({out_features},), got {tuple(b.shape)}")
        b64 = b.astype(xp.float64)
    out = _linear64(x.astype(xp.float64), w.astype(xp.float64), b64)
    return out.astype(x.dtype)


def fc_backward(dout: Array, x: Array, w: Array) -> tuple[Array, Array, Array]:
    """Backward pass of ``fc_forward``: ``(dx, dw, db)`` computed in float64, returned in the
    dtype of ``dout``."""
    out_features, _ = _check_linear(x, w)
    if tuple(dout.shape) != (*x.shape[:-1], out_features):
        raise ValueError(
            f"dout must have shape {(*x.shape[:-1], out_features)}, got {tuple(dout.shape)}"
        )
    xp = get_array_module(dout, x, w)
    f64 = xp.float64
    grads = _linear64_backward(dout.astype(f64), x.astype(f64), w.astype(f64))
    return tuple(g.astype(dout.dtype) for g in grads)


def flatten_forward(x: Array) -> Array:
    """``torch.flatten(x, 1)``: every axis but the first, read in C order."""
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (N, ...), got shape {tuple(x.shape)}")
    return x.reshape(int(x.shape[0]), math.prod(int(s) for s in x.shape[1:]))


def flatten_backward(dout: Array, input_shape: tuple[int, ...]) -> Array:
    """Backward pass of ``flatten_forward``: ``dout`` in the input's shape."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) < 2 or tuple(dout.shape) != (shape[0], math.prod(shape[1:])):
        raise ValueError(f"dout of shape {tuple(dout.shape)} does not flatten input_shape {shape}")
    return dout.reshape(shape)


# ------------------------------------------------------------------ the network


def lenet_init(like: Array, seed: int = 0) -> dict[str, Array]:
    """Kaiming-uniform (ReLU) conv1, conv2, fc1, fc2; Xavier-uniform fc3; zero biases.

    The weights are drawn in the order of the layers with seeds ``10 * seed + i``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    xp = get_array_module(like)
    dtype = like.dtype
    weight_names = [k for k in PARAMETER_SHAPES if k.endswith("_w")]
    params = {}
    for k in PARAMETER_SHAPES:
        template = xp.zeros(PARAMETER_SHAPES[k], dtype=xp.float64)
        if k.endswith("_b"):
            params[k] = template.astype(dtype)
            continue
        draw_seed = 10 * seed + weight_names.index(k)
        if k == "fc3_w":
            drawn = xavier_uniform(template, seed=draw_seed)
        else:
            drawn = kaiming_uniform(template, nonlinearity="relu", seed=draw_seed)
        params[k] = drawn.astype(dtype)
    return params


def _validate(params: dict[str, Array], x: Array) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != INPUT_SHAPE:
        raise ValueError(f"x must have shape (N, 1, 32, 32), got {tuple(x.shape)}")
    missing = [k for k in PARAMETER_SHAPES if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    for k, shape in PARAMETER_SHAPES.items():
        if tuple(params[k].shape) != shape:
            raise ValueError(f"params[{k!r}] must have shape {shape}, got {params[k].shape}")


def _conv_stage(x: Array, w: Array, b: Array) -> dict[str, Any]:
    """conv -> pool -> relu (the same as conv -> relu -> pool), with what backward needs."""
    stage: dict[str, Any] = {"input": x, "w": w}
    stage["conv"] = conv_forward(x, w, b)
    stage["pooled"], stage["switches"] = max_pool_forward(stage["conv"], 2)
    stage["out"] = relu_forward(stage["pooled"])
    return stage


def _conv_stage_backward(dout: Array, stage: dict[str, Any]) -> tuple[Array, Array, Array]:
    dpooled = relu_backward(dout, stage["pooled"])
    dconv = max_pool_backward(dpooled, stage["switches"], tuple(stage["conv"].shape))
    return conv_backward(dconv, stage["input"], stage["w"])


def _forward64(params: dict[str, Array], x: Array) -> tuple[Array, dict[str, Any]]:
    """The float64 logits, and every intermediate (the head's in float64)."""
    _validate(params, x)
    xp = get_array_module(x)
    f64 = xp.float64
    s: dict[str, Any] = {}
    s["stage1"] = _conv_stage(x, params["conv1_w"], params["conv1_b"])
    s["stage2"] = _conv_stage(s["stage1"]["out"], params["conv2_w"], params["conv2_b"])
    features = flatten_forward(s["stage2"]["out"]).astype(f64)
    for layer in _HEAD:
        w64, b64 = params[layer + "_w"].astype(f64), params[layer + "_b"].astype(f64)
        s[layer] = {"input": features, "w": w64}
        pre = _linear64(features, w64, b64)
        if layer == "fc3":
            return pre, s
        s[layer]["pre"] = pre
        features = relu_forward(pre)
    raise AssertionError("unreachable")


def _backward64(dlogits64: Array, s: dict[str, Any], dtype: Any) -> dict[str, Array]:
    grads: dict[str, Array] = {}
    d = dlogits64
    for layer in reversed(_HEAD):
        cache = s[layer]
        if layer != "fc3":
            d = relu_backward(d, s[layer]["pre"])
        d, dw, db = _linear64_backward(d, cache["input"], cache["w"])
        grads[layer + "_w"], grads[layer + "_b"] = dw.astype(dtype), db.astype(dtype)
    d = flatten_backward(d.astype(dtype), tuple(s["stage2"]["out"].shape))
    d, grads["conv2_w"], grads["conv2_b"] = _conv_stage_backward(d, s["stage2"])
    _, grads["conv1_w"], grads["conv1_b"] = _conv_stage_backward(d, s["stage1"])
    return {k: grads[k] for k in PARAMETER_SHAPES}


def lenet_forward(params: dict[str, Array], x: Array) -> Array:
    """The ``(N, 10)`` logits of LeNet-5 (the head in float64), in the dtype of ``x``."""
    logits64, _ = _forward64(params, x)
    return logits64.astype(x.dtype)


def lenet_loss(params: dict[str, Array], x: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    """Softmax cross-entropy (mean over the batch, in float64) and every parameter's gradient,
    both in the dtype of ``x``."""
    xp = get_array_module(x)
    logits64, s = _forward64(params, x)
    loss64, dlogits64 = softmax_cross_entropy(logits64, y)
    grads = _backward64(dlogits64, s, x.dtype)
    return xp.asarray(loss64).astype(x.dtype), grads


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
    """Half-cosine decay from ``base_lr`` at step 0 to ``base_lr / 100`` at the last step."""
    if total_steps <= 1:
        return float(base_lr)
    cosine = 0.5 * (1.0 + math.cos(math.pi * step / (total_steps - 1)))
    return float(base_lr * (0.01 + 0.99 * cosine))


def train_step(
    params: dict[str, Array],
    velocities: dict[str, Array],
    x: Array,
    y: Array,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[dict[str, Array], dict[str, Array], Array]:
    """``lenet_loss``, then ``sgd`` with momentum and weight decay on every parameter."""
    loss, grads = lenet_loss(params, x, y)
    steps = {
        k: sgd(
            params[k],
            grads[k],
            {"velocity": velocities[k]},
            lr,
            momentum=momentum,
            weight_decay=weight_decay,
        )
        for k in PARAMETER_SHAPES
    }
    new_params = {k: w for k, (w, _) in steps.items()}
    new_velocities = {k: state["velocity"] for k, (_, state) in steps.items()}
    return new_params, new_velocities, loss


def evaluate(
    params: dict[str, Array], x: Array, y: Array, batch_size: int = 500
) -> tuple[float, float]:
    """Mean loss and accuracy on a data set, in batches of ``batch_size``; Python floats."""
    xp = get_array_module(x)
    n = int(x.shape[0])
    loss_sum = 0.0
    hits = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        logits64, _ = _forward64(params, x[start:stop])
        loss64, _ = softmax_cross_entropy(logits64, y[start:stop])
        loss_sum += float(loss64) * (stop - start)
        hits += int(xp.count_nonzero(xp.argmax(logits64, axis=1) == y[start:stop]))
    return loss_sum / n, hits / n


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
    """``epochs`` passes in the batches of ``minibatches``, one ``train_step`` per batch at
    ``learning_rate(step, total, base_lr)``; the trained params and every step's loss."""
    xp = get_array_module(x_train)
    n = int(x_train.shape[0])
    per_epoch = math.ceil(n / batch_size)
    total = epochs * per_epoch
    velocities = {k: xp.zeros(v.shape, dtype=v.dtype) for k, v in params.items()}
    losses = xp.zeros(total, dtype=xp.float64)
    for epoch in range(epochs):
        for i, index in enumerate(minibatches(n, batch_size, seed, epoch)):
            step = epoch * per_epoch + i
            rows = xp.asarray(index)
            params, velocities, losses[step] = train_step(
                params,
                velocities,
                x_train[rows],
                y_train[rows],
                learning_rate(step, total, base_lr),
                momentum,
                weight_decay,
            )
        if on_epoch is not None:
            on_epoch(epoch, params)
    return params, [float(v) for v in losses.tolist()]
