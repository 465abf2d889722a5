"""Hints for transfer: the usual mistakes of feature extraction, freezing, per-layer learning
rates and relabelling.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made, with the reference's own layers) and names them, printing
no reference value. :mod:`autograder.suite.hints` loads this file by path; it is never shipped
to students.

Where the mistakes come from (course notes, students' code and framework issues):

* Features taken before the activation: ``model.fc2`` hooked where ``relu(fc2)`` is meant (the
  features of a torchvision backbone are the pooled activations, its ``fc`` replaced by
  ``nn.Identity``; a forward hook on the ``Linear`` itself gives the pre-activations,
  pytorch/vision#3048's "features before or after ReLU" confusion).
* Labels of the new classes left as they were (5..9 for a 5-class head: PyTorch's
  ``cross_entropy`` then fails with "Target 5 is out of bounds", pytorch/pytorch#1204), or
  relabelled by subtracting the smallest class, right only for consecutive classes in order.
* A new head drawn with a fixed seed (the backbone's), so every seed trains the same head.
* Frozen parameters given a zero gradient instead of none, and stepped anyway: with weight
  decay or momentum, ``torch.optim.SGD`` moves them (``optimizer.zero_grad(set_to_none=False)``
  then ``step()``, pytorch/pytorch#37144, the forum's "frozen weights still change with weight
  decay"); a gradient returned for every parameter, ``requires_grad`` ignored.
* The layers that should stay frozen stepped at their rates anyway (``requires_grad`` never set
  to False, only the optimizer's groups given: "the backbone is updated although I froze it").
* One learning rate for every group, where each layer has its own (``optim.SGD(model.
  parameters(), lr=...)`` where ``[{"params": ..., "lr": ...}, ...]`` is meant).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, computed, diagnoses_for

UNDIAGNOSED = ("train_head", "train_finetune")
"""Whole training runs are not made again for a diagnosis (a diagnosis makes a call many times
over): the training tests' own messages say what went wrong, and the hints of the functions
they call (``finetune_step``, ``transfer_loss``, ``head_loss``, ...) name the mistake."""

FEATURES_BEFORE_RELU = (
    "your features are fc2's outputs before its ReLU: the features are the fc2 ReLU "
    "activations, relu(fc2(...)), all >= 0"
)
LABELS_NOT_RELABELLED = (
    "your relabel returns the labels as they were: classes[i] becomes i (relabel(y, [5, 6, 7, "
    "8, 9]) maps 5..9 to 0..4), so that a head of len(classes) classes can learn them"
)
RELABEL_OFFSET = (
    "your relabel subtracts the smallest class (y - min(classes)): map each label to its "
    "position in classes, classes[i] -> i, which differs when the classes are not consecutive "
    "or not in increasing order"
)
HEAD_BACKBONE_SEED = (
    "your head_init draws the same head whatever its seed (that of seed 0, the backbone's): "
    "the seed is the head's own, xavier_uniform(w, seed=seed)"
)
GRADS_OF_FROZEN = (
    "your transfer_loss returns gradients of parameters that wrt does not name: a frozen "
    "parameter gets no gradient at all (no key in grads, not a zero one), as PyTorch leaves "
    "its .grad None"
)
BACKBONE_UPDATED = (
    "your step updates the layers that are not in trainable (each at its rate in lrs): a "
    "layer learns only when it is in trainable and its rate is > 0, every other one comes "
    "back bit for bit"
)
FROZEN_STEPPED_WITH_ZERO_GRADIENT = (
    "your step gives the frozen layers a zero gradient and steps them anyway, so weight decay "
    "and momentum move them: a frozen parameter gets no step at all and comes back bit for "
    "bit, with its velocity"
)
ONE_RATE_FOR_ALL = (
    "your step moves every layer at the same learning rate: each layer has its own, "
    "lrs[layer], as each parameter group of torch.optim.SGD has its own lr"
)


def _arguments(reference: Any, call: Call) -> dict[str, Any] | None:
    """The call's arguments by name, or None where the reference refuses them."""
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    try:
        function(**arguments)
    except Exception:
        return None
    return arguments


