"""The student bundle ``student.zip``: stubs, public tests, handout, README and the kit's wheel.

Layout of the zip (one folder, so "extract here" gives a tidy working folder)::

    <name>/
        README.md                      how to set up, check and submit
        <name>.py (+ sibling files)    the stubs from student_template/
        <name>_handout.ipynb           the handout notebook, when there is one
        tests/test_<name>_public.py    the public tests
        data/                          the assignment's data set, when it has one
        wheels/cnn_autograder-*.whl    the kit, for ``autograder check`` (no solutions inside)

The wheel holds the ``autograder`` package only; ``solutions/`` and the suites live beside it in
the checkout and never enter a wheel (``tests/test_build.py`` scans both for reference lines).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder import __version__
from autograder.core.assignments import REPO_ROOT, TEMPLATE_DIR, Assignment

WHEEL_GLOB = "cnn_autograder-*.whl"
FIXED_DATE = (2020, 1, 1, 0, 0, 0)
"""Timestamp of every zip member, so rebuilding unchanged sources gives identical bytes."""


class BuildError(RuntimeError):
    """Something needed for a build is missing or failed (the message says what)."""


def build_kit_wheel(destination: Path) -> Path:
    """Build the kit's wheel from the checkout into ``destination``; return its path."""
    destination = destination.resolve()
    destination.mkdir(parents=True, exist_ok=True)
    for old in destination.glob(WHEEL_GLOB):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="kit-wheel-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(destination),
            str(REPO_ROOT),
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, cwd=scratch, check=False
        )
    wheels = sorted(destination.glob(WHEEL_GLOB))
    if completed.returncode != 0 or not wheels:
        raise BuildError(f"building the kit's wheel failed:\n{completed.stderr[-3000:]}")
    return wheels[-1]


def student_files(assignment: Assignment) -> dict[str, bytes]:
    """``{path inside the bundle folder: content}`` for everything but the wheel."""
    files: dict[str, bytes] = {}
    for name in assignment.files:
        stub = TEMPLATE_DIR / name
        if not stub.is_file():
            raise BuildError(f"{stub} is missing: run `autograder template`")
        files[name] = stub.read_bytes()
    tests = sorted((TEMPLATE_DIR / "tests").glob(f"test_{assignment.name}_*.py"))
    if not tests:
        raise BuildError(f"no public tests for {assignment.name} in {TEMPLATE_DIR / 'tests'}")
    for test in tests:
        files[f"tests/{test.name}"] = test.read_bytes()
    handout = TEMPLATE_DIR / f"{assignment.name}_handout.ipynb"
    if handout.is_file():
        files[handout.name] = handout.read_bytes()
    for path in data_files(assignment):
        files[f"data/{path.name}"] = path.read_bytes()
    files["README.md"] = student_readme(assignment, handout.is_file()).encode()
    return files


def data_files(assignment: Assignment) -> list[Path]:
    """The data an assignment ships to its students: the files of its ``data/`` folder (a data
    set and its README), sorted; none for most assignments."""
    folder = assignment.folder / "data"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def student_readme(assignment: Assignment, has_handout: bool) -> str:
    """The bundle's README: set up once, check as often as you like, submit."""
    name = assignment.name
    own = [f for f in assignment.files if f != f"{name}.py"]
    uses = (
        f"\n`{name}.py` builds on your own {', '.join(f'`{f}`' for f in own)} from the earlier "
        "assignments: copy your finished versions over the stubs here.\n"
        if own
        else ""
    )
    upload = ", ".join(f"`{f}`" for f in assignment.files)
    handout = (
        f"\n## The handout\n\n`{name}_handout.ipynb` explains the ideas behind this assignment "
        "and calls your functions as you write them. Open it with Jupyter "
        "(`.venv/bin/pip install notebook matplotlib`, then `.venv/bin/jupyter notebook`).\n"
        if has_handout
        else ""
    )
    return f"""# {assignment.title}

Implement the functions in `{name}.py`. Each stub's docstring states its inputs, outputs,
shapes and conventions; replace its `raise NotImplementedError(...)` with your code.
{uses}
## Set up (once)

You need Python 3.10 or newer.

```bash
python3 -m venv .venv
.venv/bin/pip install wheels/cnn_autograder-{__version__}-py3-none-any.whl
```

(On Windows: `.venv\\Scripts\\pip` and `.venv\\Scripts\\autograder`.)

## Check your work

```bash
.venv/bin/autograder check {name}
```

This runs the public tests in `tests/` against your `{name}.py`, the same way the grader runs
them: your functions run in a separate, sandboxed process, and every failed check says what was
called, what was expected and what came back, often with a hint at the likely bug. You can also
run the public tests directly with `.venv/bin/python -m pytest tests`.

Passing the public tests is a good sign, not a guarantee: the grader also runs hidden tests on
random inputs of many shapes (in float32 and float64 where your functions take arrays), with every
option of every function.
{handout}
## Submit

Upload {upload} to Gradescope (the files themselves, or a zip of this folder). Only these files
are graded; keep the function names and signatures of the stubs.
"""


def write_zip(members: dict[str, bytes], destination: Path) -> None:
    """Write ``{path: content}`` as a deterministic zip (sorted members, fixed timestamps)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(members):
            info = zipfile.ZipInfo(path, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[path])
    partial.replace(destination)


def build_student_bundle(assignment: Assignment, wheel: Path, destination: Path) -> Path:
    """Write ``student.zip`` for ``assignment`` to ``destination``; return its path."""
    files = student_files(assignment)
    members = {f"{assignment.name}/{path}": data for path, data in files.items()}
    members[f"{assignment.name}/wheels/{wheel.name}"] = wheel.read_bytes()
    write_zip(members, destination)
    return destination
