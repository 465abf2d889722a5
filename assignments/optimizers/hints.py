"""Hints for optimizers: the usual mistakes in Adam and AdamW.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for


@diagnoses_for("adam", "adamw")
def _adam(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(getattr(reference, call.function), call)
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
    return [
        Suspect(
            "your update leaves out the bias correction: divide m by 1 - beta1 ** t and v by "
            "1 - beta2 ** t (t counts the steps, from 1), or the first steps are far too small",
            uncorrected,
            (0,),
        )
    ]
