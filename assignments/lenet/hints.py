"""Hints for lenet: the usual mistakes in LeNet-5's own layers, its loss, its training step, its
evaluation and its initialization.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made, with the reference's own layers) and names them, printing
no reference value. :mod:`autograder.suite.hints` loads this file by path; it is never shipped
to students. ``LAYERS`` declares the network's layers, so that a layer left out, a ReLU added
or moved, or a layer given the wrong array is named without a catalogue entry.

Where the mistakes come from (course notes, students' code and framework issues):

* CS231n's ``affine_forward``/``affine_backward`` (assignment 2's ``layers.py``) keep ``w`` as
  ``(D, M)``, ``out = x.reshape(N, -1) @ w + b`` and ``dw = x.reshape(N, -1).T @ dout``:
  brought to PyTorch's ``(out_features, in_features)`` (``torch.nn.functional.linear``),
  they give ``dw`` in the ``(in, out)`` layout, and a forward that reads ``w`` as ``(in,
  out)``, by a ``w.reshape`` where a transpose belongs (``view`` or ``reshape`` taken for a
  transpose: zhouhaoyi/Informer2020#59, zamanzadeh/CARLA#16; kaimatzu/NNFS's notes, whose
  layer of neurons first fails for want of ``weights.T``).
* ``db`` averaged where CS231n sums, ``db = np.sum(dout, axis=0)``: the 1 / N of the mean
  loss already sits in ``dout``; and that sum over the first axis only, kept for an input
  with more leading axes than one (``torch.nn.functional.linear`` takes ``(*, in)``).
* Flatten in channels-last order: Keras' ``Flatten`` on NHWC data against PyTorch's
  ``x.view(N, -1)`` on NCHW, as D2L's LeNet flattens before ``nn.Linear(16 * 5 * 5, 120)``
  (gzuidhof/nn-transfer#11 and #17, "the concatenation-by-channel pattern differs between
  these two frameworks"); the batch axis flattened too, by ``np.ndarray.flatten`` or
  ``torch.flatten``'s default ``start_dim=0`` where ``nn.Flatten`` starts at 1
  (pytorch/pytorch#12796, #49501).
* The loss gradient not divided by the batch size (CS231n's ``softmax_loss`` ends with
  ``dx /= N``; jxgu1016/MNIST_center_loss_pytorch#9, "gradient needs to be divided by batch
  size"), or divided twice, once in the loss and again by the caller (apache/mxnet#4761,
  ``rescale_grad = 1 / batch_size`` on a softmax output that is already normalized).
* SGD's options dropped in the training step: ``weight_decay`` or ``momentum`` not passed on,
  the velocity buffer restarted at every step instead of carried (``torch.optim.SGD`` keeps
  ``momentum_buffer`` per parameter), and weight decay kept off the biases where this
  assignment, as ``torch.optim.SGD`` given every parameter (pytorch/pytorch#2639), decays them
  too (the "no bias decay" recipe of many training scripts, vturrisi/solo-learn#289).
* The loss recomputed after the update and reported as the step's loss
  (pasqal-io/qadence#705, a "post optimization loss"; leftthomas/SRGAN#51 prints the loss
  before the step instead).
* Evaluation as the mean of the per-batch means, wrong when the last batch is smaller:
  udacity/deep-learning-v2-pytorch#74, mlcommons/training#89, facebookarchive/fb.resnet.torch#75,
  tflearn/tflearn#75.
* One seed for every layer's draw (netket/netket#241, "uses the same seed for all layers"),
  and the ReLU's He initialization kept for the logits' layer (ageron/handson-ml3#203: the
  output layer, which no ReLU follows, takes Glorot's).
* A ReLU on the logits, as on every other fully connected layer's output (D2L's LeNet ends
  with a bare ``nn.Linear(84, 10)``), a layer left out or given the wrong array: named by
  ``LAYERS``, without a catalogue entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, computed, diagnoses_for, suspect
from autograder.suite.layer_mistakes import Layers

UNDIAGNOSED = ("train",)
"""A whole training run is too long to make again for a diagnosis (which makes a call many
times over, with every option changed): the training tests' own messages say what went wrong,
and the hints of the functions it calls (``train_step``, ``lenet_loss``, ...) name the mistake."""

LAYERS = Layers(
    forward={
        "conv_forward": "convolution",
        "relu_forward": "ReLU",
        "max_pool_forward": "max-pool",
        "flatten_forward": "flatten",
        "fc_forward": "fully connected layer",
        "softmax_cross_entropy": "softmax cross-entropy",
    },
    backward={
        "conv_backward": "conv_forward",
        "relu_backward": "relu_forward",
        "max_pool_backward": "max_pool_forward",
        "flatten_backward": "flatten_forward",
        "fc_backward": "fc_forward",
    },
    components={
        "conv1_w": "conv1",
        "conv1_b": "conv1",
        "conv2_w": "conv2",
        "conv2_b": "conv2",
        "fc1_w": "fc1",
        "fc1_b": "fc1",
        "fc2_w": "fc2",
        "fc2_b": "fc2",
        "fc3_w": "fc3",
        "fc3_b": "fc3",
    },
    relu="relu_forward",
    blocks=("lenet_forward", "lenet_loss", "train_step"),
)
"""The network's layers as the module docstring's diagram names them, for the mistakes the
engine finds without a catalogue (a layer left out, a ReLU added or moved, a layer given the
wrong array or option). A layer's own code (fc_forward, flatten_forward) is not taken apart:
its mistakes are the catalogue's below."""

