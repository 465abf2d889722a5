"""VARIANT float64_inside (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (the lenet
capstone's ``float64_inside`` and its own siblings), and itself "float64 inside, input dtype
outside":

* every computation runs on float64 copies (the images, the parameters, the features), and
  results are cast back to the input dtype on return; a frozen parameter is never copied: the
  very array given comes back, with its velocity;
* the features are computed in one pass over all images (``batch_size`` only bounds nothing
  here: the result does not depend on it);
* ``relabel`` builds a dense lookup table over ``min(y) .. max(y)``;
* ``transfer_loss`` runs the backward pass layer by layer from the head down, with a
  ``needed`` set it shrinks as it goes, and stops when no parameter below is asked for;
* the optimizer step uses ``sgd`` on float64 copies, one parameter at a time, with its layer's
  rate looked up through a per-parameter dict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from activations_losses import relu_backward, relu_forward, softmax_cross_entropy
from conv import conv_backward, conv_forward
from lenet import fc_backward, fc_forward, flatten_backward, flatten_forward, minibatches
from optimizers import sgd, xavier_uniform
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


def parameter_names() -> list[str]:
    return [f"{layer}_{kind}" for layer in LAYERS for kind in ("w", "b")]


def few_shot_indices(
    y: np.ndarray, classes: Sequence[int], per_class: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _f64(params: dict[str, Array]) -> dict[str, Array]:
    return {name: value.astype(np.float64) for name, value in params.items()}


def relabel(y: Array, classes: Sequence[int]) -> Array:
    xp = get_array_module(y)
    classes = [int(c) for c in classes]
    low = min(min(classes), int(y.min()))
    high = max(max(classes), int(y.max()))
    table = np.full(high - low + 1, -1, dtype=np.int64)
    for index, old in enumerate(classes):
        table[old - low] = index
    out = xp.asarray(table)[(y - low).astype(xp.int64)]
    if bool((out < 0).any()):
        raise ValueError("y holds labels that are not among the classes")
    return out


def _features(p: dict[str, Array], x: Array) -> tuple[Array, dict[str, Any]]:
    c: dict[str, Any] = {"x": x}
    c["c1"] = conv_forward(x, p["conv1_w"], p["conv1_b"])
    c["r1"] = relu_forward(c["c1"])
    c["p1"], c["s1"] = max_pool_forward(c["r1"], 2)
    c["c2"] = conv_forward(c["p1"], p["conv2_w"], p["conv2_b"])
    c["r2"] = relu_forward(c["c2"])
    c["p2"], c["s2"] = max_pool_forward(c["r2"], 2)
    c["f"] = flatten_forward(c["p2"])
    c["h1"] = fc_forward(c["f"], p["fc1_w"], p["fc1_b"])
    c["a1"] = relu_forward(c["h1"])
    c["h2"] = fc_forward(c["a1"], p["fc2_w"], p["fc2_b"])
    return relu_forward(c["h2"]), c


def extract_features(backbone: dict[str, Array], x: Array, batch_size: int = 256) -> Array:
    p = _f64({k: v for k, v in backbone.items() if k in BACKBONE_SHAPES})
    return _features(p, x.astype(np.float64))[0].astype(x.dtype)


def head_init(like: Array, n_classes: int, seed: int = 0) -> dict[str, Array]:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError("n_classes must be a positive int")
    xp = get_array_module(like)
    w = xavier_uniform(xp.zeros((n_classes, N_FEATURES), dtype=like.dtype), seed=seed)
    return {"fc3_w": w, "fc3_b": xp.zeros((n_classes,), dtype=like.dtype)}


def head_loss(head: dict[str, Array], features: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    dtype = features.dtype
    f, w, b = features.astype(np.float64), head["fc3_w"].astype(np.float64), head["fc3_b"]
    loss, dlogits = softmax_cross_entropy(f @ w.T + b.astype(np.float64), y)
    return loss.astype(dtype), {
        "fc3_w": (dlogits.T @ f).astype(dtype),
        "fc3_b": dlogits.sum(axis=0).astype(dtype),
    }


def _step(params, velocities, grads, rates, momentum, weight_decay):
    new_params, new_velocities = dict(params), dict(velocities)
    for name, grad in grads.items():
        dtype = params[name].dtype
        w, state = sgd(
            params[name].astype(np.float64),
            grad.astype(np.float64),
            {"velocity": velocities[name].astype(np.float64)},
            rates[name],
            momentum=momentum,
            weight_decay=weight_decay,
        )
        new_params[name] = w.astype(dtype)
        new_velocities[name] = state["velocity"].astype(dtype)
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
    velocities = {name: value * 0 for name, value in head.items()}
    losses = []
    for epoch in range(epochs):
        for index in minibatches(int(features.shape[0]), batch_size, seed, epoch):
            batch = xp.asarray(index)
            loss, grads = head_loss(head, features[batch], y[batch])
            rates = dict.fromkeys(grads, lr)
            head, velocities = _step(head, velocities, grads, rates, momentum, weight_decay)
            losses.append(loss)
        if on_epoch is not None:
            on_epoch(epoch, head)
    return head, [float(v) for v in losses]


def transfer_forward(params: dict[str, Array], x: Array) -> Array:
    p = _f64(params)
    features, _ = _features(p, x.astype(np.float64))
    return fc_forward(features, p["fc3_w"], p["fc3_b"]).astype(x.dtype)


def trainable_parameters(lrs: dict[str, float], trainable: Sequence[str]) -> list[str]:
    for layer, lr in lrs.items():
        if layer not in LAYERS or not lr >= 0:
            raise ValueError(f"bad rate for {layer!r}")
    for layer in trainable:
        if layer not in LAYERS:
            raise ValueError(f"no layer {layer!r}")
    names = []
    for layer in LAYERS:
        if layer in trainable and lrs.get(layer, 0.0) > 0:
            names += [layer + "_w", layer + "_b"]
    return names


def transfer_loss(
    params: dict[str, Array], x: Array, y: Array, wrt: Sequence[str]
) -> tuple[Array, dict[str, Array]]:
    dtype = x.dtype
    p = _f64(params)
    a2, c = _features(p, x.astype(np.float64))
    loss, d = softmax_cross_entropy(fc_forward(a2, p["fc3_w"], p["fc3_b"]), y)
    needed = set(wrt)
    grads: dict[str, Array] = {}
    stages = [
        ("fc3", lambda d: fc_backward(d, a2, p["fc3_w"])),
        ("fc2", lambda d: fc_backward(relu_backward(d, c["h2"]), c["a1"], p["fc2_w"])),
        ("fc1", lambda d: fc_backward(relu_backward(d, c["h1"]), c["f"], p["fc1_w"])),
        (
            "conv2",
            lambda d: conv_backward(
                relu_backward(
                    max_pool_backward(
                        flatten_backward(d, tuple(c["p2"].shape)), c["s2"], tuple(c["r2"].shape)
                    ),
                    c["c2"],
                ),
                c["p1"],
                p["conv2_w"],
            ),
        ),
        (
            "conv1",
            lambda d: conv_backward(
                relu_backward(max_pool_backward(d, c["s1"], tuple(c["r1"].shape)), c["c1"]),
                c["x"],
                p["conv1_w"],
            ),
        ),
    ]
    for layer, backward in stages:
        if not needed:
            break
        d, dw, db = backward(d)
        grads[layer + "_w"], grads[layer + "_b"] = dw, db
        needed -= {layer + "_w", layer + "_b"}
    wanted = {name: grads[name].astype(dtype) for name in parameter_names() if name in wrt}
    return loss.astype(dtype), wanted


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
    names = trainable_parameters(lrs, trainable)
    loss, grads = transfer_loss(params, x, y, names)
    rates = {name: lrs[name.split("_")[0]] for name in names}
    new_params, new_velocities = _step(params, velocities, grads, rates, momentum, weight_decay)
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
    velocities = {name: value * 0 for name, value in params.items()}
    losses = np.zeros(0)
    for epoch in range(epochs):
        for index in minibatches(int(x.shape[0]), batch_size, seed, epoch):
            batch = xp.asarray(index)
            params, velocities, loss = finetune_step(
                params, velocities, x[batch], y[batch], lrs, trainable, momentum, weight_decay
            )
            losses = np.append(losses, float(loss))
        if on_epoch is not None:
            on_epoch(epoch, params)
    return params, [float(v) for v in losses]
