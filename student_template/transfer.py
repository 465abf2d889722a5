"""Transfer learning: reuse a network trained on one task for another.

The backbone
------------
``data/backbone.npz`` holds LeNet-5's parameters (the ``lenet`` assignment's network, keys and
shapes) trained on the digits 0-4 of the bundled digits' training split. The new task is to
tell the digits 5-9 apart, relabelled 0-4 (``relabel``), from a few labelled examples of each
(``data/digits59.npz``). Three ways to learn it, which the handout compares:

* **Feature extraction.** The backbone is frozen. Each image's features are its **fc2 ReLU
  activations** (``FEATURE_LAYER``: 84 numbers, ``relu(fc2(relu(fc1(flatten(...)))))``, the
  input of the backbone's own fc3), computed once (``extract_features``). A new head, a fresh
  fc3 with one row per new class (``head_init``), is trained on them alone (``head_loss``,
  ``train_head``): a softmax regression on 84 numbers per image.
* **Fine-tuning the last block.** fc1, fc2 and the new head learn from the images, each layer
  at its own learning rate, while conv1 and conv2 stay frozen (``trainable_parameters``,
  ``transfer_loss``, ``finetune_step``, ``train_finetune``).
* **From scratch**, the baseline: the same network with every layer trainable, from
  ``lenet_init``'s draws instead of the backbone.

The network
-----------
LeNet-5 as in ``lenet.py``, with a head of ``K`` classes: ``fc3_w`` is ``(K, 84)`` and
``fc3_b`` is ``(K,)`` (``transfer_forward``); every other parameter has LeNet-5's shape. The
layers, in order, are ``LAYERS``: a layer's parameters are ``<layer>_w`` and ``<layer>_b``.

Freezing and per-layer learning rates
-------------------------------------
As ``torch.optim.SGD`` given one parameter group per layer, each with its own ``lr``, and
``requires_grad`` set per parameter:

* ``lrs`` maps layer names to learning rates, ``{"fc1": 0.01, "fc2": 0.01, "fc3": 0.1}``
  (floats ``>= 0``; a layer absent from it has the rate 0);
* ``trainable`` lists the layers that learn (``requires_grad=True``), ``["fc1", "fc2", "fc3"]``.

A parameter **receives gradient**, and moves, when its layer is in ``trainable`` **and** its
rate is ``> 0``. Every other parameter is **frozen**: it gets no gradient at all (not a zero
one: PyTorch leaves its ``.grad`` None), no weight decay and no momentum, and it comes back bit
for bit as it was, with its velocity.

Conventions
-----------
* Use your own layers: ``fc_forward``/``fc_backward``, ``flatten_forward``/``flatten_backward``
  and ``minibatches`` from your ``lenet.py``, and what ``lenet.py`` itself uses (``conv.py``,
  ``pooling.py``, ``activations_losses.py``, ``optimizers.py``): they are imported below;
  submit all six files.
* Parameters, heads and gradients are dicts of arrays with the keys above; features are
  ``(N, 84)`` arrays.
* Functions never modify their inputs (nor the arrays inside the dicts): they return new
  dicts (a frozen parameter may be the very array it was). Arrays keep the dtype of ``x`` (or
  of the features, or of ``like``), and every function works on NumPy and CuPy arrays alike
  (create arrays through ``get_array_module``).
* Training uses no schedule: each layer keeps its rate for the whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from activations_losses import relu_backward, relu_forward, softmax_cross_entropy
from conv import conv_backward, conv_forward
from lenet import (
    fc_backward,
    fc_forward,
    flatten_backward,
    flatten_forward,
    minibatches,
)
from optimizers import sgd, xavier_uniform
from pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU

LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
"""The network's layers with parameters, in order: ``<layer>_w`` and ``<layer>_b`` each."""

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
"""The parameters the features come from (LeNet-5's, but fc3) and their shapes."""

FEATURE_LAYER = "fc2"
"""The features are this layer's ReLU activations."""

N_FEATURES = 84
"""Features per image: fc2's outputs."""


def parameter_names() -> list[str]:
    """Every parameter's name, in the order of the layers: ``conv1_w``, ``conv1_b``, ...,
    ``fc3_b``. Given: not graded."""
    return [f"{layer}_{kind}" for layer in LAYERS for kind in ("w", "b")]


