"""``autograder demo``: build every assignment, grade the bundled examples, print the results.

The build step writes each assignment's ``student.zip`` and Gradescope ``autograder.zip`` (see
``autograder build``) into ``out`` (``dist/`` by default); without otter-grader installed (the
``instructor`` extra) only the student bundles are built, and the demo says so.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.authoring.examples import ExampleSubmission, make_examples
from autograder.core.assignments import load_assignment
from autograder.grading.grade import GradeReport, grade
from autograder.grading.report import summary_table, test_table


def run_demo(verbose: bool = False, out: Path = Path("dist")) -> int:
    """Build, then grade every example on every suite; print a summary and the feedback."""
    _build_all(out)
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


def _build_all(out: Path) -> None:
    from autograder.packaging.build import build

    with_otter = importlib.util.find_spec("otter") is not None
    print(f"building every assignment into {out}/ ...", flush=True)
    for item in build([], out, with_autograder=with_otter):
        artefacts = [item.student_zip, item.autograder_zip]
        print(f"  {item.name:14s} " + ", ".join(str(a) for a in artefacts if a is not None))
    if not with_otter:
        print("  (autograder.zip skipped: otter-grader is missing; pip install '.[instructor]')")
    print()


def _grade_example(example: ExampleSubmission) -> GradeReport:
    return grade(load_assignment(example.assignment), example.folder)


def _failures_only(report: GradeReport, limit: int = 6) -> GradeReport:
    failed = [t for t in report.tests if not t.passed]
    return GradeReport(
        report.assignment, report.submission, report.score, report.max_score, failed[:limit]
    )
