"""``autograder demo``: grade the bundled example submissions and print the results."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.assignments import load_assignment
from autograder.examples import ExampleSubmission, make_examples
from autograder.grading import GradeReport, grade
from autograder.report import summary_table, test_table


def run_demo(verbose: bool = False) -> int:
    """Grade every example on every suite; print a summary and the feedback of buggy ones."""
    with tempfile.TemporaryDirectory(prefix="autograder-demo-") as scratch:
        examples = make_examples(Path(scratch))
        print(f"grading {len(examples)} example submissions...", flush=True)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            reports = list(pool.map(_grade_example, examples))
    print()
    print(summary_table((e.name, r) for e, r in zip(examples, reports, strict=True)))
    for example, report in zip(examples, reports, strict=True):
        if verbose or example.name not in ("reference", "template"):
            print()
            print(f"{example.name}: {example.description}")
            print(test_table(_failures_only(report) if not verbose else report))
    return 0


def _grade_example(example: ExampleSubmission) -> GradeReport:
    return grade(load_assignment(example.assignment), example.folder)


def _failures_only(report: GradeReport, limit: int = 6) -> GradeReport:
    failed = [t for t in report.tests if t["status"] != "passed"]
    return GradeReport(
        report.assignment, report.submission, report.score, report.max_score, failed[:limit]
    )
