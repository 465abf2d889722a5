"""Grade one submission of one assignment by running its suites in a separate pytest process;
the ``grade`` and ``check`` commands (:func:`run_grade`, :func:`run_check`)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from autograder.core.assignments import Assignment, UnknownAssignmentError, load_assignment
from autograder.core.results import GradeReport, leaderboard_from_gradescope, tests_from_gradescope
from autograder.grading.report import test_table

SUITES = ("public", "hidden")
TIMEOUT_MARGIN = 120.0
"""Seconds ``grade`` waits past the assignment's grading budget before it stops pytest (the
budget bounds student code; this bounds everything else)."""
STOP_GRACE = 20.0
"""After SIGTERM: how long pytest may take to close its sandboxes and write its results."""


def suite_command(
    suite_dirs: list[str], submission: Path, options: tuple[str, ...] = ()
) -> list[str]:
    """The pytest command line that runs ``suite_dirs`` against ``submission`` quietly, with
    no cache, no inherited ``addopts`` and no tracebacks (messages come from the plugin)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        *suite_dirs,
        f"--submission={submission}",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--no-header",
        "--tb=no",
        *options,
    ]


def grade(
    assignment: Assignment,
    submission: Path,
    suites: tuple[str, ...] = SUITES,
    timeout: float | None = None,
    test_paths: list[Path] | None = None,
    extra_options: tuple[str, ...] = (),
) -> GradeReport:
    """Run the assignment's ``suites`` against ``submission`` and collect the per-test results.

    The suites run in a child pytest process (which itself runs the student's functions in a
    sandbox), so nothing the submission does can disturb the caller. The plugin bounds student
    code by the assignment's grading budget; ``timeout`` (default: that budget plus
    ``TIMEOUT_MARGIN``) bounds the whole run: past it pytest gets SIGTERM, writes the results of
    the tests that ran, and the report is a grading error. A run whose results are missing or
    unreadable (it crashed, or was killed) yields a report with score 0, a ``grading_error``
    and pytest's output in ``log``; never an exception. ``test_paths`` replaces the
    assignment's suite folders (a student's copy of the public tests, for example).
    """
    if timeout is None:
        timeout = assignment.grading_budget_s + TIMEOUT_MARGIN
    paths = test_paths or [assignment.folder / suite for suite in suites]
    suite_dirs = [str(path) for path in paths]
    try:
        folder = tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True)
    except OSError as error:  # a full or read-only disk: the grader's environment
        problem = f"the grader's scratch folder could not be made: {error}"
        return GradeReport.failed(assignment.name, str(submission), problem)
    with folder as scratch:
        results_path = Path(scratch) / "results.json"
        command = suite_command(
            suite_dirs, submission, (f"--results={results_path}", *extra_options)
        )
        log, stopped, _ = run_pytest(command, scratch, timeout)
        try:
            text = results_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            tail = log.strip().splitlines()[-1:] or ["no output"]
            problem = stopped or f"grading produced no results ({tail[0][:300]})"
            return GradeReport.failed(assignment.name, str(submission), problem, log)
        except (OSError, UnicodeDecodeError) as error:
            problem = f"the results file could not be read: {error}"
            return GradeReport.failed(assignment.name, str(submission), problem, log)
    try:
        report = _report_from(assignment, submission, json.loads(text), log)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # truncated, not ours
        problem = f"the results file is unreadable ({type(error).__name__}: {error})"
        return GradeReport.failed(assignment.name, str(submission), problem, log)
    if stopped:
        report.grading_error = stopped + (
            f"; {report.grading_error}" if report.grading_error else ""
        )
    return report


