"""Hints for activations_losses: the usual mistakes in activations and losses.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, non_finite


@diagnoses_for(
    "sigmoid_forward",
    "sigmoid_backward",
    "softmax_forward",
    "softmax_backward",
    "softmax_cross_entropy",
    "binary_focal_loss",
    "multiclass_focal_loss",
    "distillation_loss",
)
def _overflow(reference: Any, call: Call) -> list[Suspect | str]:
    expected = getattr(reference, call.function)(*call.args, **call.kwargs)
    if non_finite(call.result) and not non_finite(expected):
        return [
            "your result holds NaN or inf where the right one is finite: an exp overflowed, "
            "or a log (or a division) met 0. Subtract the row maximum before exp, take log-"
            "probabilities as z - max - log(sum(exp(z - max))) instead of log(softmax), and "
            "only take exp of non-positive numbers (sigmoid: use exp(-|x|))"
        ]
    return []


@diagnoses_for("relu_backward")
def _relu_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.relu_backward, call)
    dout, x = arguments["dout"], arguments["x"]
    at_zero_is_one = np.where(x >= 0, dout, 0).astype(x.dtype)
    return [
        Suspect(
            "ReLU's gradient at exactly x = 0 is taken as 0 (as in PyTorch): use x > 0",
            at_zero_is_one,
        )
    ]


@diagnoses_for("multiclass_hinge")
def _hinge(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.multiclass_hinge, call)
    loss, _ = reference.multiclass_hinge(**arguments)
    k = arguments["scores"].shape[1]
    hint = (
        f"your loss is K = {k} times the expected one: multi_margin_loss (and this "
        "assignment) divides the sum over classes by the number of classes"
    )
    return [Suspect(hint, loss * k, (0,))]
