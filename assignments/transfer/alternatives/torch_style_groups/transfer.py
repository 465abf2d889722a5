"""VARIANT torch_style_groups (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (the lenet
capstone's ``cs231n_style`` and its own siblings), and written the way PyTorch code reads:

* the network is a table of layers run by a ``for`` loop, each leaving its cache in a list;
  ``extract_features`` runs the table up to fc2's ReLU, ``transfer_forward`` all of it;
* ``transfer_loss`` backpropagates through the whole table, every parameter's gradient, and
  keeps those ``wrt`` names at the end (autograd's ``requires_grad`` filter applied last);
* ``relabel`` looks the labels up with ``searchsorted`` in the sorted classes;
* the optimizer is a list of parameter groups, ``[{"params": [...], "lr": ...}, ...]``, one
  per layer that learns, and its step is written out, ``v = momentum * v + dw + wd * w``,
  ``w = w - lr * v`` (``torch.optim.SGD``'s, not ``sgd``'s code); ``train_head`` is the same
  step on the head's single group;
* the losses are converted to Python floats as they come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from activations_losses import relu_backward, relu_forward, softmax_cross_entropy
from conv import conv_backward, conv_forward
from lenet import fc_backward, fc_forward, flatten_backward, flatten_forward, minibatches
from optimizers import xavier_uniform
from pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any

LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
BACKBONE_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1_w": (6, 1, 5, 5),
    "conv1_b": (6,),
    "conv2_w": (16, 6, 5, 5),
    "conv2_b": (16,),
    "fc1_w": (120, 400),
    "fc1_b": (120,),
    "fc2_w": (84, 120),
    "fc2_b": (84,),
}
FEATURE_LAYER = "fc2"
N_FEATURES = 84

# (kind, layer): the network as a table; the features end after fc2's relu (index 10).
TABLE = (
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
FEATURES_END = 11


def parameter_names() -> list[str]:
    return [f"{layer}_{kind}" for layer in LAYERS for kind in ("w", "b")]


def few_shot_indices(
    y: np.ndarray, classes: Sequence[int], per_class: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def relabel(y: Array, classes: Sequence[int]) -> Array:
    xp = get_array_module(y)
    order = np.argsort(np.asarray(list(classes), dtype=np.int64), kind="stable")
    ordered = xp.asarray(np.asarray(list(classes), dtype=np.int64)[order])
    position = xp.searchsorted(ordered, y.astype(xp.int64))
    position = xp.minimum(position, len(order) - 1)
    if bool(xp.any(ordered[position] != y)):
        raise ValueError("y holds labels that are not among the classes")
    return xp.asarray(order.astype(np.int64))[position]


def _run(params: dict[str, Array], h: Array, stop: int) -> tuple[Array, list]:
    caches = []
    for kind, name in TABLE[:stop]:
        if kind == "conv":
            out = conv_forward(h, params[name + "_w"], params[name + "_b"])
        elif kind == "fc":
            out = fc_forward(h, params[name + "_w"], params[name + "_b"])
        elif kind == "relu":
            out = relu_forward(h)
        elif kind == "pool":
            out, switches = max_pool_forward(h, 2)
            caches.append((kind, name, h, switches))
            h = out
            continue
        else:
            out = flatten_forward(h)
        caches.append((kind, name, h, None))
        h = out
    return h, caches


def extract_features(backbone: dict[str, Array], x: Array, batch_size: int = 256) -> Array:
    xp = get_array_module(x)
    chunks = []
    for start in range(0, int(x.shape[0]), batch_size):
        chunks.append(_run(backbone, x[start : start + batch_size], FEATURES_END)[0])
    return xp.concatenate(chunks).astype(x.dtype, copy=False)


def head_init(like: Array, n_classes: int, seed: int = 0) -> dict[str, Array]:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError("n_classes must be a positive int")
    xp = get_array_module(like)
    template = xp.zeros((n_classes, N_FEATURES), dtype=xp.float64)
    return {
        "fc3_w": xavier_uniform(template, seed=seed).astype(like.dtype),
        "fc3_b": xp.zeros(n_classes, dtype=like.dtype),
    }


def head_loss(head: dict[str, Array], features: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    scores = features.dot(head["fc3_w"].T) + head["fc3_b"]
    loss, dscores = softmax_cross_entropy(scores.astype(features.dtype, copy=False), y)
    return loss, {
        "fc3_w": dscores.T.dot(features).astype(features.dtype, copy=False),
        "fc3_b": dscores.sum(axis=0).astype(features.dtype, copy=False),
    }


def _sgd_groups(params, velocities, grads, groups, momentum, weight_decay):
    new_params, new_velocities = dict(params), dict(velocities)
    for group in groups:
        for name in group["params"]:
            w = params[name]
            dtype = w.dtype
            d_p = grads[name] + dtype.type(weight_decay) * w
            v = (dtype.type(momentum) * velocities[name] + d_p).astype(dtype, copy=False)
            new_velocities[name] = v
            new_params[name] = (w - dtype.type(group["lr"]) * v).astype(dtype, copy=False)
    return new_params, new_velocities


def train_head(
    head: dict[str, Array],
    features: Array,
    y: Array,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, Array]], None] | None = None,
) -> tuple[dict[str, Array], list[float]]:
    xp = get_array_module(features)
    groups = [{"params": ["fc3_w", "fc3_b"], "lr": lr}]
    velocities = {name: xp.zeros_like(value) for name, value in head.items()}
    history: list[float] = []
    for epoch in range(epochs):
        for index in minibatches(int(features.shape[0]), batch_size, seed, epoch):
            batch = xp.asarray(index)
            loss, grads = head_loss(head, features[batch], y[batch])
            history.append(float(loss))
            head, velocities = _sgd_groups(head, velocities, grads, groups, momentum, weight_decay)
        if on_epoch is not None:
            on_epoch(epoch, head)
    return head, history


def transfer_forward(params: dict[str, Array], x: Array) -> Array:
    return _run(params, x, len(TABLE))[0]


def trainable_parameters(lrs: dict[str, float], trainable: Sequence[str]) -> list[str]:
    for layer, lr in lrs.items():
        if layer not in LAYERS or not lr >= 0:
            raise ValueError(f"bad rate for {layer!r}")
    if not set(trainable) <= set(LAYERS):
        raise ValueError("trainable names layers that do not exist")
    learning = {layer for layer in trainable if lrs.get(layer, 0.0) > 0}
    return [name for name in parameter_names() if name[:-2] in learning]


def transfer_loss(
    params: dict[str, Array], x: Array, y: Array, wrt: Sequence[str]
) -> tuple[Array, dict[str, Array]]:
    scores, caches = _run(params, x, len(TABLE))
    loss, dout = softmax_cross_entropy(scores, y)
    grads: dict[str, Array] = {}
    for kind, name, h, extra in reversed(caches):
        if kind == "fc":
            dout, grads[name + "_w"], grads[name + "_b"] = fc_backward(dout, h, params[name + "_w"])
        elif kind == "conv":
            dout, grads[name + "_w"], grads[name + "_b"] = conv_backward(
                dout, h, params[name + "_w"]
            )
        elif kind == "relu":
            dout = relu_backward(dout, h)
        elif kind == "pool":
            dout = max_pool_backward(dout, extra, tuple(h.shape))
        else:
            dout = flatten_backward(dout, tuple(h.shape))
    return loss, {name: grads[name] for name in parameter_names() if name in wrt}


def finetune_step(
    params: dict[str, Array],
    velocities: dict[str, Array],
    x: Array,
    y: Array,
    lrs: dict[str, float],
    trainable: Sequence[str],
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[dict[str, Array], dict[str, Array], Array]:
    learning = trainable_parameters(lrs, trainable)
    groups = [
        {"params": [f"{layer}_w", f"{layer}_b"], "lr": lrs[layer]}
        for layer in LAYERS
        if f"{layer}_w" in learning
    ]
    loss, grads = transfer_loss(params, x, y, learning)
    new_params, new_velocities = _sgd_groups(
        params, velocities, grads, groups, momentum, weight_decay
    )
    return new_params, new_velocities, loss


def train_finetune(
    params: dict[str, Array],
    x: Array,
    y: Array,
    lrs: dict[str, float],
    trainable: Sequence[str],
    epochs: int,
    batch_size: int,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, Array]], None] | None = None,
) -> tuple[dict[str, Array], list[float]]:
    xp = get_array_module(x)
    velocities = {name: xp.zeros_like(value) for name, value in params.items()}
    history: list[float] = []
    for epoch in range(epochs):
        for index in minibatches(int(x.shape[0]), batch_size, seed, epoch):
            batch = xp.asarray(index)
            params, velocities, loss = finetune_step(
                params, velocities, x[batch], y[batch], lrs, trainable, momentum, weight_decay
            )
            history.append(float(loss))
        if on_epoch is not None:
            on_epoch(epoch, params)
    return params, history