FC_W_AS_IN_OUT = (
    "your fully connected layer reads w as (in_features, out_features), x @ w.reshape(in, "
    "out) or x @ w: w is PyTorch's (out_features, in_features), so out = x @ w.T + b "
    "(reshape keeps the values in memory order, it does not transpose)"
)
FC_DW_IN_OUT = (
    "your fully connected layer's dw has CS231n's (in_features, out_features) layout, "
    "x.T @ dout: here w is PyTorch's (out_features, in_features), so dw = dout.T @ x, "
    "shaped like w"
)
FC_DB_MEAN = (
    "your fully connected layer's db averages dout over the batch: the bias is added to every "
    "row, so db is the sum of dout over the rows (the loss's 1 / N is already in dout)"
)
FC_DB_FIRST_AXIS = (
    "your db sums dout over its first axis only: x may have several leading axes, "
    "(..., in_features), and db sums over all of them, dout.reshape(-1, out_features).sum(0)"
)
FLATTEN_CHANNELS_LAST = (
    "your flatten reads each example in channels-last order (H, W, C), as Keras' Flatten on "
    "NHWC data does: flatten (C, H, W) in C order, x.reshape(N, -1), all of channel 0's "
    "pixels first (and reshape dout back the same way)"
)
FLATTEN_BATCH_TOO = (
    "your flatten also flattens the batch axis (x.flatten(), or torch.flatten's default "
    "start_dim=0): keep the first axis, x.reshape(x.shape[0], -1)"
)
GRADIENT_NOT_AVERAGED = (
    "your gradients are N times too large (N the batch size): the loss is the mean over the "
    "batch, so dlogits = (softmax - one_hot) / N, as softmax_cross_entropy returns it"
)
GRADIENT_AVERAGED_TWICE = (
    "your gradients are divided by the batch size twice: softmax_cross_entropy's dlogits "
    "already holds the mean's 1 / N, do not divide by N again"
)
STEP_WITHOUT_DECAY = (
    "your step leaves weight decay out: pass weight_decay on to sgd for every parameter "
    "(g = dw + weight_decay * w)"
)
STEP_WITHOUT_MOMENTUM = (
    "your step ignores momentum (plain SGD, the velocities returned unchanged): pass momentum "
    "on to sgd, v = momentum * velocity + g, w_new = w - lr * v"
)
STEP_VELOCITY_RESTARTED = (
    "your step starts every velocity from zeros instead of the velocities it is given: pass "
    "each parameter's own velocity to sgd, so that momentum carries over between steps"
)
STEP_LOSS_AFTER = (
    "your loss is the batch's loss after the step, at the new parameters: return the loss "
    "lenet_loss gave before the update, the one the gradients come from"
)
STEP_BIASES_NOT_DECAYED = (
    "your step decays the weights but not the biases: as torch.optim.SGD given every "
    "parameter with one weight_decay, weight decay applies to the biases too"
)
EVALUATE_BATCH_MEANS = (
    "your evaluate averages the per-batch means: the last batch is smaller when batch_size "
    "does not divide the number of examples, so sum the losses (each batch's mean times its "
    "size) and the correct predictions, then divide by the number of examples"
)
INIT_ONE_SEED = (
    "your lenet_init draws every weight tensor with the same seed: draw them in the order of "
    "the layers with the seeds 10 * seed, 10 * seed + 1, ..., 10 * seed + 4"
)
INIT_FC3_KAIMING = (
    "your fc3_w is drawn with kaiming_uniform: fc3 gives the logits and no ReLU follows it, "
    "so it takes xavier_uniform(w, seed=...)"
)
INIT_SEED_PLUS_INDEX = (
    "your lenet_init draws its weight tensors with the seeds seed, seed + 1, ..., seed + 4, "
    "so lenet_init(seed) and lenet_init(seed + 1) share four draws: use the seeds "
    "10 * seed, 10 * seed + 1, ..., 10 * seed + 4"
)
INIT_XAVIER_EVERYWHERE = (
    "your conv1_w, conv2_w, fc1_w and fc2_w are drawn with xavier_uniform: a layer followed "
    'by a ReLU takes kaiming_uniform(w, nonlinearity="relu", seed=...) (fan_in and the '
    "ReLU's gain sqrt(2)); only fc3_w, the logits, takes xavier_uniform"
)


