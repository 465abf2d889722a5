"""The ``autograder`` command line.

autograder demo                              grade the bundled example submissions
autograder grade <assignment> <submission>   grade one submission [--results PATH]
autograder grade-all <assignment> <dir>      grade a class [--out DIR] [--jobs N] [--regrade]
                                             [--allow-partial-isolation]
autograder template [--check]                regenerate student_template/ from solutions/
autograder build [<assignment>...] [--out DIR]
                                             student.zip and Gradescope autograder.zip
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.core.assignments import UnknownAssignmentError, load_assignment
from autograder.core.gradescope import write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade one submission of one assignment")
    grade.add_argument("assignment", help="assignment name, for example conv")
    grade.add_argument("submission", type=Path, help="folder, zip, or <assignment>.py")
    grade.add_argument("--results", type=Path, default=Path("results.json"))

    grade_all = commands.add_parser(
        "grade-all", help="grade a class: a Gradescope export or a folder of submissions"
    )
    grade_all.add_argument("assignment", help="assignment name, for example conv")
    grade_all.add_argument("submissions", type=Path, help="the class's folder")
    grade_all.add_argument("--out", type=Path, help="output folder (default: grades/<assignment>)")
    grade_all.add_argument("--jobs", type=int, help="submissions graded at once (default: CPUs)")
    grade_all.add_argument("--regrade", action="store_true", help="regrade stored results too")
    grade_all.add_argument(
        "--allow-partial-isolation",
        action="store_true",
        help=(
            "grade even where student code is only partially isolated (not root, or no "
            "namespaces): student code then has the powers of your user (read and change your "
            "files, use the network); submissions are graded one at a time, each from a fresh "
            "copy of the kit checked after its grading; a grading that changed it or left a "
            "process behind is a grading error, and a change to the checkout, the Python "
            "installation, the submissions or the results stops the run (see README)"
        ),
    )

    check = commands.add_parser("check", help="run an assignment's public tests on your work")
    check.add_argument("assignment", help="assignment name, for example conv")
    check.add_argument(
        "path", type=Path, nargs="?", default=Path("."), help="your folder (default: here)"
    )

    template = commands.add_parser("template", help="regenerate student_template/")
    template.add_argument(
        "--check", action="store_true", help="only report whether it is up to date"
    )

    build = commands.add_parser(
        "build", help="write each assignment's student.zip and Gradescope autograder.zip"
    )
    build.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    build.add_argument("--out", type=Path, default=Path("dist"), help="output folder")

    demo = commands.add_parser(
        "demo", help="build every assignment and grade the bundled example submissions"
    )
    demo.add_argument("--verbose", action="store_true", help="print every test of every run")
    demo.add_argument("--out", type=Path, default=Path("dist"), help="where to build")

    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args.assignment, args.submission, args.results)
    if args.command == "grade-all":
        from autograder.grading.grade_all import run_grade_all

        return run_grade_all(
            args.assignment,
            args.submissions,
            args.out,
            args.jobs,
            args.regrade,
            allow_partial_isolation=args.allow_partial_isolation,
        )
    if args.command == "check":
        return _check(args.assignment, args.path)
    if args.command == "template":
        return _template(args.check)
    if args.command == "build":
        return _build(args.assignments, args.out)
    from autograder.demo import run_demo

    return run_demo(verbose=args.verbose, out=args.out)


def _grade(name: str, submission: Path, results: Path) -> int:
    from autograder.grading.grade import grade
    from autograder.grading.report import test_table

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
    if not report.tests:
        print(report.log[-4000:], file=sys.stderr)
    write_results(report.to_gradescope(), results)
    print(f"results written to {results}")
    if report.grading_error:  # the grader's failure: the results say so; grade again
        print(f"autograder: grading error: {report.grading_error}", file=sys.stderr)
        return 1
    return 0


def _check(name: str, path: Path) -> int:
    """The public suite only, through the same sandbox and with the same feedback."""
    from autograder.core.assignments import Assignment
    from autograder.grading.grade import grade
    from autograder.grading.report import test_table

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
    print(test_table(report, full_messages=True))
    if not report.tests:
        print(report.log[-4000:], file=sys.stderr)
    if report.grading_error:
        print(f"autograder: grading error (not your code's fault): {report.grading_error}")
        return 1
    return 0


def _build(names: list[str], out: Path) -> int:
    from autograder.packaging.build import build
    from autograder.packaging.bundle import BuildError

    try:
        built = build(names, out)
    except UnknownAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    except BuildError as error:
        print(f"autograder build: {error}", file=sys.stderr)
        return 1
    for item in built:
        print(f"built {item.name}: {item.student_zip}, {item.autograder_zip}")
    return 0


def _template(check: bool) -> int:
    from autograder.authoring.template import check_template, write_template

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
