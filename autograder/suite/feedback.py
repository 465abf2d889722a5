"""What a graded test tells the student: its failure message, redacted where it must keep the
hidden suite's secrets, and hints naming the likely mistake.

A hidden test's expected values are the reference's: a student sees them only where the
assignment's ``[feedback] reveal_expected`` allows (the instructors get the full message).
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from autograder.core.assignments import (
    DEFAULT_REVEAL_EXPECTED,
    REPO_ROOT,
    SOLUTIONS_DIR,
    UnknownAssignmentError,
    load_assignment,
    reveals_expected,
)
from autograder.core.results import TestResult
from autograder.sandbox import GradingError
from autograder.suite.compare import ComparisonError, MistakeFound
from autograder.suite.hints import PathKey, TestDiagnosis, diagnose_error, gather
from autograder.suite.session import CALLS
from autograder.suite.student import StudentError

GRADING_ERROR_PREFIX = "grading error (the grader's environment failed, not the submission)"


MAX_MESSAGE = 2000


WITHHELD = "a check of this hidden test failed (the values it compared are withheld)"


def visibility_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("visibility")
    return marker.args[0] if marker is not None and marker.args else "visible"


def keeps_secrets(item: pytest.Item) -> bool:
    """Whether a test's expected values are the reference's secrets: a test of a hidden suite
    (not ``visible``, or using the ``reference`` fixture, or in a ``hidden/`` folder). A public
    test's expected values are known answers that students compute themselves."""
    return (
        visibility_of(item) != "visible"
        or "reference" in getattr(item, "fixturenames", ())
        or Path(item.path).parent.name == "hidden"
    )


def reveal_expected_of(item: pytest.Item) -> str:
    """The assignment's ``[feedback] reveal_expected`` (the kit's default where unknown)."""
    marker = item.get_closest_marker("assignment")
    try:
        return load_assignment(str(marker.args[0])).reveal_expected
    except (UnknownAssignmentError, IndexError, AttributeError):
        return DEFAULT_REVEAL_EXPECTED


def shows_expected(item: pytest.Item) -> bool:
    """Whether this test's student-visible output may show expected values: a public test
    always; a hidden-suite test when Gradescope shows it (its visibility) no earlier than the
    assignment's ``reveal_expected`` allows."""
    if not keeps_secrets(item):
        return True
    return reveals_expected(reveal_expected_of(item), visibility_of(item))


def grading_error_of(call: pytest.CallInfo[None]) -> str:
    """The message of the :class:`GradingError` this phase of a test raised ("" if none)."""
    excinfo = call.excinfo
    if excinfo is None or not excinfo.errisinstance(GradingError):
        return ""
    return str(excinfo.value)


def failure_messages(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[str, str]:
    """The failure's message in full, and without expected values.

    A :class:`~autograder.suite.compare.ComparisonError` carries both. Of any other
    ``AssertionError`` (a suite's plain ``assert``, ``numpy.testing``) the redacted message is
    the first line of its own message only: pytest's explanation of an ``assert`` (``assert 3
    == 7``, the values of both sides and the test's expressions) and the arrays that
    ``numpy.testing`` prints below its first line are left out. A failed call of the
    student's function (:class:`~autograder.suite.student.StudentError`) keeps its message: it is
    the student's own error.
    """
    full = failure_message(report)
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, ComparisonError):
        return _clip(error.full), _clip(error.redacted)
    if isinstance(error, AssertionError) and not isinstance(error, StudentError):
        lines = [line for line in full.splitlines() if line.strip()]
        first = lines[0].strip() if lines else ""
        if not first or first.startswith("assert ") or first == "assert":
            return full, WITHHELD
        return full, first
    return full, full


def _clip(message: str) -> str:
    return message[:MAX_MESSAGE] + " [...]" if len(message) > MAX_MESSAGE else message


