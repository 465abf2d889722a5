"""What grading a class gives: one row per submission, and what a run did.

Shared by :mod:`~autograder.grading.grade_all` (which makes them) and
:mod:`~autograder.grading.gradebook` (which writes them out), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.core.results import GradeReport, LeaderboardEntry, TestResult
from autograder.grading.classroom import ClassSubmission

STATUSES = ("graded", "unreadable", "error")
"""``graded``: grading completed. ``unreadable``: nothing could be graded (score 0).
``error``: a grading error, the grader's failure and not the student's (score 0 until it is
graded again: once more in the same run, then on every later run)."""
GRADING_ERROR = "grading error (the grader's failure, not the student's; retried next run)"
UNTRUSTED = (
    "grading error (partial isolation: this grading cannot be trusted, so it has no score; "
    "graded again next run)"
)


@dataclass
class StudentResult:
    """The outcome for one submission, graded in this run or read back from a previous one."""

    submission: ClassSubmission
    status: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    message: str = ""
    isolation: str = ""
    execution_time: float = 0.0
    fresh: bool = False  # graded (or recorded) by this run
    summary: dict[str, list[str]] = field(default_factory=dict)
    """The grading's lines per student function, per scope (see ``GradeReport.summary``)."""
    leaderboard: list[LeaderboardEntry] = field(default_factory=list)
    """A graded submission's leaderboard quantities (see ``GradeReport.leaderboard``); none
    for a submission not graded."""

    @classmethod
    def from_report(cls, submission: ClassSubmission, report: GradeReport) -> StudentResult:
        """A grading's row: graded, or a grading error where the report is one or has no
        tests."""
        if report.grading_error:
            return cls.failed(
                submission, report, f"{GRADING_ERROR}: {clip(report.grading_error, 1000)}"
            )
        if not report.tests:
            tail = report.log.strip().splitlines()[-1:] or ["no output"]
            reason = f"grading produced no results: {tail[0][:300]}"
            return cls.failed(submission, report, f"{GRADING_ERROR}: {clip(reason, 1000)}")
        return cls(
            submission,
            "graded",
            report.score,
            report.max_score,
            tests=report.tests,
            isolation=report.isolation,
            execution_time=report.execution_time,
            fresh=True,
            summary=report.summary,
            leaderboard=list(report.leaderboard),
        )

    @classmethod
    def untrusted(
        cls, submission: ClassSubmission, report: GradeReport, reasons: list[str]
    ) -> StudentResult:
        """A grading whose result cannot be trusted (partial isolation, for ``reasons``): a
        grading error, never a score."""
        return cls.failed(submission, report, f"{UNTRUSTED}: {clip('; '.join(reasons), 2000)}")

    @classmethod
    def failed(
        cls, submission: ClassSubmission, report: GradeReport, message: str
    ) -> StudentResult:
        """A grading error's row: score 0, and ``message``."""
        return cls(
            submission,
            "error",
            0.0,
            0.0,
            message=message,
            isolation=report.isolation,
            execution_time=report.execution_time,
            fresh=True,
        )

    @property
    def reason(self) -> str:
        """A grading error's reason: its message without the prefix that says what it is."""
        return self.message.removeprefix(GRADING_ERROR + ": ").removeprefix(UNTRUSTED + ": ")


@dataclass
class RunSummary:
    """What ``grade_class`` did: every submission's result, in discovery order, and counts."""

    results: list[StudentResult]
    graded: int = 0  # submissions graded by this run (the grader ran)
    up_to_date: int = 0  # stored results reused
    unreadable: int = 0  # recorded by this run as unreadable
    errors: int = 0  # submissions whose grading failed (grading errors), after the retry
    retried: int = 0  # grading errors graded once more in this run
    wall_time: float = 0.0
    interrupted: bool = False
    stopped: str = ""  # why grading stopped early: what changed outside a pristine copy


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked ``[...]`` where it was cut."""
    return text if len(text) <= limit else text[: limit - 5] + " [...]"
