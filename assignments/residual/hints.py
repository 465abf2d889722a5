"""Hints for residual: the usual mistakes in the residual block.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for


@diagnoses_for("residual_block_forward")
def _residual_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.residual_block_forward, call)
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
    return [
        Suspect(
            "your block ignores the projection shortcut (w_proj) when params provide one",
            expected[0],
            (0,),
        )
    ]
