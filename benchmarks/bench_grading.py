"""Grading speed: the sandboxed grader against the unsafe in-process baseline, in one run.

    python benchmarks/bench_grading.py [--repeats N] [--assignments conv,pooling,...]

For each assignment, grades the reference solution (rendered as a submission) on its public
and hidden suites twice per repeat, alternating: once through the sandbox (how every
submission is graded) and once with ``--in-process`` (the student module imported into the
grading process: what graders without isolation do). Prints the median wall time of each and
their ratio. Targets: ratio <= 1.5, and under 5 s per assignment for a correct submission.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, assignment_names, load_assignment
from autograder.grading.grade import grade


def timed_grade(name: str, submission: Path, options: tuple[str, ...]) -> tuple[float, float]:
    """Wall seconds of one grading run, and the score it gave (as a fraction)."""
    started = time.perf_counter()
    report = grade(load_assignment(name), submission, extra_options=options)
    elapsed = time.perf_counter() - started
    if not report.tests:
        raise SystemExit(f"grading {name} produced no results:\n{report.log[-2000:]}")
    return elapsed, report.score / report.max_score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--assignments", default=",".join(assignment_names()))
    args = parser.parse_args(argv)
    names = [n for n in args.assignments.split(",") if n]
    with tempfile.TemporaryDirectory() as scratch:
        submission = Path(scratch)
        write_files(solution_submission_files(SOLUTIONS_DIR, assignment_names()), submission)
        width = max(len(n) for n in [*names, "assignment"]) + 2
        header = f"{'assignment':<{width}}{'sandbox s':>11}{'in-process s':>14}{'ratio':>8}  score"
        print(header)
        print("-" * len(header))
        worst = 0.0
        for name in names:
            sandboxed, baseline, scores = [], [], set()
            for _ in range(args.repeats):
                seconds, score = timed_grade(name, submission, ())
                sandboxed.append(seconds)
                scores.add(score)
                seconds, score = timed_grade(name, submission, ("--in-process",))
                baseline.append(seconds)
                scores.add(score)
            s, b = statistics.median(sandboxed), statistics.median(baseline)
            worst = max(worst, s / b)
            score = "1.0" if scores == {1.0} else "/".join(f"{x:.2f}" for x in sorted(scores))
            print(f"{name:<{width}}{s:>11.2f}{b:>14.2f}{s / b:>8.2f}  {score}")
    print(f"worst ratio {worst:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
