"""Hints for pooling: the usual mistakes in max-pooling.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, matches


@diagnoses_for("max_pool_forward")
def _max_pool_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.max_pool_forward, call)
    result = call.result
    if not isinstance(result, tuple | list) or len(result) != 2:
        return []
    out, switches = reference.max_pool_forward(**arguments)
    student_switches = result[1]
    if not matches(result[0], out) or matches(student_switches, switches):
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