def _refused(function: Any, arguments: dict[str, Any]) -> bool:
    """Whether the reference refuses the call (no mistake can be made in it)."""
    try:
        function(**arguments)
    except Exception:
        return True
    return False


def _arguments(reference: Any, call: Call) -> dict[str, Any] | None:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    return None if _refused(function, arguments) else arguments


# The layers as the mistakes write them.


def _fc_as_in_out(x: Any, w: Any, b: Any) -> Any:
    """``x @ w.reshape(in, out) + b``: ``w``'s values read as CS231n's ``(D, M)``."""
    out = x @ w.reshape(int(w.shape[1]), int(w.shape[0]))
    if b is not None:
        out = out + b
    return out.astype(x.dtype, copy=False)


def _rows(dout: Any, x: Any, w: Any) -> tuple[Any, Any]:
    out_features, in_features = (int(v) for v in w.shape)
    return dout.reshape(-1, out_features), x.reshape(-1, in_features)


def _dw_in_out(dout: Any, x: Any, w: Any) -> Any:
    rows, inputs = _rows(dout, x, w)
    return (inputs.T @ rows).astype(dout.dtype, copy=False)


def _db_mean(dout: Any, x: Any, w: Any) -> Any:
    rows, _ = _rows(dout, x, w)
    return rows.mean(axis=0).astype(dout.dtype)


def _flatten_channels_last(x: Any) -> Any:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(x.shape[0], -1)


def _unflatten_channels_last(dout: Any, input_shape: tuple[int, ...]) -> Any:
    n, channels, *rest = (int(v) for v in input_shape)
    return np.ascontiguousarray(np.moveaxis(dout.reshape(n, *rest, channels), -1, 1))


