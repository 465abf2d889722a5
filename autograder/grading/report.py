"""Readable terminal tables of grading results."""

from __future__ import annotations

from collections.abc import Iterable

from autograder.core.results import GradeReport
from autograder.suite.submissions import PORTABLE_ISOLATION, PORTABLE_NOTICE


def test_table(report: GradeReport, width: int = 100, full_messages: bool = False) -> str:
    """The summary per student function (of all tests), then one line per test: status,
    points and, for failures, the message.

    The message is clipped to its first line unless ``full_messages`` (hints included). With
    ``full_messages``, a hidden test whose output leaves the expected values out (until its
    assignment's ``reveal_expected``) also shows, marked for instructors, its full message.
    """
    lines = [f"{report.assignment}  ({report.submission})"]
    lines += [f"  {line}" for line in report.summary_block("all")]
    for test in report.tests:
        mark = "PASS" if test.passed else "FAIL"
        points = f"{test.score:g}/{test.max_score:g}"
        lines.append(f"  {mark}  {points:>7}  {test.name}")
        if not test.passed and test.output:
            if full_messages:
                lines += ["                 " + line for line in test.output.splitlines()]
                full = test.full_output
                if full != test.output:
                    lines.append("                 instructors only, with the expected values:")
                    lines += ["                   " + line for line in full.splitlines()]
            else:
                message = test.output.splitlines()[0]
                lines.append("                 " + _clip(message, width - 17))
    lines += [f"  {line}" for line in report.backend_lines()]
    if report.isolation.startswith(PORTABLE_ISOLATION):
        lines.append(f"  {PORTABLE_NOTICE}")
    lines.append(f"  score: {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def summary_table(rows: Iterable[tuple[str, GradeReport]]) -> str:
    """One line per (label, report): assignment, submission label, score and passed tests."""
    rows = list(rows)
    width = max([len("assignment"), *(len(report.assignment) for _, report in rows)]) + 2
    header = f"{'assignment':<{width}}{'submission':<28}{'score':>16}{'tests passed':>16}"
    lines = [header, "-" * len(header)]
    for label, report in rows:
        score = f"{report.score:g} / {report.max_score:g}"
        tests = f"{report.tests_passed} / {len(report.tests)}"
        lines.append(f"{report.assignment:<{width}}{label:<28}{score:>16}{tests:>16}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