def run_pytest(
    command: list[str], cwd: str | Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, str, int]:
    """Run pytest (stdin from the null device); its output, why it was stopped ("" when it
    ended by itself) and its exit status. Past ``timeout`` it gets SIGTERM (the plugin then
    writes the results it has) and, after ``STOP_GRACE`` seconds more, SIGKILL."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
    except OSError as error:  # no process left to start, ...: the grader's environment
        problem = f"pytest could not be started: {error}"
        return problem, problem, 0
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return stdout + stderr, "", process.returncode
    except subprocess.TimeoutExpired:
        process.terminate()
    stopped = f"grading did not finish within {timeout:g} s and was stopped"
    try:
        stdout, stderr = process.communicate(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return f"{stopped}\n{stdout}{stderr}", stopped, process.returncode


def _report_from(
    assignment: Assignment, submission: Path, payload: dict[str, Any], log: str
) -> GradeReport:
    """The report of a results file the plugin wrote; raises on anything malformed."""
    tests = tests_from_gradescope(payload["tests"])
    score, max_score = float(payload["score"]), float(payload["max_score"])
    if not (math.isfinite(score) and math.isfinite(max_score)):
        raise ValueError("the score is not a finite number")
    return GradeReport(
        assignment=assignment.name,
        submission=str(submission),
        score=score,
        max_score=max_score,
        tests=tests,
        execution_time=float(payload.get("execution_time", 0.0)),
        log=log,
        isolation=str(payload.get("isolation", "")),
        backends=dict(payload.get("backends", {})),
        grading_error=str(payload.get("grading_error", "") or ""),
        summary=_summary_from(payload.get("summary", {})),
        leaderboard=leaderboard_from_gradescope(payload.get("leaderboard", [])),
    )


def _summary_from(value: Any) -> dict[str, list[str]]:
    """The results file's summary lines per scope; raises on anything else."""
    if type(value) is not dict or not all(type(lines) is list for lines in value.values()):
        raise TypeError("'summary' is not an object of lists")
    return {str(scope): [str(line) for line in lines] for scope, lines in value.items()}


def run_grade(name: str, submission: Path, results: Path) -> int:
    """The ``grade`` command: grade ``submission`` on every suite, print its table and write
    Gradescope's ``results`` file.

    Returns 0 whatever the score, 1 for a grading error (the results say so: grade again), 2
    for an unknown assignment or a missing submission.
    """
    try:
        assignment = load_assignment(name)
    except UnknownAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    if not submission.exists():
        print(f"autograder: submission not found: {submission}", file=sys.stderr)
        return 2
    report = grade(assignment, submission.resolve())
    _print_table(report, full_messages=False)
    report.gradescope().write(results)
    print(f"results written to {results}")
    if report.grading_error:  # the grader's failure: the results say so; grade again
        print(f"autograder: grading error: {report.grading_error}", file=sys.stderr)
        return 1
    return 0


def run_check(name: str, path: Path) -> int:
    """The ``check`` command: the public suite only, through the same sandbox and with the
    same feedback, in full. An assignment this kit does not know is checked with the public
    tests shipped beside the student's files (``tests/test_<name>_public.py``).

    Returns 0 whatever the score, 1 for a grading error, 2 when there is nothing to check.
    """
    path = path.resolve()
    folder = path.parent if path.is_file() else path
    if not path.exists():
        print(f"autograder: not found: {path}", file=sys.stderr)
        return 2
    try:
        assignment = load_assignment(name)
        test_paths = [assignment.public_dir]
    except UnknownAssignmentError:
        shipped = folder / "tests" / f"test_{name}_public.py"
        if not shipped.is_file():
            print(f"autograder: no public tests for {name!r}: expected {shipped}", file=sys.stderr)
            return 2
        assignment = Assignment(name=name, title=name, files=(f"{name}.py",), folder=folder)
        test_paths = [shipped]
    report = grade(assignment, path, test_paths=test_paths)
    _print_table(report, full_messages=True)
    if report.grading_error:
        print(f"autograder: grading error (not your code's fault): {report.grading_error}")
        return 1
    return 0


def _print_table(report: GradeReport, full_messages: bool) -> None:
    """The report's table; pytest's last output too (on stderr) where no test ran."""
    print(test_table(report, full_messages=full_messages))
    if not report.tests:
        print(report.log[-4000:], file=sys.stderr)