class _Layers:
    """The network's layers: the reference's, with some replaced by a mistake's."""

    def __init__(self, ref: Any, **replaced: Callable[..., Any]) -> None:
        self.fc = replaced.get("fc", ref.fc_forward)
        self.fc_backward = replaced.get("fc_backward", ref.fc_backward)
        self.flatten = replaced.get("flatten", ref.flatten_forward)
        self.unflatten = replaced.get("unflatten", ref.flatten_backward)


def _network(
    ref: Any,
    params: dict[str, Any],
    x: Any,
    y: Any = None,
    scale: float = 1.0,
    **replaced: Callable[..., Any],
) -> Any:
    """LeNet-5 with the reference's layers (those in ``replaced`` swapped for a mistake's): the
    logits without ``y``, else ``(loss, grads)`` with ``dlogits`` multiplied by ``scale``."""
    layer = _Layers(ref, **replaced)
    p = params
    c1 = ref.conv_forward(x, p["conv1_w"], p["conv1_b"])
    r1 = ref.relu_forward(c1)
    p1, s1 = ref.max_pool_forward(r1, 2)
    c2 = ref.conv_forward(p1, p["conv2_w"], p["conv2_b"])
    r2 = ref.relu_forward(c2)
    p2, s2 = ref.max_pool_forward(r2, 2)
    f = layer.flatten(p2)
    h1 = layer.fc(f, p["fc1_w"], p["fc1_b"])
    a1 = ref.relu_forward(h1)
    h2 = layer.fc(a1, p["fc2_w"], p["fc2_b"])
    a2 = ref.relu_forward(h2)
    logits = layer.fc(a2, p["fc3_w"], p["fc3_b"])
    if y is None:
        return logits
    loss, dlogits = ref.softmax_cross_entropy(logits, y)
    dlogits = (dlogits * dlogits.dtype.type(scale)).astype(dlogits.dtype, copy=False)
    grads: dict[str, Any] = {}
    da2, grads["fc3_w"], grads["fc3_b"] = layer.fc_backward(dlogits, a2, p["fc3_w"])
    dh2 = ref.relu_backward(da2, h2)
    da1, grads["fc2_w"], grads["fc2_b"] = layer.fc_backward(dh2, a1, p["fc2_w"])
    dh1 = ref.relu_backward(da1, h1)
    df, grads["fc1_w"], grads["fc1_b"] = layer.fc_backward(dh1, f, p["fc1_w"])
    dp2 = layer.unflatten(df, tuple(p2.shape))
    dr2 = ref.max_pool_backward(dp2, s2, tuple(r2.shape))
    dc2 = ref.relu_backward(dr2, c2)
    dp1, grads["conv2_w"], grads["conv2_b"] = ref.conv_backward(dc2, p1, p["conv2_w"])
    dr1 = ref.max_pool_backward(dp1, s1, tuple(r1.shape))
    dc1 = ref.relu_backward(dr1, c1)
    _, grads["conv1_w"], grads["conv1_b"] = ref.conv_backward(dc1, x, p["conv1_w"])
    return loss, {name: grads[name] for name in ref.PARAMETER_SHAPES}


def _fc_backward_with(ref: Any, dw: Any = None, db: Any = None) -> Callable[..., Any]:
    """The reference's ``fc_backward`` with its ``dw`` or ``db`` computed by a mistake."""

    def backward(dout: Any, x: Any, w: Any) -> tuple[Any, Any, Any]:
        dx, right_dw, right_db = ref.fc_backward(dout, x, w)
        return (
            dx,
            right_dw if dw is None else dw(dout, x, w),
            right_db if db is None else db(dout, x, w),
        )

    return backward


# The layers' own calls.


@diagnoses_for("fc_forward")
def _fc_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    x, w, b = arguments["x"], arguments["w"], arguments["b"]
    return [computed(FC_W_AS_IN_OUT, lambda: _fc_as_in_out(x, w, b))]


