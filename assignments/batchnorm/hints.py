"""Hints for batchnorm: the usual mistakes in batch normalization.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, bound, diagnoses_for, matches


@diagnoses_for("batchnorm_forward")
def _batchnorm_forward(reference: Any, call: Call) -> list[str]:
    arguments = bound(reference.batchnorm_forward, call)
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
    if matches(result[0], out_unbiased):
        hints.append(
            "your output is normalized with the unbiased variance (divided by m - 1); "
            "normalize with the biased batch variance (divide by m)"
        )
    if matches(result[1], running_mean) and matches(result[2], running_var):
        hints.append("your running statistics were not updated in training mode")
    elif matches(result[2], ((1 - momentum) * running_var + momentum * biased).astype(x.dtype)):
        hints.append("running_var must be updated with the unbiased batch variance (m - 1)")
    reversed_mean = (momentum * running_mean + (1 - momentum) * mean).astype(x.dtype)
    if matches(result[1], reversed_mean):
        hints.append(
            "your running mean uses the momentum the other way round: "
            "new = (1 - momentum) * running + momentum * batch (PyTorch's convention)"
        )
    return hints
