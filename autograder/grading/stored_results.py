"""What grading a class leaves of one submission under ``<out>/students/<key>/``, and reading
it back.

``results.json``
    Gradescope's results file of that submission (valid against ``RESULTS_SCHEMA``), with
    ``extra_data`` holding what resuming and the gradebook need: ``status``, ``message``,
    ``max_score``, the students, ``submission_digest`` and ``grader_digest``; and, where the
    grading recorded some, its ``leaderboard`` (read back for ``leaderboard.csv``). Written
    atomically, last: its presence means done.
``feedback.txt``
    The readable table of tests with full failure messages, as a student would be shown it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autograder.core.assignments import Assignment
from autograder.core.results import GradeReport, GradescopeResults, is_summary_entry
from autograder.grading.class_results import STATUSES, StudentResult
from autograder.grading.classroom import ClassSubmission, Student
from autograder.grading.report import test_table


def student_dir(out: Path, submission: ClassSubmission) -> Path:
    """Where the results of ``submission`` live."""
    return out / "students" / submission.key


def load_result(out: Path, submission: ClassSubmission) -> tuple[StudentResult, dict[str, Any]]:
    """The stored result of ``submission`` and its ``extra_data``.

    Raises:
        OSError, ValueError, KeyError: nothing usable is stored.
    """
    payload = json.loads((student_dir(out, submission) / "results.json").read_text("utf-8"))
    stored = GradescopeResults.from_gradescope(payload)
    extra = stored.extra_data
    if extra.get("status") not in STATUSES:
        raise ValueError("unknown status")
    result = StudentResult(
        submission=submission,
        status=extra["status"],
        score=stored.score,
        max_score=float(extra["max_score"]),
        tests=[test for test in stored.tests if not is_summary_entry(test)],
        message=str(extra.get("message", "")),
        isolation=str(extra.get("isolation", "")),
        execution_time=stored.execution_time or 0.0,
        summary=_stored_summary(extra.get("summary", {})),
        leaderboard=stored.leaderboard if extra["status"] == "graded" else [],
    )
    return result, extra


def _stored_summary(value: Any) -> dict[str, list[str]]:
    """The summary lines stored in ``extra_data`` (none where they are not lists of text)."""
    if not isinstance(value, dict):
        return {}
    return {
        str(scope): [str(line) for line in lines]
        for scope, lines in value.items()
        if isinstance(lines, list)
    }


def stored_result(
    out: Path, submission: ClassSubmission, digest: str, grader: str
) -> StudentResult | None:
    """The stored result, if it is final and was made from these very files (``digest``) and
    suites (``grader``)."""
    try:
        result, extra = load_result(out, submission)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.status == "error":
        return None
    if extra.get("submission_digest") != digest or extra.get("grader_digest") != grader:
        return None
    return result


def write_result(
    out: Path,
    assignment: Assignment,
    result: StudentResult,
    digest: str,
    grader: str,
    log: str = "",
) -> None:
    """``feedback.txt`` then, atomically and last, ``results.json``."""
    folder = student_dir(out, result.submission)
    folder.mkdir(parents=True, exist_ok=True)
    report = GradeReport(
        assignment=assignment.name,
        submission=result.submission.label,
        score=result.score,
        max_score=result.max_score,
        tests=result.tests,
        execution_time=result.execution_time,
        isolation=result.isolation,
        summary=result.summary,
        leaderboard=result.leaderboard,
    )
    results = report.gradescope()
    if result.status != "graded":
        results.output = f"{assignment.name}: 0 points\n{result.message}"
    results.extra_data = {
        "status": result.status,
        "message": result.message,
        "max_score": result.max_score,
        "isolation": result.isolation,
        "key": result.submission.key,
        "label": result.submission.label,
        "students": [asdict(s) for s in result.submission.students],
        "submitted_at": result.submission.submitted_at,
        "submission_digest": digest,
        "grader_digest": grader,
        "summary": result.summary,
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_text_atomic(folder / "feedback.txt", feedback_text(result, report, log))
    results.write(folder / "results.json")


def feedback_text(result: StudentResult, report: GradeReport, log: str = "") -> str:
    """The readable feedback of one submission: who, status, and every test in full."""
    names = _students_line(result.submission.students)
    lines = [f"{names}  [{result.status}]" if names else f"[{result.status}]"]
    if result.message:
        lines.append(result.message)
    if result.status == "graded":
        lines.append(test_table(report, full_messages=True))
    elif result.status == "error" and log:
        lines += ["", "last lines of the grader's output:", log[-4000:]]
    else:
        lines.append("score: 0")
    return "\n".join(lines) + "\n"


def _students_line(students: Iterable[Student]) -> str:
    parts = []
    for s in students:
        detail = ", ".join(x for x in (s.sid, s.email) if x)
        parts.append(f"{s.name} ({detail})" if s.name and detail else s.name or detail)
    return "; ".join(p for p in parts if p)


def _write_text_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
