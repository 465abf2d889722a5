"""Keep ``student_template/`` equal to what the generators make.

Stubs come from ``solutions/``, public tests from ``assignments/<name>/public/``, and handout
notebooks from ``assignments/<name>/handout.md`` (see ``autograder.authoring.handouts``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.authoring.handouts import handout_files
from autograder.authoring.stubgen import template_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, TEMPLATE_DIR, all_assignments


def expected_template() -> dict[str, str]:
    """``{relative path: text}`` of the template the generator makes now."""
    public_dirs = {a.name: a.public_dir for a in all_assignments()}
    files = template_files(SOLUTIONS_DIR, public_dirs)
    files.update(handout_files())
    return files


def _generated_paths(folder: Path) -> list[Path]:
    """Files of ``folder`` that are generator output by their name (stubs, tests, handouts)."""
    return (
        sorted(folder.glob("*.py"))
        + sorted(folder.glob("tests/test_*.py"))
        + sorted(folder.glob("*_handout.ipynb"))
    )


def write_template(destination: Path = TEMPLATE_DIR) -> None:
    """Regenerate the stubs, public tests and handouts of ``destination`` (other files are kept)."""
    stale = [*(destination / "tests").glob("test_*.py"), *destination.glob("*_handout.ipynb")]
    for path in stale:
        path.unlink()
    write_files(expected_template(), destination)


def check_template(folder: Path = TEMPLATE_DIR) -> list[str]:
    """Differences between ``folder`` and the generator's output, one line each."""
    expected = expected_template()
    problems = []
    for relative, text in sorted(expected.items()):
        path = folder / relative
        if not path.is_file():
            problems.append(f"missing: {relative}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"differs: {relative}")
    generated_kinds = {p for p in expected}
    for path in _generated_paths(folder):
        relative = path.relative_to(folder).as_posix()
        if relative not in generated_kinds:
            problems.append(f"not generated: {relative}")
    return problems


def run_template(check: bool) -> int:
    """The ``template`` command: regenerate ``student_template/``, or with ``check`` only say
    whether it is up to date (1 when it is not)."""
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
