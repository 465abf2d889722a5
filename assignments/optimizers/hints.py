"""Hints for optimizers: the usual mistakes in the optimizers' steps and the initializers.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made) and names them, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (students' code, course forums and framework issues):

* Adam without bias correction, or with the step counted from 0 or twice: cs231n/
  cs231n.github.io#179 (the assignment's ``t`` off by one), tensorflow/tensorflow#35444,
  deeplearning4j/nd4j#1227 (``t`` from 0: the first step divides by 0).
* Nesterov written as plain momentum, and momentum as an exponential average
  ``v = mu * v + (1 - mu) * g``: pytorch/pytorch#1099 (PyTorch's buffer ``v = mu * v + g``
  differs from other frameworks'), keras-team/keras#13971, ml-explore/mlx#87 and #473.
* ``eps`` inside the square root: keras-team/keras#435 and #4356, jax-ml/jax#1427,
  chainer/chainer#4754 (TensorFlow's RMSprop puts it inside, PyTorch's outside).
* AdamW's decay added to the gradient (Adam's coupled L2): nntrainer/nntrainer#3565;
  applied to the weights after the Adam step: huggingface/transformers#14539; without the
  learning rate (the paper's schedule multiplier read as no factor):
  modern-fortran/neural-fortran#152.
* Fans without the receptive field (``fan_in = C_in``): pytorch/vision#183,
  Lasagne/Lasagne#772, keras-team/keras#2252; the other fan than ``mode`` asks.
* Momentum with the learning rate inside the velocity, CS231n's ``v = mu * v - lr * dw``,
  ``w + v`` (and its Nesterov form ``w - mu * v_prev + (1 + mu) * v``), carried into PyTorch's
  buffer: NLeSC/deep-learning-assignments-solutions#2, pytorch/pytorch#1099 and #44917.
* RMSprop's momentum buffer with the learning rate inside, ``velocity = momentum * velocity +
  lr * d``, ``w - velocity`` (TensorFlow's form): pytorch/pytorch#32545 and #46118.
* Adam's "epsilon hat", the paper's efficient form that TensorFlow and Keras implement:
  ``lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m / (sqrt(v) + eps)``, eps added to the
  uncorrected root: tensorflow/tensorflow#9047 and #35102, keras-team/keras#17391.
* The betas read as the weights of the new gradient, ``m = (1 - beta1) * m + beta1 * g`` (the
  first version of the Adam paper): mila-iqia/blocks#1159, ryankiros/skip-thoughts#82.
* The step counter kept by hand and never written back (CS231n's ``config['t']``, which
  students increment in place or forget): cs231n/cs231n.github.io#179.
* A uniform drawn with the standard deviation as its bound, ``U(-std, std)`` (its spread is
  ``std / sqrt(3)``): pytorch/pytorch#1667, LaurentMazare/tch-rs#573.
* He initialization with the gain squared, ``std = gain ** 2 / sqrt(fan)``:
  pytorch/pytorch#30947; with the paper's ``sqrt(2 / fan)`` whatever the nonlinearity (CS231n's
  notes, ``np.random.randn(n) * sqrt(2.0 / n)``): pytorch/pytorch#15314.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    diagnoses_for,
    in_dtype_of,
    non_finite,
    suspect,
)

UNCORRECTED = (
    "your update leaves out the bias correction: divide m by 1 - beta1 ** t and v by "
    "1 - beta2 ** t (t counts the steps, from 1), or the first steps are far too small"
)
STEP_OFF_BY_ONE = (
    "your bias correction uses the step after this one: t = state['step'] + 1 is this step's "
    "number (1 on the first step); count it once, and return it as the new state's step"
)
STEP_FROM_ZERO = (
    "your first step holds NaN or inf: with t = 0 the bias correction divides by "
    "1 - beta ** 0 = 0; this step's number is t = state['step'] + 1"
)
EPS_INSIDE = (
    "your update adds eps inside the square root, sqrt(v + eps), as TensorFlow's RMSprop "
    "does; torch.optim adds it outside: divide by sqrt(v) + eps"
)
DECAY_IGNORED = (
    "your step ignores weight_decay: add weight_decay * w to the gradient first "
    "(g = dw + weight_decay * w)"
)
ADAMW_DECAY_IGNORED = (
    "your AdamW never decays the weights: shrink them before the Adam step, "
    "w = w * (1 - lr * weight_decay)"
)
ADAMW_COUPLED = (
    "your AdamW adds weight_decay * w to the gradient (Adam's coupled L2, which then goes "
    "through m and v): AdamW decays the weights themselves, w = w * (1 - lr * weight_decay), "
    "and runs Adam on dw alone"
)
ADAMW_DECAY_AFTER = (
    "your AdamW decays the weights after the Adam step: shrink the old weights first, "
    "w = w * (1 - lr * weight_decay), then subtract the Adam step"
)
ADAMW_DECAY_WITHOUT_LR = (
    "your AdamW shrinks the weights by w * (1 - weight_decay): torch.optim.AdamW multiplies "
    "the decay by the learning rate, w * (1 - lr * weight_decay)"
)
NESTEROV_IGNORED = (
    "your step with nesterov=True is plain momentum (w - lr * v): Nesterov's step looks "
    "ahead, w - lr * (g + momentum * v), with v the new velocity"
)
MOMENTUM_DAMPENED = (
    "your velocity is an exponential average, v = momentum * v + (1 - momentum) * g: "
    "torch.optim.SGD (dampening 0) adds the whole gradient, v = momentum * v + g"
)
FANS_WITHOUT_KERNEL = (
    "your fans leave out the receptive field: for a conv weight (F, C, KH, KW), "
    "fan_in = C * KH * KW and fan_out = F * KH * KW (each input is used KH * KW times)"
)
FAN_OUT_FOR_FAN_IN = (
    "your weights have the spread of the fan-out where mode='fan_in' asks for the fan-in "
    "(C * KH * KW): pick the fan that mode names, and check that fan_in_and_fan_out returns "
    "(fan_in, fan_out) in that order"
)
SGD_LR_IN_VELOCITY = (
    "your velocity carries the learning rate (CS231n's v = momentum * v - lr * g, w + v): "
    "torch.optim.SGD keeps v = momentum * v + g and steps w - lr * v (Nesterov: "
    "w - lr * (g + momentum * v)), and the state's velocity is that v"
)
RMSPROP_LR_IN_VELOCITY = (
    "your RMSprop momentum puts the learning rate inside the velocity, velocity = momentum * "
    "velocity + lr * d, w - velocity (TensorFlow's form): torch.optim.RMSprop keeps "
    "velocity = momentum * velocity + d and steps w - lr * velocity"
)
ADAM_EPS_HAT = (
    "your Adam adds eps to the uncorrected sqrt(v) and folds the corrections into the step "
    "size (the paper's efficient form, TensorFlow's epsilon hat): torch.optim.Adam adds eps to "
    "the corrected root, m_hat / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)"
)
ADAM_BETAS_COMPLEMENT = (
    "your moment averages give the old moment the weight 1 - beta and the gradient beta: "
    "beta is the decay of the average, m = beta1 * m + (1 - beta1) * g and "
    "v = beta2 * v + (1 - beta2) * g ** 2"
)
ADAM_STEP_NOT_SAVED = (
    "your new state keeps the old step count: return this step's number t = state['step'] + 1 "
    "as the state's step, or every later step repeats the first step's bias correction"
)
UNIFORM_BOUND_AS_STD = (
    "your uniform draws use the standard deviation as their bound, U(-std, std), whose spread "
    "is only std / sqrt(3): draw from U(-b, b) with b = sqrt(3) * std"
)
KAIMING_GAIN_SQUARED = (
    "your He initialization uses the gain squared, std = gain ** 2 / sqrt(fan), either in "
    "the initializer or in a calculate_gain that returns the variance's factor (2 for relu "
    "where sqrt(2) belongs): the gain scales the standard deviation, std = gain / sqrt(fan)"
)
KAIMING_GAIN_HARDCODED = (
    "your He initialization uses sqrt(2 / fan) whatever the nonlinearity: the gain of "
    "calculate_gain(nonlinearity, a) replaces sqrt(2), std = gain / sqrt(fan) (1 for "
    "'linear', 5 / 3 for 'tanh', sqrt(2 / (1 + a ** 2)) for 'leaky_relu')"
)
FAN_IN_FOR_FAN_OUT = (
    "your weights have the spread of the fan-in where mode='fan_out' asks for the fan-out "
    "(F * KH * KW): pick the fan that mode names, and check that fan_in_and_fan_out returns "
    "(fan_in, fan_out) in that order"
)


def _gradient(arguments: dict[str, Any]) -> Any:
    """``dw + weight_decay * w`` in float64 (the coupled L2 of every optimizer but AdamW)."""
    w = np.asarray(arguments["w"], np.float64)
    return np.asarray(arguments["dw"], np.float64) + arguments["weight_decay"] * w


def _adam_moments(g: Any, state: dict, arguments: dict[str, Any], complement: bool) -> Any:
    """Adam's new ``(m, v)`` in float64; with ``complement`` each beta weighs the gradient."""
    beta1, beta2 = arguments["beta1"], arguments["beta2"]
    if complement:
        beta1, beta2 = 1 - beta1, 1 - beta2
    m = beta1 * np.asarray(state["m"], np.float64) + (1 - beta1) * g
    v = beta2 * np.asarray(state["v"], np.float64) + (1 - beta2) * g * g
    return m, v