@diagnoses_for("fc_backward")
def _fc_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    dout, x, w = arguments["dout"], arguments["x"], arguments["w"]
    found: list[Suspect | str] = [
        computed(FC_DW_IN_OUT, lambda: _dw_in_out(dout, x, w), (1,)),
        computed(FC_DB_MEAN, lambda: _db_mean(dout, x, w), (2,)),
    ]
    if dout.ndim > 2:
        found.append(computed(FC_DB_FIRST_AXIS, lambda: dout.sum(axis=0), (2,)))
    return found


@diagnoses_for("flatten_forward")
def _flatten_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    x = arguments["x"]
    return [
        computed(FLATTEN_CHANNELS_LAST, lambda: _flatten_channels_last(x)),
        computed(FLATTEN_BATCH_TOO, lambda: x.reshape(-1)),
    ]


@diagnoses_for("flatten_backward")
def _flatten_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    dout, shape = arguments["dout"], arguments["input_shape"]
    return [computed(FLATTEN_CHANNELS_LAST, lambda: _unflatten_channels_last(dout, shape))]


# The network.


@diagnoses_for("lenet_forward")
def _forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x = arguments["params"], arguments["x"]
    return [
        computed(FC_W_AS_IN_OUT, lambda: _network(reference, params, x, fc=_fc_as_in_out)),
        computed(
            FLATTEN_CHANNELS_LAST,
            lambda: _network(reference, params, x, flatten=_flatten_channels_last),
        ),
    ]


