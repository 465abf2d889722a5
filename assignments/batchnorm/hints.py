"""Hints for batchnorm: the usual mistakes in batch normalization.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for


@diagnoses_for("batchnorm_forward")
def _batchnorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.batchnorm_forward, call)
    if not arguments["training"]:
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
    out_unbiased = (x - mean.reshape(shape)) / np.sqrt(unbiased.reshape(shape) + eps)
    out_unbiased = (out_unbiased * gamma.reshape(shape) + beta.reshape(shape)).astype(x.dtype)
    var_biased = ((1 - momentum) * running_var + momentum * biased).astype(x.dtype)
    reversed_mean = (momentum * running_mean + (1 - momentum) * mean).astype(x.dtype)
    return [
        Suspect(
            "your output is normalized with the unbiased variance (divided by m - 1); "
            "normalize with the biased batch variance (divide by m)",
            out_unbiased,
            (0,),
        ),
        Suspect(
            "your running statistics were not updated in training mode",
            (running_mean, running_var),
            (1, 2),
        ),
        Suspect(
            "running_var must be updated with the unbiased batch variance (m - 1)",
            var_biased,
            (2,),
        ),
        Suspect(
            "your running mean uses the momentum the other way round: "
            "new = (1 - momentum) * running + momentum * batch (PyTorch's convention)",
            reversed_mean,
            (1,),
        ),
    ]