def few_shot_indices(
    y: np.ndarray, classes: Sequence[int], per_class: int, seed: int
) -> np.ndarray:
    """The indices of a few labelled examples of each class: for each class of ``classes`` in
    turn, the first ``per_class`` of its indices in ``y`` in the order
    ``rng.permutation`` gives them, one generator ``rng = np.random.default_rng(seed)`` for
    all; then sorted. Given: not graded (the graded runs pick their examples with it).

    Args:
        y: NumPy integer labels ``(n,)``; classes: the labels to take; per_class: a positive
            int (a class with fewer examples gives them all); seed: the choice.

    Returns:
        An increasing int64 NumPy array of indices into ``y``.
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# ------------------------------------------------------------------ the new task's labels


def relabel(y: Array, classes: Sequence[int]) -> Array:
    """The labels of a new task's classes as ``0 .. K-1``: ``classes[i]`` becomes ``i``.

    ``relabel(y, [5, 6, 7, 8, 9])`` maps the digits 5-9 to 0-4; the order of ``classes`` is
    the order of the new labels (``relabel(y, [9, 5])`` maps 9 to 0 and 5 to 1).

    Args:
        y: integer labels, any shape.
        classes: ``K >= 1`` distinct ints, the old label of each new class.

    Returns:
        int64 labels of ``y``'s shape, on ``y``'s array module.

    Raises:
        ValueError: if ``y`` is not integer, ``classes`` is empty or repeats a class, or a label
            of ``y`` is not among ``classes``.
    """
    raise NotImplementedError("relabel is not implemented yet")


# ------------------------------------------------------------------ feature extraction


def extract_features(backbone: dict[str, Array], x: Array, batch_size: int = 256) -> Array:
    """The backbone's features of each image: its fc2 ReLU activations.

    ``relu(fc2(relu(fc1(flatten(pool2(relu(conv2(pool1(relu(conv1(x))))))))))``, with LeNet-5's
    layers and the backbone's parameters (``torch.no_grad()``: a forward, nothing learns).
    The images go through in consecutive batches of ``batch_size`` (to bound the memory).

    Args:
        backbone: parameters holding at least ``BACKBONE_SHAPES``' keys and shapes (any other
            key, such as the backbone's own ``fc3_w``, is ignored), dtype of ``x``.
        x: images, ``(N, 1, 32, 32)``, float32 or float64, ``N >= 1``.
        batch_size: a positive int.

    Returns:
        ``(N, 84)`` features, dtype of ``x``, all ``>= 0``.

    Raises:
        ValueError: if ``x`` is not ``(N, 1, 32, 32)`` or a backbone parameter is missing or
            misshapen.
    """
    raise NotImplementedError("extract_features is not implemented yet")


# ------------------------------------------------------------------ the new head


def head_init(like: Array, n_classes: int, seed: int = 0) -> dict[str, Array]:
    """A fresh head for ``n_classes`` classes: ``fc3_w`` of shape ``(n_classes, 84)`` drawn by
    ``xavier_uniform(w, seed=seed)`` (the logits: no ReLU follows), ``fc3_b`` zeros.

    The seed is the head's own: every seed draws another head, the same seed the same one.

    Args:
        like: an array whose dtype and array module the head takes (features or images).
        n_classes: a positive int.
        seed: a non-negative int.

    Returns:
        ``{"fc3_w": (n_classes, 84), "fc3_b": (n_classes,)}``.

    Raises:
        ValueError: if ``n_classes`` is not a positive int or ``seed`` not a non-negative int.
    """
    raise NotImplementedError("head_init is not implemented yet")


def head_loss(head: dict[str, Array], features: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    """The softmax cross-entropy of the head on frozen features, and its gradients.

    ``logits = fc_forward(features, head["fc3_w"], head["fc3_b"])``, ``loss =
    softmax_cross_entropy(logits, y)[0]`` (the mean over the batch).

    Args:
        head: ``{"fc3_w": (K, 84), "fc3_b": (K,)}``, dtype of ``features``.
        features: ``(N, 84)``, as ``extract_features`` gives them.
        y: ``(N,)`` integer labels in ``0 .. K-1``.

    Returns:
        ``(loss, grads)``: the scalar loss (dtype of ``features``) and ``{"fc3_w": ...,
        "fc3_b": ...}``, the gradients of the head's two parameters (nothing else learns).

    Raises:
        ValueError: if the shapes do not fit or a label is out of range.
    """
    raise NotImplementedError("head_loss is not implemented yet")


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
    """Train a head on frozen features: ``epochs`` passes in the mini-batches of
    ``minibatches(n, batch_size, seed, epoch)``, one step per batch: ``head_loss``, then your
    ``sgd`` on ``fc3_w`` and ``fc3_b`` at the rate ``lr`` (``momentum``, ``weight_decay`` as
    ``torch.optim.SGD``'s), the velocities starting at zeros and carried from step to step.

    Args:
        head: the initial head (not modified).
        features: ``(n, 84)``; y: ``(n,)`` labels in ``0 .. K-1``.
        epochs, batch_size: positive ints; lr: ``> 0``.
        momentum, weight_decay: as ``sgd``'s.
        seed: the mini-batches' order.
        on_epoch: called as ``on_epoch(epoch, head)`` after each epoch, if given (for your
            own curves; the grader passes None).

    Returns:
        ``(head, losses)``: the trained head and every step's loss (before its step), in
        order, as Python floats.
    """
    raise NotImplementedError("train_head is not implemented yet")


# ------------------------------------------------------------------ the whole network


def transfer_forward(params: dict[str, Array], x: Array) -> Array:
    """The logits of the network (LeNet-5 with a head of ``K`` classes) for a batch of images.

    Args:
        params: ``BACKBONE_SHAPES``' parameters and a head ``fc3_w`` ``(K, 84)``, ``fc3_b``
            ``(K,)``, dtype of ``x``.
        x: images ``(N, 1, 32, 32)``.

    Returns:
        ``(N, K)`` logits, dtype of ``x``.

    Raises:
        ValueError: if ``x`` or a parameter is misshapen or missing.
    """
    raise NotImplementedError("transfer_forward is not implemented yet")


def trainable_parameters(lrs: dict[str, float], trainable: Sequence[str]) -> list[str]:
    """The parameters that receive gradient: those of the layers in ``trainable`` whose rate
    ``lrs.get(layer, 0.0)`` is ``> 0``, in the order of ``parameter_names()``.

    ``trainable_parameters({"fc1": 0.01, "fc3": 0.1}, ["fc1", "fc2", "fc3"])`` is
    ``["fc1_w", "fc1_b", "fc3_w", "fc3_b"]``: fc2 has no rate, so it is frozen.

    Args:
        lrs: layer -> learning rate (``>= 0``), layers among ``LAYERS``.
        trainable: layer names among ``LAYERS``.

    Returns:
        A list of parameter names (possibly empty).

    Raises:
        ValueError: for a layer that is not among ``LAYERS``, or a negative or non-finite rate.
    """
    raise NotImplementedError("trainable_parameters is not implemented yet")


def transfer_loss(
    params: dict[str, Array], x: Array, y: Array, wrt: Sequence[str]
) -> tuple[Array, dict[str, Array]]:
    """The softmax cross-entropy of ``transfer_forward``'s logits, and its gradient with
    respect to the parameters ``wrt`` names, and only those.

    A parameter not in ``wrt`` is frozen: ``grads`` has no entry for it (not a zero one), and
    the backward pass stops at the first layer (in the order of the layers) that ``wrt``
    names: with ``wrt = ["fc3_w", "fc3_b"]`` it goes through the head alone, as PyTorch's
    autograd does with ``requires_grad=False`` below it.

    Args:
        params: as ``transfer_forward``'s; x: ``(N, 1, 32, 32)``; y: ``(N,)`` labels in
            ``0 .. K-1``.
        wrt: parameter names (as ``trainable_parameters`` gives them), possibly empty.

    Returns:
        ``(loss, grads)``: the scalar loss (dtype of ``x``) and a dict whose keys are exactly
        the names of ``wrt``, each the gradient of the loss with respect to that parameter.

    Raises:
        ValueError: as ``transfer_forward``, for a name of ``wrt`` that is no parameter, or
            for labels out of range.
    """
    raise NotImplementedError("transfer_loss is not implemented yet")


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
    """One optimizer step with per-layer learning rates and frozen layers.

    ``transfer_loss`` with respect to ``trainable_parameters(lrs, trainable)``, then your
    ``sgd`` on each of those parameters at its layer's rate ``lrs[layer]``, with ``momentum``
    and ``weight_decay`` (``torch.optim.SGD`` given one parameter group per layer). Every other
    parameter, and its velocity, comes back unchanged, bit for bit.

    Args:
        params: the parameters before the step (``transfer_forward``'s).
        velocities: SGD's velocity per parameter (every key of ``params``; zeros before the
            first step).
        x: ``(B, 1, 32, 32)``; y: ``(B,)`` labels.
        lrs, trainable: as ``trainable_parameters``'.
        momentum, weight_decay: as ``sgd``'s (weight decay applies to the parameters that
            learn, and to no frozen one).

    Returns:
        ``(new_params, new_velocities, loss)``, both dicts with every key of ``params``;
        ``loss`` is the batch's loss BEFORE the step.
    """
    raise NotImplementedError("finetune_step is not implemented yet")


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
    """Fine-tune (or train from scratch, with every layer trainable): ``epochs`` passes in the
    mini-batches of ``minibatches(n, batch_size, seed, epoch)``, one ``finetune_step`` per
    batch, the velocities starting at zeros (every key of ``params``) and carried over.

    Args:
        params: the initial parameters (not modified), as ``transfer_forward``'s.
        x: ``(n, 1, 32, 32)`` images; y: ``(n,)`` labels in ``0 .. K-1``.
        lrs, trainable: as ``trainable_parameters``' (constant for the whole run).
        epochs, batch_size: positive ints.
        momentum, weight_decay: as ``finetune_step``'s.
        seed: the mini-batches' order.
        on_epoch: called as ``on_epoch(epoch, params)`` after each epoch, if given (the grader
            passes None).

    Returns:
        ``(params, losses)``: the trained parameters (the frozen ones bit for bit as given)
        and every step's loss (before its step), in order, as Python floats.
    """
    raise NotImplementedError("train_finetune is not implemented yet")
