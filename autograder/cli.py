"""The ``autograder`` command line.

autograder demo                              grade the bundled example submissions
autograder grade <assignment> <submission>   grade one submission [--results PATH]
autograder template [--check]                regenerate student_template/ from solutions/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.assignments import UnknownAssignmentError, load_assignment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade one submission of one assignment")
    grade.add_argument("assignment", help="assignment name, for example conv")
    grade.add_argument("submission", type=Path, help="folder, zip, or <assignment>.py")
    grade.add_argument("--results", type=Path, default=Path("results.json"))

    template = commands.add_parser("template", help="regenerate student_template/")
    template.add_argument(
        "--check", action="store_true", help="only report whether it is up to date"
    )

    demo = commands.add_parser("demo", help="grade the bundled example submissions")
    demo.add_argument("--verbose", action="store_true", help="print every test of every run")

    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args.assignment, args.submission, args.results)
    if args.command == "template":
        return _template(args.check)
    from autograder.demo import run_demo

    return run_demo(verbose=args.verbose)


def _grade(name: str, submission: Path, results: Path) -> int:
    from autograder.grading import grade
    from autograder.report import test_table

    try:
        assignment = load_assignment(name)
    except UnknownAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    if not submission.exists():
        print(f"autograder: submission not found: {submission}", file=sys.stderr)
        return 2
    report = grade(assignment, submission.resolve())
    print(test_table(report))
    results.write_text(json.dumps(report.to_gradescope(), indent=2), encoding="utf-8")
    print(f"results written to {results}")
    return 0


def _template(check: bool) -> int:
    from autograder.template import check_template, write_template

    if not check:
        write_template()
        print("student_template/ regenerated")
        return 0
    differences = check_template()
    for line in differences:
        print(line)
    if differences:
        print("student_template/ is out of date: run `autograder template`", file=sys.stderr)
        return 1
    print("student_template/ is up to date")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
