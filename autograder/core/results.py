"""The kit's results, one model from the pytest plugin to the gradebook.

:class:`TestResult` is one graded test's outcome (the plugin makes them; a report and a class's
row hold them); :class:`GradeReport` is one grading of a submission; :class:`GradescopeResults`
is Gradescope's ``results.json`` of a grading. Each reads and writes Gradescope's format in one
place: :meth:`TestResult.to_gradescope` and :meth:`GradescopeResults.to_gradescope` write it,
their ``from_gradescope`` read it back (see :mod:`autograder.core.gradescope` for its schema).
:class:`LeaderboardEntry` is one quantity of Gradescope's leaderboard (a grading's test accuracy,
its training time), which a grading and its ``results.json`` carry beside the tests.

A test's ``extra_data`` holds what Gradescope has no field for: ``grading_error`` (the
grader's environment failed this test, not the student) and ``instructor_output`` (the full
failure message of a test whose ``output`` leaves the expected values out). The instructors'
message stays in the suites' own results file and the instructors' feedback; what Gradescope
gets leaves it out.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.core.gradescope import write_results

GRADING_ERROR = "grading_error"
"""Key of a test's ``extra_data``: why the grader's environment failed it."""
SUMMARY_SCOPES: dict[str, tuple[str, ...]] = {
    "visible": ("visible",),
    "after_due_date": ("visible", "after_due_date"),
    "after_published": ("visible", "after_published"),
    "all": ("visible", "after_due_date", "after_published", "hidden"),
}
"""Per scope of a grading's summary lines (``GradeReport.summary``): the visibilities of the
tests it counts. ``visible``: what a student sees at once; ``after_due_date`` and
``after_published``: what they see once those tests are shown; ``all``: instructors."""
SCOPE_TITLES = {
    "visible": "Per function, in the tests shown now:",
    "after_due_date": "Per function, with the tests shown after the due date:",
    "after_published": "Per function, with the tests shown once grades are published:",
    "all": "Per function, in all tests:",
}
LATER_SCOPES = ("after_due_date", "after_published")
"""The scopes whose summary Gradescope gets as a test of 0 points (see
:meth:`GradeReport.later_summaries`)."""


def is_summary_entry(test: TestResult) -> bool:
    """Whether a Gradescope test entry is a later summary, not a graded test."""
    return test.max_score == 0 and test.name in {SCOPE_TITLES[s].rstrip(":") for s in LATER_SCOPES}


INSTRUCTOR_OUTPUT = "instructor_output"
"""Key of a test's ``extra_data`` holding its full failure message where its ``output`` leaves
the expected values out (a hidden test, before its assignment's ``reveal_expected``)."""


@dataclass
class TestResult:
    """One graded test's outcome, in Gradescope's vocabulary."""

    __test__ = False  # a result, not a test class for pytest to collect

    name: str
    score: float
    max_score: float
    status: str
    """``passed`` or ``failed``."""
    visibility: str = "visible"
    output: str = ""
    grading_error: str = ""
    """Why the grader's environment failed this test ("" when it did not): not the student's
    failure. In ``results.json`` as the test's ``extra_data.grading_error``."""
    instructor_output: str = ""
    """The full failure message where ``output`` leaves the expected values out ("" where it
    does not): for instructors only. In the suites' ``--results`` file as the test's
    ``extra_data.instructor_output``; Gradescope's ``results.json`` leaves it out."""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def full_output(self) -> str:
        """The full failure message for instructors: ``output`` unless that was redacted."""
        return self.instructor_output or self.output

    def to_gradescope(self, *, for_students: bool = False) -> dict[str, Any]:
        """The test's entry in a results file; ``for_students``: as Gradescope may get it,
        without ``extra_data.instructor_output`` (Gradescope keeps ``extra_data`` with the
        submission; only instructors need that message)."""
        entry: dict[str, Any] = {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "visibility": self.visibility,
            "output": self.output,
        }
        extra = {}
        if self.grading_error:
            extra[GRADING_ERROR] = self.grading_error
        if self.instructor_output and not for_students:
            extra[INSTRUCTOR_OUTPUT] = self.instructor_output
        if extra:
            entry["extra_data"] = extra
        return entry

    @classmethod
    def from_gradescope(cls, entry: Mapping[str, Any]) -> TestResult:
        """The result a results file's entry holds; raises on an entry that is not one."""
        extra = entry.get("extra_data")
        if not isinstance(extra, Mapping):  # none, or not ours
            extra = {}
        return cls(
            name=str(entry["name"]),
            score=float(entry["score"]),
            max_score=float(entry["max_score"]),
            status=str(entry["status"]),
            visibility=str(entry.get("visibility", "visible")),
            output=str(entry.get("output", "")),
            grading_error=str(extra.get(GRADING_ERROR, "") or ""),
            instructor_output=str(extra.get(INSTRUCTOR_OUTPUT, "") or ""),
        )


LEADERBOARD_ORDERS = ("desc", "asc")
"""How Gradescope ranks a leaderboard's quantity: ``desc``, higher first (an accuracy; the
default), or ``asc``, lower first (a time)."""
_LEADERBOARD_KEYS = frozenset({"name", "value", "order"})


@dataclass(frozen=True)
class LeaderboardEntry:
    """One quantity of a grading on Gradescope's leaderboard: its name, its value (a finite
    number, or a text such as ``"*****"``) and how it ranks (:data:`LEADERBOARD_ORDERS`).

    Made only by the grader's own code (a hidden test that trains the student's network and
    measures it), never read from what student code says. Raises ``TypeError`` or
    ``ValueError`` where a field is not one Gradescope reads; a number is kept as a ``float``.
    """

    name: str
    value: float | str
    order: str = "desc"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"a leaderboard entry's name must be a string, not {self.name!r}")
        if not self.name.strip():
            raise ValueError("a leaderboard entry's name must be a non-empty string")
        value = self.value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an int past a float's range
                value = math.inf
            if not math.isfinite(value):
                raise ValueError(
                    f"leaderboard entry {self.name!r}: the value must be finite, not {value!r}"
                )
            object.__setattr__(self, "value", value)
        elif not isinstance(value, str):
            raise TypeError(
                f"leaderboard entry {self.name!r}: the value must be a number or a string, "
                f"not {type(value).__name__} {value!r}"
            )
        if self.order not in LEADERBOARD_ORDERS:
            raise ValueError(
                f"leaderboard entry {self.name!r}: order must be 'desc' or 'asc', "
                f"not {self.order!r}"
            )

    @property
    def numeric(self) -> bool:
        """Whether the value is a number (not a text)."""
        return not isinstance(self.value, str)

    def to_gradescope(self) -> dict[str, Any]:
        """The entry of ``results.json``'s ``leaderboard`` (``order`` only where ``asc``)."""
        entry: dict[str, Any] = {"name": self.name, "value": self.value}
        if self.order != "desc":
            entry["order"] = self.order
        return entry

    @classmethod
    def from_gradescope(cls, payload: Any) -> LeaderboardEntry:
        """The entry a ``leaderboard`` item holds; raises ``TypeError`` or ``ValueError`` on
        anything that is not one (a key missing or unknown, a field of the wrong kind)."""
        if not isinstance(payload, Mapping):
            raise TypeError(f"a leaderboard entry must be an object, not {payload!r}")
        missing = [key for key in ("name", "value") if key not in payload]
        if missing:
            raise ValueError(f"a leaderboard entry has no {missing[0]!r}: {dict(payload)!r}")
        unknown = sorted(str(key) for key in payload if key not in _LEADERBOARD_KEYS)
        if unknown:
            raise ValueError(f"a leaderboard entry has unknown keys {unknown}")
        return cls(payload["name"], payload["value"], payload.get("order", "desc"))


