"""The plugin's state for one pytest session, in one object registered in the config's stash.

:func:`session_of` gives it (made on first use). Each graded test's recorded calls of student
functions are the test item's own (``item.stash[CALLS]``), dropped when the test ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from autograder.core.results import LeaderboardEntry, TestResult
from autograder.suite.summary import FunctionSummary

if TYPE_CHECKING:
    from autograder.suite.feedback import FailureFeedback
    from autograder.suite.submissions import LoadedSubmission


@dataclass
class SkippedBackend:
    """The cases of one backend that did not run here, and why."""

    reason: str
    count: int = 0


def round_points(value: float) -> float:
    """Points rounded to 6 decimals: shares of points add up without float dust."""
    return round(value, 6) + 0.0


@dataclass
class GradingSession:
    """Everything the plugin keeps between hooks in one session."""

    results: dict[str, TestResult] = field(default_factory=dict)
    """Graded tests' outcomes by name, in the order they ran."""
    submissions: dict[str, LoadedSubmission] = field(default_factory=dict)
    """Per assignment: the submission's files and the sandbox its functions run in."""
    skipped: dict[str, SkippedBackend] = field(default_factory=dict)
    """Per backend whose cases do not run here: why, and how many."""
    result_backends: dict[str, str] = field(default_factory=dict)
    """Per graded test: the backend of its case."""
    numpy_cases: dict[str, str] = field(default_factory=dict)
    """Per device case of a test (its result's name): the name of the test's NumPy case."""
    feedback: dict[str, FailureFeedback] = field(default_factory=dict)
    """Per failed test with a diagnosis: its messages and diagnosis, for naming its hints."""
    summary: FunctionSummary = field(default_factory=FunctionSummary)
    """What each test's calls showed, per student function (the lines above the tests)."""
    leaderboard: dict[str, LeaderboardEntry] = field(default_factory=dict)
    """Gradescope's leaderboard quantities the tests recorded, by name, in the order first
    recorded (the ``leaderboard`` fixture's :class:`LeaderboardRecorder`)."""
    started: float = field(default_factory=time.perf_counter)
    """When the session started (``time.perf_counter``): the results' execution time."""
    clock: float = field(default_factory=time.monotonic)
    """When the session started (``time.monotonic``): the grading budget counts from it."""
    stopped_by: list[str] = field(default_factory=list)
    """The signal that cut the session short, if one did."""
    sigterm_before: list[Any] = field(default_factory=list)
    """The SIGTERM handler to restore when the session ends (while ``--results`` is given)."""


class LeaderboardRecorder:
    """What the ``leaderboard`` fixture gives a test: :meth:`record` notes one quantity of
    Gradescope's leaderboard in the session's state."""

    def __init__(self, entries: dict[str, LeaderboardEntry]) -> None:
        self._entries = entries

    def record(self, name: str, value: float | str, order: str = "desc") -> None:
        """Record ``value`` as the leaderboard's ``name`` (``order``: ``desc``, higher ranks
        higher; ``asc``, lower ranks higher). A later record of the same name replaces it in
        place. Raises ``TypeError`` or ``ValueError`` (the test fails) on a name, value or
        order Gradescope would not read; see :class:`~autograder.core.results.LeaderboardEntry`.
        """
        entry = LeaderboardEntry(name, value, order)
        self._entries[entry.name] = entry

    def __repr__(self) -> str:
        return f"LeaderboardRecorder({list(self._entries.values())!r})"


_SESSION = pytest.StashKey[GradingSession]()
CALLS = pytest.StashKey["list[Call]"]()
"""A graded test item's recorded calls of student functions (for its hints)."""


def session_of(config: pytest.Config) -> GradingSession:
    """The session's state (made on first use)."""
    if _SESSION not in config.stash:
        config.stash[_SESSION] = GradingSession()
    return config.stash[_SESSION]


def start_session(config: pytest.Config) -> GradingSession:
    """A fresh state for a new session, keeping the submissions already started."""
    previous = config.stash.get(_SESSION, None)
    config.stash[_SESSION] = GradingSession()
    if previous is not None:
        config.stash[_SESSION].submissions = previous.submissions
    return config.stash[_SESSION]
