"""The results file a session writes (``--results``): Gradescope's format, per-backend
subtotals, the isolation student code had, grading errors kept apart from scores, and the
leaderboard's quantities the tests recorded (``leaderboard``, only where there are some)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from autograder.core.backends import BACKENDS, LABELS
from autograder.core.gradescope import write_results
from autograder.core.results import SUMMARY_SCOPES, TestResult
from autograder.suite.feedback import name_hints, share_device_failures
from autograder.suite.session import round_points, session_of
from autograder.suite.submissions import PORTABLE_ISOLATION, portable_reason
from autograder.suite.summary import summary_lines


def graded_results(config: pytest.Config) -> list[TestResult]:
    """Results of the graded tests that ran in this session, in the order they ran."""
    return list(session_of(config).results.values())


def finish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    isolation = []
    problems: list[str] = []
    for loaded in session_of(config).submissions.values():
        if loaded.environment_error:
            problems.append(loaded.environment_error)
        if loaded.sandbox is not None:
            try:
                loaded.sandbox.close()  # every child is dead before any result is written
            except Exception as error:  # the results get written anyway
                problems.append(f"closing the sandbox failed: {type(error).__name__}: {error}")
            isolation.append(loaded.sandbox.isolation)
            if loaded.sandbox.environment_error:
                problems.append(loaded.sandbox.environment_error)
    path = config.getoption("results")
    if not path:
        return
    name_hints(session_of(config).results, session_of(config).feedback)
    share_device_failures(session_of(config).results, session_of(config).numpy_cases)
    results = graded_results(config)
    problems += [r.grading_error for r in results if r.grading_error]
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        how = (
            f"stopped by {session_of(config).stopped_by[0]}"
            if session_of(config).stopped_by
            else "interrupted"
        )
        problems.insert(0, f"grading was {how} after {len(results)} graded tests")
    portable = portable_reason(config)
    if portable is not None:
        isolation.append(f"{PORTABLE_ISOLATION} ({portable})")
    payload: dict[str, Any] = {
        "isolation": next((i for i in isolation if i != "full"), "full" if isolation else ""),
        "score": round_points(sum(r.score for r in results)),
        "max_score": round_points(sum(r.max_score for r in results)),
        "execution_time": time.perf_counter() - session_of(config).started,
        "tests": [r.to_gradescope() for r in results],
        "backends": backend_summary(config),
        "summary": function_summaries(config),
    }
    board = session_of(config).leaderboard
    if board:
        payload["leaderboard"] = [entry.to_gradescope() for entry in board.values()]
    problems = list(dict.fromkeys(problems))
    if problems:
        payload["grading_error"] = problems[0] + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        )
    write_results(payload, Path(path))


def function_summaries(config: pytest.Config) -> dict[str, list[str]]:
    """Per scope of :data:`~autograder.core.results.SUMMARY_SCOPES` whose tests ran here: the
    lines per student function (``visible`` and ``all`` always)."""
    present = {result.visibility for result in graded_results(config)}
    summary = session_of(config).summary
    return {
        scope: summary_lines(summary, visibilities)
        for scope, visibilities in SUMMARY_SCOPES.items()
        if scope in ("visible", "all") or scope in present
    }


def backend_summary(config: pytest.Config) -> dict[str, dict[str, Any]]:
    """Per backend: score, max_score and test counts of its cases, or why they did not run."""
    summary: dict[str, dict[str, Any]] = {}
    backends = session_of(config).result_backends
    for result in graded_results(config):
        backend = backends.get(result.name, "numpy")  # a test without cases runs on NumPy
        entry = summary.setdefault(
            backend,
            {"label": LABELS[backend], "score": 0.0, "max_score": 0.0, "passed": 0, "tests": 0},
        )
        entry["score"] = round_points(entry["score"] + result.score)
        entry["max_score"] = round_points(entry["max_score"] + result.max_score)
        entry["tests"] += 1
        entry["passed"] += result.status == "passed"
    for backend, skipped in session_of(config).skipped.items():
        summary[backend] = {
            "label": LABELS[backend],
            "skipped": skipped.count,
            "reason": skipped.reason,
        }
    return {name: summary[name] for name in BACKENDS if name in summary}