def leaderboard_from_gradescope(entries: Any) -> list[LeaderboardEntry]:
    """The entries of a results file's ``leaderboard``; raises ``TypeError`` or ``ValueError``
    unless it is a list of entries, each quantity named once."""
    if type(entries) is not list:
        raise TypeError("'leaderboard' is not a list")
    board = [LeaderboardEntry.from_gradescope(entry) for entry in entries]
    names = [entry.name for entry in board]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise ValueError(f"'leaderboard' names {twice!r} more than once")
    return board


def tests_from_gradescope(entries: Any) -> list[TestResult]:
    """The results of a results file's ``tests``; raises unless it is a list of objects."""
    if type(entries) is not list or not all(type(entry) is dict for entry in entries):
        raise TypeError("'tests' is not a list of objects")
    return [TestResult.from_gradescope(entry) for entry in entries]


@dataclass
class GradescopeResults:
    """A ``results.json`` as Gradescope reads it: the score, the text shown above the tests,
    the tests, ``extra_data`` (kept with the submission, never shown) and the leaderboard's
    quantities (none: no ``leaderboard`` in the file)."""

    score: float
    output: str = ""
    tests: list[TestResult] = field(default_factory=list)
    execution_time: float | None = None
    """Seconds; left out of the file where None."""
    extra_data: dict[str, Any] = field(default_factory=dict)
    leaderboard: list[LeaderboardEntry] = field(default_factory=list)

    def to_gradescope(self) -> dict[str, Any]:
        """The payload, its tests as Gradescope may get them (no instructors' messages)."""
        payload: dict[str, Any] = {"score": self.score}
        if self.execution_time is not None:
            payload["execution_time"] = self.execution_time
        payload["output"] = self.output
        payload["tests"] = [test.to_gradescope(for_students=True) for test in self.tests]
        if self.leaderboard:
            payload["leaderboard"] = [entry.to_gradescope() for entry in self.leaderboard]
        if self.extra_data:
            payload["extra_data"] = dict(self.extra_data)
        return payload

    @classmethod
    def from_gradescope(cls, payload: Mapping[str, Any]) -> GradescopeResults:
        """The results a ``results.json`` payload holds; raises on anything malformed."""
        if not isinstance(payload, Mapping):
            raise TypeError("the results are not an object")
        time = payload.get("execution_time")
        extra = payload.get("extra_data", {})
        if not isinstance(extra, Mapping):
            raise TypeError("'extra_data' is not an object")
        return cls(
            score=float(payload["score"]),
            output=str(payload.get("output", "")),
            tests=tests_from_gradescope(payload.get("tests", [])),
            execution_time=None if time is None else float(time),
            extra_data=dict(extra),
            leaderboard=leaderboard_from_gradescope(payload.get("leaderboard", [])),
        )

    def write(self, path: Path) -> None:
        """Write the payload to ``path``, atomically."""
        write_results(self.to_gradescope(), path)