def _adam_step(w: Any, g: Any, state: dict, arguments: dict[str, Any], **changes: Any) -> Any:
    """Adam's new weights from ``w`` and ``g`` (float64), with ``changes``: ``t`` (the step
    number used in the bias correction), ``corrected``, ``eps_inside``, ``eps_hat`` (eps added
    to the uncorrected root, the corrections folded into the step size) and ``complement``
    (the betas weigh the gradient)."""
    beta1, beta2, eps, lr = (arguments[k] for k in ("beta1", "beta2", "eps", "lr"))
    t = changes.get("t", int(state["step"]) + 1)
    m, v = _adam_moments(g, state, arguments, changes.get("complement", False))
    if changes.get("eps_hat"):
        return w - lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps)
    if changes.get("corrected", True):
        m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    denominator = np.sqrt(v + eps) if changes.get("eps_inside") else np.sqrt(v) + eps
    return w - lr * m / denominator


@diagnoses_for("adam", "adamw")
def _adam(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    w, state, lr, decay = (
        arguments["w"],
        arguments["state"],
        arguments["lr"],
        arguments["weight_decay"],
    )
    if not isinstance(state, dict) or not isinstance(state.get("step"), int | np.integer):
        return []
    w64 = np.asarray(w, np.float64)
    decoupled = call.function == "adamw"
    g = np.asarray(arguments["dw"], np.float64) if decoupled else _gradient(arguments)
    base = w64 * (1 - lr * decay) if decoupled else w64

    def step(**changes: Any) -> Any:
        return in_dtype_of(_adam_step(base, g, state, arguments, **changes), w)

    t = int(state["step"]) + 1
    m, v = _adam_moments(g, state, arguments, complement=True)
    correct = function(**arguments)
    found: list[Suspect | str] = [
        Suspect(UNCORRECTED, step(corrected=False), (0,)),
        Suspect(STEP_OFF_BY_ONE, step(t=int(state["step"]) + 2), (0,)),
        Suspect(EPS_INSIDE, step(eps_inside=True), (0,)),
        Suspect(ADAM_EPS_HAT, step(eps_hat=True), (0,)),
        Suspect(
            ADAM_BETAS_COMPLEMENT,
            (step(complement=True), {"m": in_dtype_of(m, w), "v": in_dtype_of(v, w), "step": t}),
        ),
        Suspect(ADAM_STEP_NOT_SAVED, (correct[0], {**correct[1], "step": int(state["step"])})),
        suspect(
            function,
            call,
            ADAMW_DECAY_IGNORED if decoupled else DECAY_IGNORED,
            part=(0,),
            weight_decay=0.0,
        ),
    ]
    if decoupled:
        found += [
            suspect(reference.adam, call, ADAMW_COUPLED, part=(0,), weight_decay=decay),
            Suspect(
                ADAMW_DECAY_AFTER,
                in_dtype_of(_adam_step(w64, g, state, arguments) * (1 - lr * decay), w),
                (0,),
            ),
            Suspect(
                ADAMW_DECAY_WITHOUT_LR,
                in_dtype_of(_adam_step(w64 * (1 - decay), g, state, arguments), w),
                (0,),
            ),
        ]
    if int(state["step"]) == 0 and non_finite(call.result) and not non_finite(correct):
        found.append(STEP_FROM_ZERO)
    return found


@diagnoses_for("sgd")
def _sgd(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.sgd, call)
    w, momentum, lr = arguments["w"], arguments["momentum"], arguments["lr"]
    found: list[Suspect | str] = [
        suspect(reference.sgd, call, DECAY_IGNORED, part=(0,), weight_decay=0.0)
    ]
    if momentum > 0:
        if arguments["nesterov"]:
            found.append(suspect(reference.sgd, call, NESTEROV_IGNORED, part=(0,), nesterov=False))
        g = _gradient(arguments)
        v = momentum * np.asarray(arguments["state"]["velocity"], np.float64) + (1 - momentum) * g
        taken = g + momentum * v if arguments["nesterov"] else v
        found.append(
            Suspect(
                MOMENTUM_DAMPENED, (in_dtype_of(w - lr * taken, w), {"velocity": in_dtype_of(v, w)})
            )
        )
        previous = np.asarray(arguments["state"]["velocity"], np.float64)
        v = momentum * previous - lr * g  # CS231n's velocity, the learning rate inside
        w64 = np.asarray(w, np.float64)
        moved = w64 - momentum * previous + (1 + momentum) * v if arguments["nesterov"] else w64 + v
        found.append(
            Suspect(SGD_LR_IN_VELOCITY, (in_dtype_of(moved, w), {"velocity": in_dtype_of(v, w)}))
        )
    return found


@diagnoses_for("adagrad", "rmsprop")
def _adaptive(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    w, state, lr, eps = arguments["w"], arguments["state"], arguments["lr"], arguments["eps"]
    g = _gradient(arguments)
    if call.function == "adagrad":
        squares = np.asarray(state["sum_sq"], np.float64) + g * g
        inside = w - lr * g / np.sqrt(squares + eps)
    else:
        alpha, momentum = arguments["alpha"], arguments["momentum"]
        squares = alpha * np.asarray(state["square_avg"], np.float64) + (1 - alpha) * g * g
        d = g / np.sqrt(squares + eps)
        if momentum > 0:
            d = momentum * np.asarray(state["velocity"], np.float64) + d
        inside = w - lr * d
    found: list[Suspect | str] = [
        Suspect(EPS_INSIDE, in_dtype_of(inside, w), (0,)),
        suspect(function, call, DECAY_IGNORED, part=(0,), weight_decay=0.0),
    ]
    if call.function == "rmsprop" and arguments["momentum"] > 0:
        d = g / (np.sqrt(squares) + eps)
        velocity = arguments["momentum"] * np.asarray(state["velocity"], np.float64) + lr * d
        found.append(
            Suspect(
                RMSPROP_LR_IN_VELOCITY,
                (
                    in_dtype_of(np.asarray(w, np.float64) - velocity, w),
                    {"square_avg": in_dtype_of(squares, w), "velocity": in_dtype_of(velocity, w)},
                ),
            )
        )
    return found


@diagnoses_for("fan_in_and_fan_out")
def _fans(reference: Any, call: Call) -> list[Suspect | str]:
    shape = tuple(int(s) for s in bound(reference.fan_in_and_fan_out, call)["shape"])
    if len(shape) <= 2:
        return []
    return [Suspect(FANS_WITHOUT_KERNEL, (shape[1], shape[0]))]


def _std_factor(function: str, arguments: dict[str, Any], fans: tuple[int, int]) -> float:
    """How much larger the initializer's standard deviation is with ``fans`` in place of the
    right ones (the draws are the same: only their scale changes)."""
    shape = tuple(int(s) for s in arguments["w"].shape)
    receptive = math.prod(shape[2:])
    right = (shape[1] * receptive, shape[0] * receptive)
    if function.startswith("xavier"):
        return math.sqrt(sum(right) / sum(fans))
    pick = 0 if arguments["mode"] == "fan_in" else 1
    return math.sqrt(right[pick] / fans[pick])


@diagnoses_for("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")
def _initializer(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    shape = tuple(int(s) for s in arguments["w"].shape)
    correct = function(**arguments)
    if len(shape) < 2:
        return []

    def scaled(factor: float) -> Any:
        return (np.asarray(correct, np.float64) * factor).astype(correct.dtype)

    found: list[Suspect | str] = []
    if len(shape) > 2:
        factor = _std_factor(call.function, arguments, (shape[1], shape[0]))
        found.append(Suspect(FANS_WITHOUT_KERNEL, scaled(factor)))
    if call.function.startswith("kaiming") and arguments["mode"] in ("fan_in", "fan_out"):
        receptive = math.prod(shape[2:])
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        if arguments["mode"] == "fan_in":
            found.append(Suspect(FAN_OUT_FOR_FAN_IN, scaled(math.sqrt(fan_in / fan_out))))
        else:
            found.append(Suspect(FAN_IN_FOR_FAN_OUT, scaled(math.sqrt(fan_out / fan_in))))
    if call.function.endswith("uniform"):
        found.append(Suspect(UNIFORM_BOUND_AS_STD, scaled(1 / math.sqrt(3))))
    if call.function.startswith("kaiming"):
        gain = reference.calculate_gain(arguments["nonlinearity"], arguments["a"])
        found.append(Suspect(KAIMING_GAIN_SQUARED, scaled(gain)))
        found.append(Suspect(KAIMING_GAIN_HARDCODED, scaled(math.sqrt(2) / gain)))
    return found
