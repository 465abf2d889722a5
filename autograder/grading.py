"""Grade one submission of one assignment by running its suites in a separate pytest process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.assignments import Assignment

SUITES = ("public", "hidden")


@dataclass
class GradeReport:
    """The outcome of grading one submission: Gradescope-shaped results plus pytest's log."""

    assignment: str
    submission: str
    score: float
    max_score: float
    tests: list[dict[str, Any]] = field(default_factory=list)
    execution_time: float = 0.0
    log: str = ""

    isolation: str = ""
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per backend (``numpy``, ``strict``, ``cupy``): its cases' score, or why they did not run."""

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

    def to_gradescope(self) -> dict[str, Any]:
        """The ``results.json`` payload Gradescope reads."""
        output = f"{self.assignment}: {self.score:g} / {self.max_score:g} points"
        output += "".join(f"\n  {line}" for line in self.backend_lines())
        if not self.tests:
            output += "\ngrading did not complete; see the log of the grader"
        if self.isolation and self.isolation != "full":
            output += f"\nisolation of student code: {self.isolation}"
        return {
            "score": self.score,
            "execution_time": round(self.execution_time, 3),
            "output": output,
            "tests": self.tests,
        }


def grade(
    assignment: Assignment,
    submission: Path,
    suites: tuple[str, ...] = SUITES,
    timeout: float = 600.0,
    test_paths: list[Path] | None = None,
    extra_options: tuple[str, ...] = (),
) -> GradeReport:
    """Run the assignment's ``suites`` against ``submission`` and collect the per-test results.

    The suites run in a child pytest process (which itself runs the student's functions in a
    sandbox), so nothing the submission does can disturb the caller. A run that produces no
    results (it crashed, or timed out) yields a report with score 0 and pytest's output in
    ``log``. ``test_paths`` replaces the assignment's suite folders (a student's copy of the
    public tests, for example).
    """
    paths = test_paths or [assignment.folder / suite for suite in suites]
    suite_dirs = [str(path) for path in paths]
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        results_path = Path(scratch) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *suite_dirs,
            f"--submission={submission}",
            f"--results={results_path}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--no-header",
            "--tb=no",
            *extra_options,
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, cwd=scratch
            )
            log = completed.stdout + completed.stderr
        except subprocess.TimeoutExpired as expired:
            log = f"grading timed out after {timeout:g} s\n{expired.stdout or ''}"
        if not results_path.is_file():
            return GradeReport(assignment.name, str(submission), 0.0, 0.0, log=log)
        payload = json.loads(results_path.read_text(encoding="utf-8"))
    return GradeReport(
        assignment=assignment.name,
        submission=str(submission),
        score=float(payload["score"]),
        max_score=float(payload["max_score"]),
        tests=payload["tests"],
        execution_time=float(payload["execution_time"]),
        log=log,
        isolation=str(payload.get("isolation", "")),
        backends=dict(payload.get("backends", {})),
    )
