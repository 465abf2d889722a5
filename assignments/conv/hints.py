"""Hints for conv: the usual mistakes in convolution.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    bound,
    diagnoses_for,
    is_nontrivial,
    matches,
    same,
    variant_matches,
)


@diagnoses_for("conv_forward")
def _conv_forward(reference: Any, call: Call) -> list[str]:
    forward = reference.conv_forward
    arguments = bound(forward, call)
    hints = []
    w = arguments["w"]
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    if variant_matches(forward, call, same, w=flipped):
        hints.append(
            "your output equals a true convolution (kernel flipped); conv layers in deep "
            "learning compute cross-correlation: do not flip w"
        )
    for option, neutral in (("padding", 0), ("stride", 1), ("dilation", 1)):
        if is_nontrivial(arguments[option]) and variant_matches(
            forward, call, same, **{option: neutral}
        ):
            hints.append(f"your output looks like {option} was ignored ({option}={neutral})")
    if arguments["b"] is not None and variant_matches(forward, call, same, b=None):
        hints.append("your output looks like the bias b was not added")
    return hints


@diagnoses_for("conv_backward")
def _conv_backward(reference: Any, call: Call) -> list[str]:
    arguments = bound(reference.conv_backward, call)
    expected = reference.conv_backward(**arguments)
    hints = []
    if isinstance(call.result, tuple | list) and len(call.result) == 3:
        dw = call.result[1]
        if matches(dw, np.ascontiguousarray(expected[1][:, :, ::-1, ::-1])):
            hints.append("your dw is the correct gradient with its kernel axes flipped")
    return hints
