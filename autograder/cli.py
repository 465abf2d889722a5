"""The ``autograder`` command line.

autograder demo                              grade the bundled example submissions
autograder grade <assignment> <submission>   grade one submission [--results PATH]
autograder grade-all <assignment> <dir>      grade a class [--out DIR] [--jobs N] [--regrade]
                                             [--allow-partial-isolation] [--cluster ADDRESS]
autograder template [--check]                regenerate student_template/ from solutions/
autograder build [<assignment>...] [--out DIR]
                                             student.zip and Gradescope autograder.zip
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

HELP = {
    "grade": "grade one submission of one assignment",
    "grade-all": "grade a class: a Gradescope export or a folder of submissions",
    "check": "run an assignment's public tests on your work",
    "template": "regenerate student_template/",
    "build": "write each assignment's student.zip and Gradescope autograder.zip",
    "demo": "build every assignment and grade the bundled example submissions",
}
PARTIAL_ISOLATION = (
    "grade even where student code is only partially isolated (not root, or no "
    "namespaces): student code then has the powers of your user (read and change your "
    "files, use the network); submissions are graded one at a time, each from a fresh "
    "copy of the kit checked after its grading; a grading that changed it or left a "
    "process behind is a grading error, and a change to the checkout, the Python "
    "installation, the submissions or the results stops the run (see README)"
)

CLUSTER = (
    "grade on a Dask cluster: a scheduler's address (tcp://host:8786), a scheduler file "
    "(scheduler.json) or local:N (N worker processes here); results are written here; "
    "--jobs is then the gradings kept under way (needs the cluster extra; see README)"
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb; a verb's ``run`` calls one package's entry point."""
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (add_arguments, run) in VERBS.items():
        verb = commands.add_parser(name, help=HELP[name])
        add_arguments(verb)
        verb.set_defaults(run=run)
    return parser


def _grade_arguments(grade: argparse.ArgumentParser) -> None:
    grade.add_argument("assignment", help="assignment name, for example conv")
    grade.add_argument("submission", type=Path, help="folder, zip, or <assignment>.py")
    grade.add_argument("--results", type=Path, default=Path("results.json"))


def _grade_all_arguments(grade_all: argparse.ArgumentParser) -> None:
    grade_all.add_argument("assignment", help="assignment name, for example conv")
    grade_all.add_argument("submissions", type=Path, help="the class's folder")
    grade_all.add_argument("--out", type=Path, help="output folder (default: grades/<assignment>)")
    grade_all.add_argument("--jobs", type=int, help="submissions graded at once (default: CPUs)")
    grade_all.add_argument("--regrade", action="store_true", help="regrade stored results too")
    grade_all.add_argument("--allow-partial-isolation", action="store_true", help=PARTIAL_ISOLATION)
    grade_all.add_argument("--cluster", metavar="ADDRESS", help=CLUSTER)


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("assignment", help="assignment name, for example conv")
    check.add_argument(
        "path", type=Path, nargs="?", default=Path("."), help="your folder (default: here)"
    )


def _template_arguments(template: argparse.ArgumentParser) -> None:
    template.add_argument(
        "--check", action="store_true", help="only report whether it is up to date"
    )


def _build_arguments(build: argparse.ArgumentParser) -> None:
    build.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    build.add_argument("--out", type=Path, default=Path("dist"), help="output folder")


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--verbose", action="store_true", help="print every test of every run")
    demo.add_argument("--out", type=Path, default=Path("dist"), help="where to build")


def _grade(args: argparse.Namespace) -> int:
    from autograder.grading.grade import run_grade

    return run_grade(args.assignment, args.submission, args.results)


def _grade_all(args: argparse.Namespace) -> int:
    from autograder.grading.grade_all import run_grade_all

    return run_grade_all(
        args.assignment,
        args.submissions,
        args.out,
        args.jobs,
        args.regrade,
        allow_partial_isolation=args.allow_partial_isolation,
        cluster=args.cluster,
    )


def _check(args: argparse.Namespace) -> int:
    from autograder.grading.grade import run_check

    return run_check(args.assignment, args.path)


def _template(args: argparse.Namespace) -> int:
    from autograder.authoring.template import run_template

    return run_template(args.check)


def _build(args: argparse.Namespace) -> int:
    from autograder.packaging.build import run_build

    return run_build(args.assignments, args.out)


def _demo(args: argparse.Namespace) -> int:
    from autograder.demo import run_demo

    return run_demo(verbose=args.verbose, out=args.out)


Verb = tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
VERBS: dict[str, Verb] = {
    "grade": (_grade_arguments, _grade),
    "grade-all": (_grade_all_arguments, _grade_all),
    "check": (_check_arguments, _check),
    "template": (_template_arguments, _template),
    "build": (_build_arguments, _build),
    "demo": (_demo_arguments, _demo),
}
"""Each verb: what adds its arguments, and what runs it (importing only its own package)."""


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