@diagnoses_for("relabel")
def _relabel(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    y, classes = arguments["y"], [int(c) for c in arguments["classes"]]
    return [
        computed(LABELS_NOT_RELABELLED, lambda: y.copy()),
        computed(RELABEL_OFFSET, lambda: (y - min(classes)).astype(np.int64)),
    ]


@diagnoses_for("extract_features")
def _extract_features(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    backbone, x, size = arguments["backbone"], arguments["x"], int(arguments["batch_size"])

    def before_relu() -> Any:
        parts = [
            reference._forward_features(backbone, x[start : start + size])[1]["h2"]
            for start in range(0, int(x.shape[0]), size)
        ]
        return np.concatenate(parts).astype(x.dtype, copy=False)

    return [computed(FEATURES_BEFORE_RELU, before_relu)]


@diagnoses_for("head_init")
def _head_init(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None or arguments["seed"] == 0:
        return []
    return [
        computed(
            HEAD_BACKBONE_SEED,
            lambda: reference.head_init(arguments["like"], arguments["n_classes"], 0),
        )
    ]


@diagnoses_for("transfer_loss")
def _transfer_loss(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x, y = arguments["params"], arguments["x"], arguments["y"]
    names = reference.parameter_names()

    def every_gradient() -> dict[str, Any]:
        return reference.transfer_loss(params, x, y, names)[1]

    def zeros_for_the_frozen() -> dict[str, Any]:
        grads = reference.transfer_loss(params, x, y, list(arguments["wrt"]))[1]
        return {name: grads.get(name, params[name] * 0) for name in names}

    return [
        computed(GRADS_OF_FROZEN, every_gradient, (1,)),
        computed(GRADS_OF_FROZEN, zeros_for_the_frozen, (1,)),
    ]


def _stepped(
    reference: Any, arguments: dict[str, Any], rates: dict[str, float], zero_for_missing: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(new_params, new_velocities)``: the reference's ``sgd`` on every parameter of
    ``rates`` at its rate, with its gradient of the call (a zero one for a parameter without,
    where ``zero_for_missing``; such a parameter is otherwise left as it is)."""
    params, velocities = arguments["params"], arguments["velocities"]
    learning = reference.trainable_parameters(arguments["lrs"], arguments["trainable"])
    _, grads = reference.transfer_loss(params, arguments["x"], arguments["y"], learning)
    new_params, new_velocities = dict(params), dict(velocities)
    for name, rate in rates.items():
        if name not in grads and not zero_for_missing:
            continue
        new_params[name], state = reference.sgd(
            params[name],
            grads.get(name, params[name] * 0),
            {"velocity": velocities[name]},
            rate,
            momentum=arguments["momentum"],
            weight_decay=arguments["weight_decay"],
        )
        new_velocities[name] = state["velocity"]
    return new_params, new_velocities


@diagnoses_for("finetune_step")
def _finetune_step(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    lrs = arguments["lrs"]
    learning = reference.trainable_parameters(lrs, arguments["trainable"])
    every_layer = reference.LAYERS
    with_rates = {name: lrs[name[:-2]] for name in reference.trainable_parameters(lrs, every_layer)}
    found: list[Suspect | str] = [
        computed(
            BACKBONE_UPDATED,
            lambda: reference.finetune_step(**{**arguments, "trainable": every_layer})[:2],
            (0, 1),
        ),
        computed(
            FROZEN_STEPPED_WITH_ZERO_GRADIENT,
            lambda: _stepped(reference, arguments, with_rates, zero_for_missing=True),
            (0, 1),
        ),
    ]
    for rate in sorted({float(rate) for rate in lrs.values() if rate > 0}):
        found.append(
            computed(
                ONE_RATE_FOR_ALL,
                lambda rate=rate: _stepped(
                    reference, arguments, dict.fromkeys(learning, rate), zero_for_missing=False
                ),
                (0, 1),
            )
        )
    return found
