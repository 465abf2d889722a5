"""Hints for interpolation: the usual mistakes in bilinear resize and RoI Align.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.
"""

from __future__ import annotations

from typing import Any

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, suspect


@diagnoses_for("bilinear_resize", "bilinear_resize_backward")
def _bilinear(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    align_corners = bool(bound(function, call)["align_corners"])
    hint = (
        f"your result matches align_corners={not align_corners}, but this call used "
        f"align_corners={align_corners}: check how output pixels map to input coordinates"
    )
    return [suspect(function, call, hint, align_corners=not align_corners)]


@diagnoses_for("roi_align")
def _roi_align(reference: Any, call: Call) -> list[Suspect | str]:
    aligned = bool(bound(reference.roi_align, call)["aligned"])
    hint = (
        f"your result matches aligned={not aligned}: with aligned=True box coordinates are "
        f"shifted by -0.5 pixel; with aligned=False boxes are at least 1x1"
    )
    return [suspect(reference.roi_align, call, hint, aligned=not aligned)]