@diagnoses_for("lenet_loss")
def _loss(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x, y = arguments["params"], arguments["x"], arguments["y"]
    n = int(x.shape[0])

    def network(**mistake: Any) -> Any:
        return _network(reference, params, x, y, **mistake)

    return [
        computed(FC_W_AS_IN_OUT, lambda: network(fc=_fc_as_in_out)),
        computed(
            FC_DW_IN_OUT,
            lambda: network(fc_backward=_fc_backward_with(reference, _dw_in_out))[1],
            (1,),
        ),
        computed(
            FC_DB_MEAN,
            lambda: network(fc_backward=_fc_backward_with(reference, db=_db_mean))[1],
            (1,),
        ),
        computed(
            FLATTEN_CHANNELS_LAST,
            lambda: network(flatten=_flatten_channels_last, unflatten=_unflatten_channels_last),
        ),
        computed(GRADIENT_NOT_AVERAGED, lambda: network(scale=float(n))[1], (1,)),
        computed(GRADIENT_AVERAGED_TWICE, lambda: network(scale=1.0 / n)[1], (1,)),
    ]


# Training.


def _sgd_step(
    ref: Any,
    arguments: dict[str, Any],
    grads: dict[str, Any],
    decays: Callable[[str], bool] = lambda name: True,
    velocities: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(new_params, new_velocities)`` of the reference's ``sgd`` on every parameter, with
    these ``grads``, weight decay on the parameters ``decays`` names, from ``velocities``
    (the call's own by default)."""
    params = arguments["params"]
    velocities = arguments["velocities"] if velocities is None else velocities
    new_params, new_velocities = {}, {}
    for name in params:
        new_params[name], state = ref.sgd(
            params[name],
            grads[name],
            {"velocity": velocities[name]},
            arguments["lr"],
            momentum=arguments["momentum"],
            weight_decay=arguments["weight_decay"] if decays(name) else 0.0,
        )
        new_velocities[name] = state["velocity"]
    return new_params, new_velocities


@diagnoses_for("train_step")
def _train_step(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x, y = arguments["params"], arguments["x"], arguments["y"]
    n = int(x.shape[0])
    _, grads = reference.lenet_loss(params, x, y)
    new_params = reference.train_step(**arguments)[0]
    zeros = {name: value * 0 for name, value in arguments["velocities"].items()}

    def scaled(factor: float) -> dict[str, Any]:
        return {name: (g * g.dtype.type(factor)).astype(g.dtype) for name, g in grads.items()}

    return [
        suspect(reference.train_step, call, STEP_WITHOUT_DECAY, (0, 1), weight_decay=0.0),
        suspect(reference.train_step, call, STEP_WITHOUT_MOMENTUM, (0, 1), momentum=0.0),
        computed(
            STEP_VELOCITY_RESTARTED,
            lambda: _sgd_step(reference, arguments, grads, velocities=zeros),
            (0, 1),
        ),
        computed(
            STEP_BIASES_NOT_DECAYED,
            lambda: _sgd_step(reference, arguments, grads, lambda name: name.endswith("_w")),
            (0, 1),
        ),
        computed(STEP_LOSS_AFTER, lambda: reference.lenet_loss(new_params, x, y)[0], (2,)),
        computed(GRADIENT_NOT_AVERAGED, lambda: _sgd_step(reference, arguments, scaled(n)), (0, 1)),
        computed(
            GRADIENT_AVERAGED_TWICE,
            lambda: _sgd_step(reference, arguments, scaled(1.0 / n)),
            (0, 1),
        ),
    ]


@diagnoses_for("evaluate")
def _evaluate(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    params, x, y = arguments["params"], arguments["x"], arguments["y"]
    size, n = int(arguments["batch_size"]), int(arguments["x"].shape[0])
    losses, accuracies = [], []
    for start in range(0, n, size):
        xb, yb = x[start : start + size], y[start : start + size]
        logits = reference.lenet_forward(params, xb)
        losses.append(float(reference.softmax_cross_entropy(logits, yb)[0]))
        accuracies.append(float((logits.argmax(axis=1) == yb).mean()))
    loss, accuracy = float(np.mean(losses)), float(np.mean(accuracies))
    return [
        Suspect(EVALUATE_BATCH_MEANS, (loss, accuracy), (0, 1)),
        Suspect(EVALUATE_BATCH_MEANS, accuracy, (1,)),
        Suspect(EVALUATE_BATCH_MEANS, loss, (0,)),
    ]


def _init(ref: Any, like: Any, seeds: Callable[[int], int], xavier: Callable[[str], bool]) -> Any:
    """``lenet_init``'s parameters, each weight drawn with ``seeds(index)``, with xavier_uniform
    where ``xavier(name)`` and kaiming_uniform (ReLU) elsewhere."""
    params = {}
    weights = [name for name in ref.PARAMETER_SHAPES if name.endswith("_w")]
    for index, name in enumerate(weights):
        empty = np.zeros(ref.PARAMETER_SHAPES[name], dtype=like.dtype)
        if xavier(name):
            params[name] = ref.xavier_uniform(empty, seed=seeds(index))
        else:
            params[name] = ref.kaiming_uniform(empty, nonlinearity="relu", seed=seeds(index))
        bias = name[:-1] + "b"
        params[bias] = np.zeros(ref.PARAMETER_SHAPES[bias], dtype=like.dtype)
    return {name: params[name] for name in ref.PARAMETER_SHAPES}


@diagnoses_for("lenet_init")
def _lenet_init(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = _arguments(reference, call)
    if arguments is None:
        return []
    like, seed = arguments["like"], arguments["seed"]

    def right_seeds(index: int) -> int:
        return 10 * seed + index

    def only_fc3(name: str) -> bool:
        return name == "fc3_w"

    return [
        computed(INIT_ONE_SEED, lambda: _init(reference, like, lambda index: seed, only_fc3)),
        computed(INIT_FC3_KAIMING, lambda: _init(reference, like, right_seeds, lambda name: False)),
        computed(
            INIT_SEED_PLUS_INDEX, lambda: _init(reference, like, lambda i: seed + i, only_fc3)
        ),
        computed(INIT_XAVIER_EVERYWHERE, lambda: _init(reference, like, right_seeds, bool)),
    ]
