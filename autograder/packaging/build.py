"""``autograder build``: per assignment, the student bundle and the Gradescope autograder zip.

    <out>/<name>/student.zip       what students download (see autograder.packaging.bundle)
    <out>/<name>/autograder.zip    what Gradescope runs (see autograder.packaging.otter_package)
    <out>/wheels/                  the kit's wheel, built once, shipped inside both

Before anything is written, each student bundle is scanned for reference and hidden-test code
(the wheel inside it too): a leak stops the build.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.leaks import scan_archive, secret_lines
from autograder.core.assignments import (
    Assignment,
    UnknownAssignmentError,
    assignment_names,
    load_assignment,
)
from autograder.packaging.bundle import BuildError, build_kit_wheel, build_student_bundle


@dataclass(frozen=True)
class BuiltAssignment:
    """Where one assignment's artefacts were written."""

    name: str
    student_zip: Path
    autograder_zip: Path | None


def build(names: list[str], out: Path, *, with_autograder: bool = True) -> list[BuiltAssignment]:
    """Build ``names`` (all of them when empty) into ``out``.

    Raises:
        UnknownAssignmentError: a name the kit does not have.
        BuildError: the wheel or otter failed, or a bundle would leak solution code.
    """
    assignments: list[Assignment] = [load_assignment(n) for n in names or assignment_names()]
    wheel = build_kit_wheel(out / "wheels")
    secrets = secret_lines()
    built = []
    for assignment in assignments:
        folder = out / assignment.name
        student_zip = build_student_bundle(assignment, wheel, folder / "student.zip")
        leaks = scan_archive(student_zip, secrets)
        if leaks:
            student_zip.unlink()
            shown = "\n".join(f"  {leak.where}: {leak.line}" for leak in leaks[:20])
            raise BuildError(f"{assignment.name}: the student bundle would leak:\n{shown}")
        autograder_zip = None
        if with_autograder:
            from autograder.packaging.otter_package import build_autograder_zip

            autograder_zip = build_autograder_zip(assignment, wheel, folder / "autograder.zip")
        built.append(BuiltAssignment(assignment.name, student_zip, autograder_zip))
    return built


def run_build(names: list[str], out: Path) -> int:
    """The ``build`` command: build ``names`` (all when empty) into ``out`` and say where.

    Returns 0, 1 when the build failed (otter, the wheel, a leak), 2 for an unknown assignment.
    """
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
