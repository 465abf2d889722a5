"""Name the likely bug behind a failed comparison, by trying the usual mistakes.

When a graded call fails, :func:`diagnose` re-runs the reference with one known mistake at a
time (a flipped kernel, padding ignored, the unbiased variance, the other ``align_corners``,
...) and reports each mistake whose output matches what the submission returned. It only uses
the call's arguments and the submission's result; hints state a suspicion, never a hidden
input or a reference output.

This module is the engine. The hints themselves belong to their assignment:
``assignments/<name>/hints.py`` (optional) holds functions decorated with
:func:`diagnoses_for`, each recognising one mistake in the calls of the functions it names::

    from autograder.suite.hints import Call, diagnoses_for, same, variant_matches

    @diagnoses_for("bilinear_resize")
    def align_corners_confused(reference, call: Call) -> list[str]:
        ...

That file is loaded by path (the assignment folders are not a Python package), once per
process, when a failed call of that assignment is first diagnosed. It lives beside the hidden
suites, outside the ``autograder`` package, so neither the kit's wheel nor a student bundle
carries it; the Gradescope autograder, which carries the assignment's folder, does.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.core.assignments import ASSIGNMENTS_DIR
from autograder.suite.compare import assert_close

HINTS_FILE = "hints.py"
"""An assignment's hints: ``assignments/<name>/hints.py``."""


@dataclass(frozen=True)
class Call:
    """One call of a student function: its name, arguments and what it returned."""

    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any


Diagnosis = Callable[[Any, Call], list[str]]
_DIAGNOSED = "__diagnosed_functions__"
"""Attribute :func:`diagnoses_for` sets on a diagnosis: the student functions it diagnoses."""


def diagnoses_for(*functions: str) -> Callable[[Diagnosis], Diagnosis]:
    """Register the decorated diagnosis for calls of ``functions`` (of its assignment).

    A diagnosis takes the reference module and a failed :class:`Call` and returns hints (an
    empty list when it recognises nothing). Of two diagnoses for one function in a hints file,
    the later one counts."""

    def register(diagnosis: Diagnosis) -> Diagnosis:
        setattr(diagnosis, _DIAGNOSED, (*getattr(diagnosis, _DIAGNOSED, ()), *functions))
        return diagnosis

    return register


def hints_file(assignment: str) -> Path:
    """Where the hints of ``assignment`` live (the file may not exist: no hints)."""
    return ASSIGNMENTS_DIR / assignment / HINTS_FILE


def assignment_diagnoses(assignment: str) -> dict[str, Diagnosis]:
    """``{student function: diagnosis}`` of ``assignments/<assignment>/hints.py``; empty when
    the assignment has no hints file."""
    path = hints_file(assignment)
    return _load_diagnoses(path) if path.is_file() else {}


@functools.cache
def _load_diagnoses(path: Path) -> dict[str, Diagnosis]:
    """Load a hints file by path (once per process) and gather its registered diagnoses."""
    # no f-strings in this module: the test that hints print no reference value reads them all
    module_name = "_autograder_hints_" + path.parent.name
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load hints from " + str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    diagnoses: dict[str, Diagnosis] = {}
    for value in vars(module).values():
        for function in getattr(value, _DIAGNOSED, ()):
            diagnoses[function] = value
    return diagnoses


def _assignment_of(reference: Any) -> str:
    """``conv`` for the reference module ``solutions.conv``."""
    return str(getattr(reference, "__name__", "")).rpartition(".")[2]


def diagnose(reference: Any, calls: list[Call], assignment: str | None = None) -> list[str]:
    """Hints for the calls of a failed test (most recent call first), without duplicates.

    The hints are those of ``assignment`` (by default the reference module's: ``conv`` for
    ``solutions.conv``)."""
    if reference is None:
        return []
    try:
        diagnoses = assignment_diagnoses(assignment or _assignment_of(reference))
    except Exception:  # a hint is a courtesy: a broken hints file never breaks grading
        return []
    hints: list[str] = []
    for call in reversed(calls):
        diagnosis = diagnoses.get(call.function)
        if diagnosis is None:
            continue
        try:
            found = diagnosis(reference, call)
        except Exception:  # a hint is a courtesy: never let it break grading
            found = []
        hints += [hint for hint in found if hint not in hints]
    return hints


# What hints share: compare results, bind arguments, re-run the reference with a change.


def matches(actual: Any, expected: Any) -> bool:
    """True if ``actual`` equals ``expected`` (arrays, or tuples/lists/dicts of arrays)."""
    if isinstance(expected, tuple | list):
        return (
            isinstance(actual, tuple | list)
            and len(actual) == len(expected)
            and all(matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(matches(actual[k], expected[k]) for k in expected)
        )
    try:
        assert_close(actual, expected)
    except AssertionError:
        return False
    return True


def bound(reference_function: Callable[..., Any], call: Call) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in."""
    signature = inspect.signature(reference_function)
    arguments = signature.bind(*call.args, **call.kwargs)
    arguments.apply_defaults()
    return dict(arguments.arguments)


def variant_matches(
    function: Callable[..., Any], call: Call, select: Callable[[Any], Any], **changes: Any
) -> bool:
    """Does the submission's result equal the reference's with ``changes`` to its arguments?"""
    arguments = bound(function, call) | changes
    return matches(select(call.result), select(function(**arguments)))


def is_nontrivial(value: Any) -> bool:
    """Whether an option's value changes anything (not 0, 1, ``(0, 0)``, ``(1, 1)``, None)."""
    return value not in (0, 1, (0, 0), (1, 1), None)


def first(result: Any) -> Any:
    """The first item of a tuple or list result; any other result itself."""
    return result[0] if isinstance(result, tuple | list) else result


def same(result: Any) -> Any:
    """The whole result (the ``select`` of :func:`variant_matches` that compares all of it)."""
    return result


def non_finite(value: Any) -> bool:
    """Whether a result (array, scalar, or a tuple/list of them) holds NaN or inf."""
    if isinstance(value, tuple | list):
        return any(non_finite(item) for item in value)
    if isinstance(value, np.ndarray | np.generic | float) and np.asarray(value).dtype.kind == "f":
        return not bool(np.isfinite(value).all())
    return False
