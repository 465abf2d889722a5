"""What grading a class gives: one row per submission, and what a run did.

Shared by :mod:`~autograder.grading.grade_all` (which makes them) and
:mod:`~autograder.grading.gradebook` (which writes them out), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.core.results import TestResult
from autograder.grading.classroom import ClassSubmission


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
