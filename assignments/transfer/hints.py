"""Hints for transfer: the usual mistakes of feature extraction, freezing, per-layer learning
rates and relabelling.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made, with the reference's own layers) and names them, printing
no reference value. :mod:`autograder.suite.hints` loads this file by path; it is never shipped
to students.

Where the mistakes come from (course notes, students' code and framework issues):

* Features taken on the wrong side of the activation: the pre-activations and the activations
  of a layer are one hook apart, and which one is "the feature" trips people up in both
  directions (clovaai/overhaul-distillation#35, "extracting pre relu features";
  keras-team/keras#7831 and KevinMusgrave/pytorch-metric-learning#462 ask for the values
  before the activation; BVLC/caffe#3366, an in-place ReLU overwriting the layer's output).
* Labels of the new classes left as they were, 5..9 for a 5-class head: PyTorch's
  ``cross_entropy`` then fails with "IndexError: Target 5 is out of bounds" (open-mmlab/
  mmsegmentation#3609, aws/studio-lab-examples#235 in a fine-tuning notebook,
  TencentGameMate/gnn_cross_lingual#5); or relabelled by subtracting the smallest class,
  right only for consecutive classes in increasing order.
* A new head drawn with a fixed seed (the backbone's), so every seed trains the same head.
* Frozen parameters stepped anyway: ``requires_grad`` set to False but the parameters still
  updated (facebookresearch/fairseq#4702, neuralmagic/sparseml#965, a freeze overwritten in
  ultralytics/yolov5#1213); a gradient returned for every parameter, frozen ones included.
* Frozen parameters given a zero gradient and stepped with weight decay and momentum, where
  ``torch.optim.SGD`` skips a parameter without a gradient (facebookresearch/moco#14: "SGD
  does not apply weight decay to parameters that do not have gradients"; other optimizers
  that decay them anyway, KellerJordan/Muon#54, ahrefs/ocannl#673: "with weight_decay > 0 the
  frozen weights decay on every step").
* One learning rate for every layer, where each layer's group has its own
  (``optim.SGD(model.parameters(), lr=...)`` where ``[{"params": ..., "lr": ...}, ...]`` is
  meant).
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
RELABEL_ONE_BASED = (
    "your relabel's labels are one too high, 1 .. K: classes[i] becomes i, so the new labels "
    "run 0 .. K-1, as softmax_cross_entropy and a head of K classes count them"
)
RELABEL_SORTED = (
    "your relabel numbers the classes in increasing order (sorted(classes)): classes[i] "
    "becomes i in the order classes lists them, relabel(y, [9, 5]) maps 9 to 0 and 5 to 1"
)
RELABEL_CHAINED = (
    "your relabel relabels in place one class after another, so a new label that equals a "
    "later class's old label is relabelled again (relabel(y, [1, 0]) maps everything to 1): "
    "compare with the labels of y as they were, writing into a new array"
)
FEATURES_FROM_FC1 = (
    "your features are fc1's ReLU activations (120 per image), one layer too early: the "
    "features are fc2's, relu(fc2(relu(fc1(...)))), (N, 84)"
)
FEATURES_FROM_CONV = (
    "your features are the flattened conv2 block's output (the 400 inputs of fc1): the "
    "features are fc2's ReLU activations, relu(fc2(relu(fc1(...)))), (N, 84)"
)
LAST_BATCH_DROPPED = (
    "your extract_features leaves out the last, incomplete batch when batch_size does not "
    "divide N: every image gets its features, the last batch being smaller (range(0, N, "
    "batch_size))"
)
HEAD_ZERO_WEIGHTS = (
    "your head_init gives fc3_w zeros, like the bias: fc3_w is drawn, xavier_uniform(w, "
    "seed=seed) (only fc3_b starts at zeros)"
)
HEAD_GRADIENTS_SWAPPED = (
    "your grads['fc3_w'] is the gradient of the features, fc_backward's first output: "
    "fc_backward returns (dx, dw, db) in that order, and fc3_w's gradient is dw"
)
FORWARD_BEFORE_RELU = (
    "your transfer_forward feeds the head fc2's outputs before their ReLU: the head takes "
    "the features, relu(fc2(...)), as extract_features gives them"
)
FORWARD_PROBABILITIES = (
    "your transfer_forward returns softmax probabilities: it returns the logits, "
    "fc_forward(features, fc3_w, fc3_b), before any softmax"
)
ZERO_RATE_TRAINABLE = (
    "your trainable_parameters counts a layer of trainable that has the rate 0 (or no rate "
    "in lrs) as learning: a layer learns only when it is in trainable and its rate, "
    "lrs.get(layer, 0), is > 0"
)
LISTED_ZERO_RATE_TRAINABLE = (
    "your trainable_parameters counts a layer of trainable that lrs gives the rate 0 as "
    "learning (being named in lrs is not enough): a layer learns only when its rate is > 0"
)
TRAINABLE_ORDER = (
    "your trainable_parameters lists the parameters in the order of trainable: list them in "
    "the order of LAYERS, as parameter_names() does, each once, whatever the order of "
    "trainable"
)
FC2_RELU_SKIPPED = (
    "your backward pass skips the backward of the ReLU after fc2: fc2's output gradient is "
    "relu_backward(da2, h2), zero where fc2's output h2 is <= 0, before fc_backward of fc2"
)
FROZEN_VELOCITIES_RESET = (
    "your finetune_step returns zero velocities for the frozen parameters: a frozen "
    "parameter's velocity comes back as it was, bit for bit, as its value does"
)
LOSS_AFTER_STEP = (
    "your finetune_step returns the loss after the step (with the new parameters): it is "
    "the loss of the batch before the step, the one whose gradients made it"
)
HEAD_BACKBONE_SEED = (
    "your head_init draws the same head whatever its seed (that of seed 0, the backbone's): "
    "the seed is the head's own, xavier_uniform(w, seed=seed)"
)
HEAD_RELU_GAIN = (
    "your head_init draws fc3_w with xavier_uniform's gain sqrt(2) (calculate_gain('relu')), as "
    "for a layer a ReLU follows: the head gives the logits and no ReLU follows, so its gain is "
    "1, xavier_uniform(w, seed=seed)"
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


def _bound(reference: Any, call: Call) -> dict[str, Any] | None:
    """The call's arguments by name, or None where they do not bind (for the costly calls,
    whose diagnoses give up where the reference refuses the arguments, instead of making the
    whole call once more to find out)."""
    try:
        return bound(getattr(reference, call.function), call)
    except TypeError:
        return None


@diagnoses_for("relabel")
def _relabel(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    y, classes = arguments["y"], [int(c) for c in arguments["classes"]]

    def chained() -> Any:
        out = y.astype(np.int64)
        for index, old in enumerate(classes):
            out[out == old] = index
        return out

    return [
        computed(LABELS_NOT_RELABELLED, lambda: y.copy()),
        computed(RELABEL_OFFSET, lambda: (y - min(classes)).astype(np.int64)),
        computed(RELABEL_ONE_BASED, lambda: reference.relabel(y, classes) + 1),
        computed(RELABEL_SORTED, lambda: reference.relabel(y, sorted(classes))),
        computed(RELABEL_CHAINED, chained),
    ]


@diagnoses_for("extract_features")
def _extract_features(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    backbone, x, size = arguments["backbone"], arguments["x"], int(arguments["batch_size"])

    n = int(x.shape[0])

    def layer(name: str) -> Any:
        parts = [
            reference._forward_features(backbone, x[start : start + size])[1][name]
            for start in range(0, n, size)
        ]
        return np.concatenate(parts).astype(x.dtype, copy=False)

    found: list[Suspect | str] = [
        computed(FEATURES_BEFORE_RELU, lambda: layer("h2")),
        computed(FEATURES_FROM_FC1, lambda: layer("a1")),
        computed(FEATURES_FROM_CONV, lambda: layer("f")),
    ]
    if n % size and n > size:
        found.append(computed(LAST_BATCH_DROPPED, lambda: layer("a2")[: n - n % size]))
    return found


@diagnoses_for("head_init")
def _head_init(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    like, n_classes, seed = arguments["like"], arguments["n_classes"], arguments["seed"]

    def relu_gain() -> dict[str, Any]:
        right = reference.head_init(like, n_classes, seed)
        w = reference.xavier_uniform(right["fc3_w"] * 0, gain=float(np.sqrt(2.0)), seed=seed)
        return {"fc3_w": w, "fc3_b": right["fc3_b"]}

    def zero_weights() -> dict[str, Any]:
        right = reference.head_init(like, n_classes, seed)
        return {"fc3_w": right["fc3_w"] * 0, "fc3_b": right["fc3_b"]}

    found: list[Suspect | str] = [
        computed(HEAD_RELU_GAIN, relu_gain),
        computed(HEAD_ZERO_WEIGHTS, zero_weights),
    ]
    if seed != 0:
        found.append(computed(HEAD_BACKBONE_SEED, lambda: reference.head_init(like, n_classes, 0)))
    return found


@diagnoses_for("head_loss")
def _head_loss(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    head, features, y = arguments["head"], arguments["features"], arguments["y"]

    def gradients_swapped() -> dict[str, Any]:
        logits = reference.fc_forward(features, head["fc3_w"], head["fc3_b"])
        _, dlogits = reference.softmax_cross_entropy(logits, y)
        dx, _, db = reference.fc_backward(dlogits, features, head["fc3_w"])
        return {"fc3_w": dx, "fc3_b": db}

    return [computed(HEAD_GRADIENTS_SWAPPED, gradients_swapped, (1,))]


@diagnoses_for("transfer_forward")
def _transfer_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x = arguments["params"], arguments["x"]

    def before_relu() -> Any:
        h2 = reference._forward_features(params, x)[1]["h2"]
        return reference.fc_forward(h2, params["fc3_w"], params["fc3_b"])

    def probabilities() -> Any:
        logits = reference.transfer_forward(params, x)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (shifted / shifted.sum(axis=1, keepdims=True)).astype(logits.dtype, copy=False)

    return [
        computed(FORWARD_BEFORE_RELU, before_relu),
        computed(FORWARD_PROBABILITIES, probabilities),
    ]


@diagnoses_for("trainable_parameters")
def _trainable_parameters(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    lrs, trainable = arguments["lrs"], list(arguments["trainable"])

    def names(layers: list[str]) -> list[str]:
        return [layer + "_" + kind for layer in layers for kind in ("w", "b")]

    return [
        computed(
            ZERO_RATE_TRAINABLE, lambda: names([la for la in reference.LAYERS if la in trainable])
        ),
        computed(
            LISTED_ZERO_RATE_TRAINABLE,
            lambda: names([la for la in reference.LAYERS if la in trainable and la in lrs]),
        ),
        computed(TRAINABLE_ORDER, lambda: names([la for la in trainable if lrs.get(la, 0.0) > 0])),
    ]


@diagnoses_for("transfer_loss")
def _transfer_loss(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x, y = arguments["params"], arguments["x"], arguments["y"]
    names = reference.parameter_names()

    _, every = reference.transfer_loss(params, x, y, names)
    wrt = set(arguments["wrt"])

    def fc2_relu_skipped() -> dict[str, Any]:
        features, cache = reference._forward_features(params, x)
        logits = reference.fc_forward(features, params["fc3_w"], params["fc3_b"])
        _, dlogits = reference.softmax_cross_entropy(logits, y)
        passing = {**cache, "h2": np.ones_like(cache["h2"])}  # every unit passes its gradient
        wanted = [name for name in names if name in wrt]
        return reference._backward(params, passing, dlogits, wanted)

    def every_gradient() -> dict[str, Any]:
        return every

    def zeros_for_the_frozen() -> dict[str, Any]:
        return {name: every[name] if name in wrt else params[name] * 0 for name in names}

    return [
        computed(GRADS_OF_FROZEN, every_gradient, (1,)),
        computed(GRADS_OF_FROZEN, zeros_for_the_frozen, (1,)),
        computed(FC2_RELU_SKIPPED, fc2_relu_skipped, (1,)),
    ]


def _stepped(
    reference: Any,
    arguments: dict[str, Any],
    grads: dict[str, Any],
    rates: dict[str, float],
    zero_for_missing: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(new_params, new_velocities)``: the reference's ``sgd`` on every parameter of
    ``rates`` at its rate, with its gradient in ``grads`` (a zero one for a parameter without,
    where ``zero_for_missing``; such a parameter is otherwise left as it is)."""
    params, velocities = arguments["params"], arguments["velocities"]
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
    arguments = _bound(reference, call)
    if arguments is None:
        return []
    lrs, x, y = arguments["lrs"], arguments["x"], arguments["y"]
    try:  # the reference's step, but for the update itself: where it refuses, no mistake
        learning = reference.trainable_parameters(lrs, arguments["trainable"])
        with_rates = reference.trainable_parameters(lrs, reference.LAYERS)
        # one backward pass for the mistakes that keep the right gradients, one for the
        # mistake that lets every layer with a rate learn (its gradients reach further)
        _, grads = reference.transfer_loss(arguments["params"], x, y, learning)
        every = grads
        if set(with_rates) != set(learning):
            _, every = reference.transfer_loss(arguments["params"], x, y, with_rates)
        right = _stepped(reference, arguments, grads, {n: lrs[n[:-2]] for n in learning}, False)
    except Exception:
        return []
    rates = {name: lrs[name[:-2]] for name in with_rates}
    velocities = right[1]
    found: list[Suspect | str] = [
        computed(
            FROZEN_VELOCITIES_RESET,
            lambda: {n: v if n in learning else v * 0 for n, v in velocities.items()},
            (1,),
        ),
        computed(LOSS_AFTER_STEP, lambda: reference.transfer_loss(right[0], x, y, [])[0], (2,)),
    ]
    if set(with_rates) != set(learning):
        found += [
            computed(
                BACKBONE_UPDATED,
                lambda: _stepped(reference, arguments, every, rates, zero_for_missing=False),
                (0, 1),
            ),
            computed(
                FROZEN_STEPPED_WITH_ZERO_GRADIENT,
                lambda: _stepped(reference, arguments, grads, rates, zero_for_missing=True),
                (0, 1),
            ),
        ]
    for rate in sorted({float(rate) for rate in lrs.values() if rate > 0}):
        found.append(
            computed(
                ONE_RATE_FOR_ALL,
                lambda rate=rate: _stepped(
                    reference, arguments, grads, dict.fromkeys(learning, rate), False
                ),
                (0, 1),
            )
        )
    return found