@dataclass
class GradeReport:
    """The outcome of grading one submission: its tests' results plus pytest's log."""

    assignment: str
    submission: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    execution_time: float = 0.0
    log: str = ""

    isolation: str = ""
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per backend (``numpy``, ``strict``, ``cupy``): its cases' score, or why they did not run."""
    grading_error: str = ""
    """Why this grading cannot be trusted although the submission is not to blame ("" when it
    can): the grader's environment failed (no usable /dev/null, no scratch space, no process
    left, no student account), the grading was stopped, or it wrote no readable results. The
    tests it hit carry ``extra_data.grading_error``; ``grade-all`` grades it again."""
    summary: dict[str, list[str]] = field(default_factory=dict)
    """Per scope of :data:`SUMMARY_SCOPES`: one line per student function, what its calls in
    those tests showed (``conv_backward: dx right in 12 of 12 cases; ...``)."""
    leaderboard: list[LeaderboardEntry] = field(default_factory=list)
    """The quantities the grading's tests recorded for Gradescope's leaderboard (the suites'
    ``leaderboard`` fixture), in the order first recorded."""

    @classmethod
    def failed(cls, assignment: str, submission: str, problem: str, log: str = "") -> GradeReport:
        """The report of a grading that gave no results: score 0, and ``problem`` as its
        grading error."""
        return cls(assignment, submission, 0.0, 0.0, log=log, grading_error=problem)

    @property
    def tests_passed(self) -> int:
        """How many tests passed."""
        return sum(test.passed for test in self.tests)

    def backend_lines(self) -> list[str]:
        """One line per backend: correctness on NumPy apart from device discipline."""
        lines = []
        for name, entry in self.backends.items():
            if "skipped" in entry:
                lines.append(f"{name}: not run here ({entry.get('reason', '')})")
            else:
                lines.append(
                    f"{entry.get('label', name)}: {entry['score']:g} / {entry['max_score']:g} "
                    f"({entry['passed']}/{entry['tests']} cases passed)"
                )
        return lines

    def gradescope(self) -> GradescopeResults:
        """The ``results.json`` Gradescope reads of this grading."""
        output = f"{self.assignment}: {self.score:g} / {self.max_score:g} points"
        output += "".join(f"\n  {line}" for line in self.backend_lines())
        if self.grading_error:
            output += (
                f"\ngrading error (not caused by your submission; it must be graded again): "
                f"{self.grading_error}"
            )
        elif not self.tests:
            output += "\ngrading did not complete; see the log of the grader"
        if self.isolation and self.isolation != "full":
            output += f"\nisolation of student code: {self.isolation}"
        output += "".join(f"\n{line}" for line in self.summary_block("visible"))
        extra = {GRADING_ERROR: self.grading_error} if self.grading_error else {}
        return GradescopeResults(
            self.score,
            output,
            [*self.later_summaries(), *self.tests],
            round(self.execution_time, 3),
            extra,
            list(self.leaderboard),
        )

    def summary_block(self, scope: str) -> list[str]:
        """The summary lines of ``scope`` under their title (none where there are none)."""
        lines = self.summary.get(scope, [])
        return [SCOPE_TITLES[scope], *(f"  {line}" for line in lines)] if lines else []

    def later_summaries(self) -> list[TestResult]:
        """The summaries a student sees later, as Gradescope shows them: a test of 0 points
        with the visibility of the tests they add (Gradescope's text above the tests is shown
        at once)."""
        entries = []
        for scope in LATER_SCOPES:
            lines = self.summary.get(scope, [])
            if lines and lines != self.summary.get("visible", []):
                text = "\n".join(self.summary_block(scope))
                entries.append(
                    TestResult(SCOPE_TITLES[scope].rstrip(":"), 0.0, 0.0, "passed", scope, text)
                )
        return entries

    def to_gradescope(self) -> dict[str, Any]:
        """The ``results.json`` payload Gradescope reads (without the instructors' full
        messages of redacted tests)."""
        return self.gradescope().to_gradescope()