def failure_message(report: pytest.TestReport) -> str:
    """The exception's message only: never the test's source, which may be hidden."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # skip reports: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        message = crash.message
    else:
        message = str(longrepr).strip().splitlines()[-1] if longrepr else ""
    message = message.removeprefix("AssertionError: ").removeprefix(
        "autograder.suite.compare.ComparisonError: "
    )
    if message.startswith("autograder.suite.student.Student"):  # our wrapper of a failed call
        message = message.split(": ", 1)[-1]
    return _clip(message)


def reference_module(item: pytest.Item) -> Any | None:
    """The plain reference module of the test's assignment (``solutions.<name>``), where the
    grader has it (the instructor's checkout, the Gradescope autograder); None elsewhere."""
    name_marker = item.get_closest_marker("assignment")
    if name_marker is None or not name_marker.args:
        return None
    name = str(name_marker.args[0])
    if not (SOLUTIONS_DIR / f"{name}.py").is_file():
        return None
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    try:
        return importlib.import_module(f"solutions.{name}")
    except ImportError:
        return None


def diagnosis_of(item: pytest.Item) -> TestDiagnosis | None:
    """What a failed test's calls say about the likely mistakes, where the reference is
    available (None elsewhere, or where the test made no call).

    Hints name a suspected mistake and print no reference value (see :mod:`autograder.suite.hints`),
    so hidden tests show them before their expected values may be shown."""
    calls = item.stash.get(CALLS, [])
    reference = reference_module(item) if calls else None
    if reference is None:
        return None
    return gather(reference, calls)


_MODIFIED = re.compile(r"modified its input (\S+) in place(?: \((.*)\))?; functions must")


def failure_hints(error: BaseException | None, reference: Any | None = None) -> list[str]:
    """Hints a failed call's own verdict gives: a mistake the test named (:class:`MistakeFound`);
    an input changed in place, named with its usual causes and the way out; an error the
    reference raises too with one of its layers given a wrong option or array (where the
    reference is available)."""
    if isinstance(error, MistakeFound):  # the test itself named the mistake
        return [error.hint]
    if not isinstance(error, StudentError):
        return []
    if error.kind == "exception" and reference is not None and error.arguments is not None:
        first = str(error).splitlines()[0] if str(error) else ""
        prefix = error.function + " raised "
        if error.function and first.startswith(prefix):
            return diagnose_error(reference, error.function, error.arguments, first[len(prefix) :])
    if error.kind != "modified_input":
        return []
    found = _MODIFIED.search(str(error))
    if found is None:
        return []
    name, change = found.group(1), found.group(2)
    if change:  # a dict or a list: items added, removed or replaced
        kind = "list" if change.startswith(("its length", "the items")) else "dict"
        return [
            f"your {error.function or 'function'} changes its argument {name} in place "
            f"({change}): the caller's {kind} must stay as it was; build a new {kind} "
            f"(copy first, {name} = {kind}({name}), then change the copy) and return it"
        ]
    return [
        "your "
        + (error.function or "function")
        + " changes its argument "
        + name
        + " in place (an assignment into it such as "
        + name
        + "[mask] = 0, an augmented one such as "
        + name
        + " += ..., or out="
        + name
        + "): the caller's array must stay as it was; compute a new array, or copy first ("
        + name
        + " = "
        + name
        + ".copy())"
    ]


def hint_text(hints: list[str]) -> str:
    """``\nhint: ...`` lines, one per hint."""
    return "".join(f"\nhint: {hint}" for hint in hints)


@dataclass
class FailureFeedback:
    """A failed test's messages and its diagnosis, whose hints are named once the grading
    knows which mistakes its other tests refute (:func:`name_hints`)."""

    full: str
    redacted: str
    """The message a student sees ("" where it is the full one)."""
    diagnosis: TestDiagnosis
    verdict_hints: list[str] = field(default_factory=list)
    """Hints of the failed call's own verdict (:func:`failure_hints`)."""

    def apply(
        self, result: TestResult, refuted: dict[str, dict[str, set[PathKey]]] | None = None
    ) -> None:
        hints = hint_text(self.verdict_hints + self.diagnosis.hints(refuted))
        if self.redacted:
            result.output, result.instructor_output = self.redacted + hints, self.full + hints
        else:
            result.output = self.full + hints


def name_hints(results: dict[str, TestResult], pending: dict[str, FailureFeedback]) -> None:
    """Name each failed test's hints without the mistakes the grading's other tests refuted on
    every path they fit (see :class:`~autograder.suite.hints.TestDiagnosis`): a mistake that a
    call on the same path got right where it would have shown is not the student's, though it
    explains one test's calls by the coincidence of their inputs."""
    refuted: dict[str, dict[str, set[PathKey]]] = {}
    for feedback in pending.values():
        for function, hints in feedback.diagnosis.refuted().items():
            for hint, paths in hints.items():
                refuted.setdefault(function, {}).setdefault(hint, set()).update(paths)
    for name, feedback in pending.items():
        if name in results:
            feedback.apply(results[name], refuted)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def same_failure(output: str, other: str) -> bool:
    """Whether two failure messages say the same but for their numbers (a device case gets its
    own random inputs, so its errors and indices differ from the NumPy case's)."""
    return bool(output) and _NUMBER.sub("#", output) == _NUMBER.sub("#", other)


def shown_once(device_output: str, numpy_case: str) -> str:
    """A device case's message where its NumPy case failed the same way: its own first line,
    and where the rest (the details, the hints) is."""
    first = device_output.splitlines()[0] if device_output else ""
    return f"{first}\n(the same failure as on NumPy: the full message is in {numpy_case})"


def share_device_failures(results: dict[str, TestResult], numpy_cases: dict[str, str]) -> None:
    """Show a failure once: a device case (``numpy_cases``: its NumPy case's name) that fails
    as its NumPy case does gets a one-line message pointing there."""
    for name, numpy_case in numpy_cases.items():
        device, host = results.get(name), results.get(numpy_case)
        if device is None or host is None or device.passed or host.passed:
            continue
        if device.grading_error or not same_failure(device.full_output, host.full_output):
            continue
        device.output = shown_once(device.output, numpy_case)
        device.instructor_output = ""
