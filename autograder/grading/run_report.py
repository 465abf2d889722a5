"""The end of a ``grade-all`` run: what it says of the run and, where the run completed, the
gradebook, summary, charts and (where the gradings recorded one) leaderboard it writes
(:mod:`~autograder.grading.gradebook`)."""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.core.assignments import Assignment
from autograder.grading.class_results import RunSummary, StudentResult, clip
from autograder.grading.classroom import Classroom
from autograder.grading.gradebook import write_gradebook, write_leaderboard, write_summary


def report_run(assignment: Assignment, classroom: Classroom, summary: RunSummary, out: Path) -> int:
    """Say how the run went; write the gradebook where it completed. The command's exit
    status: 0 completed, 1 stopped (files later gradings use changed), 130 interrupted."""
    done = counts(summary)
    if summary.interrupted:
        print(
            f"interrupted after {summary.wall_time:.1f} s ({done}); finished results are kept "
            f"in {out / 'students'}: run the same command again to finish",
            file=sys.stderr,
        )
        return 130
    if summary.stopped:
        print(
            f"autograder: grading stopped after {done}: files that later gradings use were "
            f"changed {summary.stopped}. Nothing more was graded and no gradebook was "
            f"written. Restore those files (git status in the kit's checkout; reinstall the "
            f"Python packages) and look at what that submission does before grading again; "
            f"its result in {out / 'students'} is a grading error",
            file=sys.stderr,
        )
        return 1
    gradebook = write_gradebook(assignment, summary.results, out)
    summary_path = write_summary(assignment, summary.results, out)
    board = write_leaderboard(assignment, summary.results, out)
    per = f" ({summary.wall_time / summary.graded:.2f} s each)" if summary.graded else ""
    print(
        f"{assignment.name}: {len(classroom.submissions)} submissions ({classroom.layout}): "
        f"{done} in {summary.wall_time:.1f} s{per}"
    )
    print(f"gradebook: {gradebook}  (Canvas: {out / 'canvas.csv'})")
    print(f"summary: {summary_path}")
    if board is not None:
        print(f"leaderboard: {board}  (chart: {out / 'leaderboard.png'})")
    print_grading_errors(summary.results)
    return 0


def counts(summary: RunSummary) -> str:
    """What the run did, in counts."""
    done = (
        f"{summary.graded} graded, {summary.up_to_date} up to date, "
        f"{summary.unreadable} unreadable, {summary.errors} grading errors"
    )
    if summary.retried:
        done += f" ({summary.retried} graded twice after a grading error)"
    return done


def print_grading_errors(results: list[StudentResult]) -> None:
    """The grading errors apart, one line each: the grader's failures, not the students'."""
    errors = [r for r in results if r.status == "error"]
    if not errors:
        return
    print(
        f"{len(errors)} grading errors: the grader failed, not these students "
        "(score 0 until graded; run the same command again to retry them):"
    )
    for result in errors:
        print(f"  {result.submission.key}: {clip((result.reason.splitlines() or [''])[0], 300)}")
