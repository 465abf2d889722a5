"""Hints for regularization: the usual mistakes in dropout.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for


@diagnoses_for("dropout_forward", "dropout_backward")
def _dropout(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(getattr(reference, call.function), call)
    if not arguments["training"]:
        return []
    values = arguments["x" if call.function == "dropout_forward" else "dout"]
    unscaled = np.where(arguments["mask"], values, 0).astype(values.dtype)
    return [
        Suspect(
            "your kept values are not scaled by 1 / (1 - p): inverted dropout scales during "
            "training so that the expected output equals the input",
            unscaled,
        )
    ]
