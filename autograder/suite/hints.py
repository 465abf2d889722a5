"""Name the likely bug behind a failed comparison, by trying the usual mistakes.

When a graded call fails, :func:`diagnose` re-runs the reference with one known mistake at a
time (a flipped kernel, padding ignored, the unbiased variance, the other ``align_corners``,
...) and reports each mistake whose output matches what the submission returned. It only uses
the call's arguments and the submission's result; hints state a suspicion, never a hidden
input or a reference output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.suite.compare import assert_close


@dataclass(frozen=True)
class Call:
    """One call of a student function: its name, arguments and what it returned."""

    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any


Diagnosis = Callable[[Any, Call], list[str]]
_DIAGNOSES: dict[str, Diagnosis] = {}


def _diagnoses_for(*functions: str) -> Callable[[Diagnosis], Diagnosis]:
    def register(diagnosis: Diagnosis) -> Diagnosis:
        for function in functions:
            _DIAGNOSES[function] = diagnosis
        return diagnosis

    return register


def diagnose(reference: Any, calls: list[Call]) -> list[str]:
    """Hints for the calls of a failed test (most recent call first), without duplicates."""
    hints: list[str] = []
    for call in reversed(calls):
        diagnosis = _DIAGNOSES.get(call.function)
        if diagnosis is None or reference is None:
            continue
        try:
            found = diagnosis(reference, call)
        except Exception:  # a hint is a courtesy: never let it break grading
            found = []
        hints += [hint for hint in found if hint not in hints]
    return hints


def _matches(actual: Any, expected: Any) -> bool:
    """True if ``actual`` equals ``expected`` (arrays, or tuples/lists/dicts of arrays)."""
    if isinstance(expected, tuple | list):
        return (
            isinstance(actual, tuple | list)
            and len(actual) == len(expected)
            and all(_matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_matches(actual[k], expected[k]) for k in expected)
        )
    try:
        assert_close(actual, expected)
    except AssertionError:
        return False
    return True


def _bound(reference_function: Callable[..., Any], call: Call) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in."""
    import inspect

    signature = inspect.signature(reference_function)
    bound = signature.bind(*call.args, **call.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _variant_matches(
    function: Callable[..., Any], call: Call, select: Callable[[Any], Any], **changes: Any
) -> bool:
    """Does the submission's result equal the reference's with ``changes`` to its arguments?"""
    arguments = _bound(function, call) | changes
    return _matches(select(call.result), select(function(**arguments)))


def _is_nontrivial(value: Any) -> bool:
    return value not in (0, 1, (0, 0), (1, 1), None)


def _first(result: Any) -> Any:
    return result[0] if isinstance(result, tuple | list) else result


def _same(result: Any) -> Any:
    return result


@_diagnoses_for("conv_forward")
def _conv_forward(reference: Any, call: Call) -> list[str]:
    forward = reference.conv_forward
    arguments = _bound(forward, call)
    hints = []
    w = arguments["w"]
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    if _variant_matches(forward, call, _same, w=flipped):
        hints.append(
            "your output equals a true convolution (kernel flipped); conv layers in deep "
            "learning compute cross-correlation: do not flip w"
        )
    for option, neutral in (("padding", 0), ("stride", 1), ("dilation", 1)):
        if _is_nontrivial(arguments[option]) and _variant_matches(
            forward, call, _same, **{option: neutral}
        ):
            hints.append(f"your output looks like {option} was ignored ({option}={neutral})")
    if arguments["b"] is not None and _variant_matches(forward, call, _same, b=None):
        hints.append("your output looks like the bias b was not added")
    return hints


@_diagnoses_for("conv_backward")
def _conv_backward(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.conv_backward, call)
    expected = reference.conv_backward(**arguments)
    hints = []
    if isinstance(call.result, tuple | list) and len(call.result) == 3:
        dw = call.result[1]
        if _matches(dw, np.ascontiguousarray(expected[1][:, :, ::-1, ::-1])):
            hints.append("your dw is the correct gradient with its kernel axes flipped")
    return hints


@_diagnoses_for("batchnorm_forward")
def _batchnorm_forward(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.batchnorm_forward, call)
    result = call.result
    if not arguments["training"] or not isinstance(result, tuple | list) or len(result) != 3:
        return []
    x = arguments["x"]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    biased = x.var(axis=axes)
    unbiased = biased * (m / (m - 1))
    gamma, beta, eps = arguments["gamma"], arguments["beta"], arguments["eps"]
    momentum = arguments["momentum"]
    running_mean, running_var = arguments["running_mean"], arguments["running_var"]
    hints = []
    out_unbiased = (x - mean.reshape(shape)) / np.sqrt(unbiased.reshape(shape) + eps)
    out_unbiased = (out_unbiased * gamma.reshape(shape) + beta.reshape(shape)).astype(x.dtype)
    if _matches(result[0], out_unbiased):
        hints.append(
            "your output is normalized with the unbiased variance (divided by m - 1); "
            "normalize with the biased batch variance (divide by m)"
        )
    if _matches(result[1], running_mean) and _matches(result[2], running_var):
        hints.append("your running statistics were not updated in training mode")
    elif _matches(result[2], ((1 - momentum) * running_var + momentum * biased).astype(x.dtype)):
        hints.append("running_var must be updated with the unbiased batch variance (m - 1)")
    reversed_mean = (momentum * running_mean + (1 - momentum) * mean).astype(x.dtype)
    if _matches(result[1], reversed_mean):
        hints.append(
            "your running mean uses the momentum the other way round: "
            "new = (1 - momentum) * running + momentum * batch (PyTorch's convention)"
        )
    return hints


@_diagnoses_for("max_pool_forward")
def _max_pool_forward(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.max_pool_forward, call)
    result = call.result
    if not isinstance(result, tuple | list) or len(result) != 2:
        return []
    out, switches = reference.max_pool_forward(**arguments)
    student_switches = result[1]
    if not _matches(result[0], out) or _matches(student_switches, switches):
        return []
    x = arguments["x"]
    if not isinstance(student_switches, np.ndarray) or student_switches.shape != switches.shape:
        return []
    planes = x.reshape(x.shape[0], x.shape[1], -1)
    flat = student_switches.reshape(x.shape[0], x.shape[1], -1).astype(np.int64)
    if flat.min() < 0 or flat.max() >= planes.shape[2]:
        return ["your switches index outside the unpadded H x W plane (use h * W + w, unpadded)"]
    picked = np.take_along_axis(planes, flat, axis=2).reshape(out.shape)
    if np.array_equal(picked, out, equal_nan=True):
        return [
            "your switches point at maxima but resolve ties differently: the FIRST maximum "
            "in row-major window order must win (compare with >, not >=)"
        ]
    return []


@_diagnoses_for("bilinear_resize", "bilinear_resize_backward")
def _bilinear(reference: Any, call: Call) -> list[str]:
    function = getattr(reference, call.function)
    align_corners = bool(_bound(function, call)["align_corners"])
    if _variant_matches(function, call, _same, align_corners=not align_corners):
        return [
            f"your result matches align_corners={not align_corners}, but this call used "
            f"align_corners={align_corners}: check how output pixels map to input coordinates"
        ]
    return []


@_diagnoses_for("roi_align")
def _roi_align(reference: Any, call: Call) -> list[str]:
    aligned = bool(_bound(reference.roi_align, call)["aligned"])
    if _variant_matches(reference.roi_align, call, _same, aligned=not aligned):
        return [
            f"your result matches aligned={not aligned}: with aligned=True box coordinates are "
            f"shifted by -0.5 pixel; with aligned=False boxes are at least 1x1"
        ]
    return []


@_diagnoses_for("residual_block_forward")
def _residual_forward(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.residual_block_forward, call)
    params, state = arguments["params"], arguments["bn_state"]
    x = arguments["x"]
    if "w_proj" not in params or params["w_proj"].shape[0] != x.shape[1]:
        return []
    if arguments["stride"] not in (1, (1, 1)):
        return []
    identity_params = {k: v for k, v in params.items() if not k.endswith("_proj")}
    identity_state = {k: v for k, v in state.items() if not k.endswith("_proj")}
    expected = reference.residual_block_forward(
        **(arguments | {"params": identity_params, "bn_state": identity_state})
    )
    if _matches(_first(call.result), expected[0]):
        return ["your block ignores the projection shortcut (w_proj) when params provide one"]
    return []


def _non_finite(value: Any) -> bool:
    """Whether a result (array, scalar, or a tuple/list of them) holds NaN or inf."""
    if isinstance(value, tuple | list):
        return any(_non_finite(item) for item in value)
    if isinstance(value, np.ndarray | np.generic | float) and np.asarray(value).dtype.kind == "f":
        return not bool(np.isfinite(value).all())
    return False


@_diagnoses_for(
    "sigmoid_forward",
    "sigmoid_backward",
    "softmax_forward",
    "softmax_backward",
    "softmax_cross_entropy",
    "binary_focal_loss",
    "multiclass_focal_loss",
    "distillation_loss",
)
def _overflow(reference: Any, call: Call) -> list[str]:
    expected = getattr(reference, call.function)(*call.args, **call.kwargs)
    if _non_finite(call.result) and not _non_finite(expected):
        return [
            "your result holds NaN or inf where the right one is finite: exp overflowed. "
            "Subtract the row maximum before exp (softmax, log-softmax) and only take exp of "
            "non-positive numbers (sigmoid: use exp(-|x|))"
        ]
    return []


@_diagnoses_for("relu_backward")
def _relu_backward(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.relu_backward, call)
    dout, x = arguments["dout"], arguments["x"]
    if not (x == 0).any():
        return []
    at_zero_is_one = np.where(x >= 0, dout, 0).astype(x.dtype)
    if _matches(call.result, at_zero_is_one):
        return ["ReLU's gradient at exactly x = 0 is taken as 0 (as in PyTorch): use x > 0"]
    return []


@_diagnoses_for("multiclass_hinge")
def _hinge(reference: Any, call: Call) -> list[str]:
    arguments = _bound(reference.multiclass_hinge, call)
    loss, _ = reference.multiclass_hinge(**arguments)
    k = arguments["scores"].shape[1]
    result = call.result
    if not isinstance(result, tuple | list) or len(result) != 2:
        return []
    try:
        got = float(result[0])
    except (TypeError, ValueError):
        return []
    if float(loss) != 0 and abs(got - k * float(loss)) <= 1e-6 * abs(k * float(loss)):
        return [
            f"your loss is K = {k} times the expected one: multi_margin_loss (and this "
            "assignment) divides the sum over classes by the number of classes"
        ]
    return []


@_diagnoses_for("dropout_forward", "dropout_backward")
def _dropout(reference: Any, call: Call) -> list[str]:
    function = getattr(reference, call.function)
    arguments = _bound(function, call)
    if not arguments["training"] or arguments["p"] in (0, 1):
        return []
    values = arguments["x" if call.function == "dropout_forward" else "dout"]
    unscaled = np.where(arguments["mask"], values, 0).astype(values.dtype)
    if _matches(call.result, unscaled):
        return [
            "your kept values are not scaled by 1 / (1 - p): inverted dropout scales during "
            "training so that the expected output equals the input"
        ]
    return []


@_diagnoses_for("adam", "adamw")
def _adam(reference: Any, call: Call) -> list[str]:
    function = getattr(reference, call.function)
    arguments = _bound(function, call)
    result = call.result
    if not isinstance(result, tuple | list) or len(result) != 2:
        return []
    w, dw, state = arguments["w"], arguments["dw"], arguments["state"]
    beta1, beta2, eps, lr = (
        arguments["beta1"],
        arguments["beta2"],
        arguments["eps"],
        arguments["lr"],
    )
    decay = arguments["weight_decay"]
    g = dw if call.function == "adamw" else dw + decay * w
    base = w * (1 - lr * decay) if call.function == "adamw" else w
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    uncorrected = (base - lr * m / (np.sqrt(v) + eps)).astype(w.dtype)
    if _matches(result[0], uncorrected):
        return [
            "your update leaves out the bias correction: divide m by 1 - beta1 ** t and v by "
            "1 - beta2 ** t (t counts the steps, from 1), or the first steps are far too small"
        ]
    return []
