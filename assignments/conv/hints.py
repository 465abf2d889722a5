"""Hints for conv: the usual mistakes in convolution.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, suspect


@diagnoses_for("conv_forward")
def _conv_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.conv_forward
    arguments = bound(forward, call)
    flipped = np.ascontiguousarray(arguments["w"][:, :, ::-1, ::-1])
    suspects = [
        suspect(
            forward,
            call,
            "your output equals a true convolution (kernel flipped); conv layers in deep "
            "learning compute cross-correlation: do not flip w",
            w=flipped,
        )
    ]
    for option, neutral in (("padding", 0), ("stride", 1), ("dilation", 1)):
        hint = f"your output looks like {option} was ignored ({option}={neutral})"
        suspects.append(suspect(forward, call, hint, **{option: neutral}))
    if arguments["b"] is not None:
        suspects.append(
            suspect(forward, call, "your output looks like the bias b was not added", b=None)
        )
    return suspects


@diagnoses_for("conv_backward")
def _conv_backward(reference: Any, call: Call) -> list[Suspect | str]:
    _, dw, _ = reference.conv_backward(**bound(reference.conv_backward, call))
    flipped = np.ascontiguousarray(dw[:, :, ::-1, ::-1])
    return [Suspect("your dw is the correct gradient with its kernel axes flipped", flipped, (1,))]
