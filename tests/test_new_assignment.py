"""The promise of the assignment folders: a new assignment is ``solutions/<name>.py`` plus
``assignments/<name>/`` and nothing else.

In a copy of the kit, a toy assignment ``scale`` is added with exactly those files (config,
public and hidden suites, handout, a buggy example, a hint); then, in that copy,
``autograder template``, ``autograder build scale``, grading the reference (full marks), the
generated template (0) and the buggy example (partial credit, with the assignment's own hint),
and the demo's part for ``scale`` all work, and nothing of the copy changes but generated
output. The hints never reach a student: neither a student bundle nor the kit's wheel carries
them; the Gradescope autograder, which shows them, does.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import ASSIGNMENTS_DIR, REPO_ROOT, all_assignments
from autograder.packaging.bundle import student_files

NOT_COPIED = (".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", "*.pyc")
NOT_COPIED += (".pytest_cache", ".ruff_cache", ".import_linter_cache", "grades", "out")
GENERATED = ("student_template/", "dist/", "build/", "cnn_autograder.egg-info/")
"""What the commands may write in the copy: the template and the build output, and the
setuptools leftovers of building the kit's wheel in place (all of them ignored by git)."""

SCALE_HINT = "your result equals x: the factor a was not applied"

TOY = {
    "solutions/scale.py": '''
        """Scaling: multiply an array by a number (the kit's smallest assignment).

        Conventions
        -----------
        * ``x`` is an array of any shape; ``a`` is a Python number.
        * Functions never modify their inputs. The result has the dtype of ``x``.
        """

        from __future__ import annotations

        from typing import Any

        Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


        def scale(x: Array, a: float) -> Array:
            """Return ``x`` multiplied by ``a``, elementwise.

            Args:
                x: an array of any shape and floating dtype.
                a: the factor, a Python number.

            Returns:
                An array shaped like ``x``, with the dtype of ``x``.
            """
            # BEGIN SOLUTION
            return a * x
            # END SOLUTION
    ''',
    "assignments/scale/assignment.toml": """
        name = "scale"
        title = "Scaling: multiply an array by a number"
        files = ["scale.py"]
    """,
    "assignments/scale/public/test_scale_public.py": '''
        """Public tests for scale.py: known answers.

        Run them from your copy of the template with ``autograder check scale``.
        """

        from __future__ import annotations

        import numpy as np
        import pytest

        from autograder.suite.compare import assert_close

        pytestmark = [pytest.mark.assignment("scale")]


        @pytest.mark.points(1)
        def test_scale_hand_computed(student):
            x = np.array([1.0, -2.0, 0.5])
            assert_close(student.scale(x, 2.0), np.array([2.0, -4.0, 1.0]), name="out")


        @pytest.mark.points(1)
        def test_scale_by_one_is_the_identity(student, rng):
            x = rng.standard_normal((3, 4))
            assert_close(student.scale(x, 1.0), x, name="out")
    ''',
    "assignments/scale/hidden/test_scale_hidden.py": '''
        """Hidden tests for scale.py: the submission against the reference solution."""

        from __future__ import annotations

        import numpy as np
        import pytest

        from autograder.suite.compare import assert_close

        pytestmark = [pytest.mark.assignment("scale"), pytest.mark.visibility("after_published")]


        @pytest.mark.points(1)
        @pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
        def test_scale_matches_the_reference(student, reference, rng, dtype):
            x = rng.standard_normal((2, 3, 4)).astype(dtype)
            a = float(rng.uniform(1.5, 3.0))
            assert_close(student.scale(x, a), reference.scale(x, a), name="out")
    ''',
    "assignments/scale/handout.md": """
        # Scaling

        This notebook goes with `scale.py`. Keep it in the folder that holds your `scale.py`.

        ```python
        import subprocess
        import sys

        import numpy as np
        from scale import scale

        print(scale(np.arange(3.0), 2.0))
        ```

        ## Public checks

        ```python
        result = subprocess.run(
            [sys.executable, "-m", "autograder", "check", "scale", "."],
            capture_output=True,
            text=True,
            check=False,
        )
        print(result.stdout + result.stderr)
        ```
    """,
    "assignments/scale/examples.toml": """
        [[submission]]
        name = "scale-ignores-the-factor"
        assignment = "scale"
        bug = "returns x unchanged: the factor a is never applied"
        edits = [
            { file = "scale.py", old = "return a * x", new = "return x + 0.0" },
        ]
    """,
    "assignments/scale/hints.py": f'''
        """Hints for scale: the usual mistake, a factor that is never applied."""

        from __future__ import annotations

        from typing import Any

        from autograder.suite.hints import Call, Suspect, diagnoses_for, suspect


        @diagnoses_for("scale")
        def _factor_ignored(reference: Any, call: Call) -> list[Suspect | str]:
            return [suspect(reference.scale, call, "{SCALE_HINT}", a=1.0)]
    ''',
}


def _digests(root: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every file under ``root``."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _shipped_on_purpose(root: Path) -> set[str]:
    """Lines the kit hands out anyway: its package, its README and the student template."""
    paths = [root / "README.md", *(root / "autograder").rglob("*.py")]
    paths += [p for p in (root / "student_template").rglob("*") if p.is_file()]
    return {line.strip() for p in paths for line in p.read_text("utf-8").splitlines()}


def _hint_lines(root: Path) -> set[str]:
    """The substantive lines of every ``assignments/*/hints.py`` under ``root`` that nothing
    shipped on purpose holds (the lines to look for in what students get)."""
    lines = {
        line.strip()
        for path in (root / "assignments").glob("*/hints.py")
        for line in path.read_text("utf-8").splitlines()
        if len(line.strip()) > 12 and not line.strip().startswith("#")
    }
    return lines - _shipped_on_purpose(root)


def _archive_texts(data: bytes, where: str) -> dict[str, str]:
    """``{member path: text}`` of a zip and every zip or wheel inside it."""
    texts = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.namelist():
            content = archive.read(member)
            if member.endswith((".zip", ".whl")):
                texts |= _archive_texts(content, f"{where}!{member}")
            else:
                texts[f"{where}!{member}"] = content.decode("utf-8", errors="replace")
    return texts


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """A copy of the checkout with the toy assignment ``scale`` added (its two places only)."""
    root = tmp_path_factory.mktemp("kit") / "kit"
    shutil.copytree(REPO_ROOT, root, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    for relative, text in TOY.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def _run(kit: Path, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m autograder ...`` (or ``python -c``) in the copy: its package, its folders."""
    environment = dict(os.environ, AUTOGRADER_HOME=str(kit), PYTHONDONTWRITEBYTECODE="1")
    environment.pop("PYTHONPATH", None)
    command = [sys.executable, *arguments]
    if arguments[0] != "-c":
        command = [sys.executable, "-m", "autograder", *arguments]
    done = subprocess.run(
        command, cwd=kit, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{arguments}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _grade(kit: Path, folder: Path) -> dict:
    results = folder.parent / f"{folder.name}-results.json"
    _run(kit, "grade", "scale", str(folder), "--results", str(results))
    return json.loads(results.read_text())


def _scores(results: dict) -> tuple[float, float]:
    tests = results["tests"]
    return (
        round(sum(t["score"] for t in tests), 6),
        round(sum(t["max_score"] for t in tests), 6),
    )


def test_a_new_assignment_is_its_solution_and_its_folder(kit, tmp_path):
    before = _digests(kit)

    _run(kit, "template")
    _run(kit, "template", "--check")
    template = kit / "student_template"
    stub = (template / "scale.py").read_text()
    assert 'raise NotImplementedError("scale is not implemented yet")' in stub
    assert "Return ``x`` multiplied by ``a``, elementwise." in stub, (
        "the docstring reaches students"
    )
    assert (template / "tests" / "test_scale_public.py").is_file()
    assert (template / "scale_handout.ipynb").is_file()

    with_otter = importlib.util.find_spec("otter") is not None
    _run(kit, "build", "scale", timeout=600)
    student_zip = kit / "dist" / "scale" / "student.zip"
    members = _archive_texts(student_zip.read_bytes(), "student.zip")
    assert "student.zip!scale/scale.py" in members
    assert "student.zip!scale/tests/test_scale_public.py" in members
    assert not any("hidden" in member for member in members), sorted(members)
    hints_files = [
        member
        for member in members
        if member.rsplit("/", 1)[-1].rsplit("!", 1)[-1] == "hints.py"
        and not member.endswith("!autograder/suite/hints.py")  # the engine, in the wheel
    ]
    assert not hints_files, hints_files
    hint_lines = _hint_lines(kit)
    assert any(SCALE_HINT in line for line in hint_lines), "the scan looks for scale's hint too"
    leaked = {
        (where, line.strip())
        for where, text in members.items()
        for line in text.splitlines()
        if line.strip() in hint_lines
    }
    assert not leaked, f"hints in the student bundle (or the wheel inside it): {sorted(leaked)}"
    if with_otter:  # Gradescope shows hints: its autograder carries the assignment's folder
        with zipfile.ZipFile(kit / "dist" / "scale" / "autograder.zip") as archive:
            names = archive.namelist()
        assert any(n.endswith("assignments/scale/hints.py") for n in names), names

    reference = tmp_path / "reference"
    write_files(solution_submission_files(kit / "solutions", ["scale"]), reference)
    graded = _grade(kit, reference)
    got, possible = _scores(graded)
    assert possible >= 4 and got == possible, (got, possible)
    assert all(t["status"] == "passed" for t in graded["tests"]), graded["tests"]

    untouched = tmp_path / "template"
    untouched.mkdir()
    shutil.copy(template / "scale.py", untouched / "scale.py")
    assert _scores(_grade(kit, untouched)) == (0.0, possible)

    after = _digests(kit)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    outside = sorted(p for p in changed if not p.startswith(GENERATED))
    assert not outside, f"the commands changed the kit itself: {outside}"
    assert "student_template/scale.py" in changed and "dist/scale/student.zip" in changed


DEMO_PART = """
import sys, tempfile
from pathlib import Path
from autograder.authoring.examples import make_examples
from autograder.demo import _grade_example
from autograder.grading.report import summary_table
with tempfile.TemporaryDirectory() as scratch:
    examples = [e for e in make_examples(Path(scratch)) if e.assignment == "scale"]
    reports = [_grade_example(e) for e in examples]
print(summary_table((e.name, r) for e, r in zip(examples, reports)))
for e, r in zip(examples, reports):
    hints = sorted({line for t in r.tests for line in t.output.splitlines()
                    if line.startswith("hint: ")})
    print("RESULT", e.name, r.score, r.max_score, hints)
"""


def test_the_demo_grades_the_new_assignments_examples(kit):
    """The demo's grading of the bundled examples, for ``scale`` only (the whole demo builds
    and grades every assignment: see the slow test below)."""
    _run(kit, "template")
    out = _run(kit, "-c", DEMO_PART).stdout
    results = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, score, possible, hints = line.split(" ", 4)
            results[name] = (float(score), float(possible), hints)
    assert set(results) == {"reference", "template", "scale-ignores-the-factor"}, out
    score, possible, _ = results["reference"]
    assert possible > 0 and score == possible, out
    assert results["template"][0] == 0, out
    score, _, hints = results["scale-ignores-the-factor"]
    assert 0 < score < possible, out
    assert SCALE_HINT in hints, f"the hint of assignments/scale/hints.py is shown: {out}"


@pytest.mark.slow
@pytest.mark.exhaustive  # grades all ~170 bundled examples again (tests/test_examples.py does)
def test_the_whole_demo_includes_the_new_assignment(kit):
    """The whole demo (minutes: it builds every assignment and grades every bundled example,
    which ``tests/test_examples.py`` grades too); the default run checks the demo's grading on
    the new assignment only (above)."""
    out = _run(kit, "demo", timeout=1800).stdout
    assert "scale-ignores-the-factor" in out and "dist/scale/student.zip" in out, out[-3000:]


def test_no_bundle_of_the_kit_carries_a_hints_file():
    """What a student bundle holds besides the wheel (stubs, public tests, handout, README)
    holds no hints: the bundle copies ``student_template/`` (public suites only), never an
    assignment's folder. (The wheel is the ``autograder`` package only: see the test above
    and ``tests/test_build.py``.)"""
    assert sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/hints.py")), "no hints found"
    hint_lines = _hint_lines(REPO_ROOT)
    assert len(hint_lines) > 30, "the scan must have hint lines to look for"
    for assignment in all_assignments():
        files = student_files(assignment)
        assert not any(Path(name).name == "hints.py" for name in files), sorted(files)
        for name, content in files.items():
            text = content.decode("utf-8", errors="replace")  # a data set is binary
            found = {line.strip() for line in text.splitlines()} & hint_lines
            assert not found, f"{assignment.name}: {name} holds hint lines: {sorted(found)}"


def test_every_hints_file_loads_and_names_functions_of_its_reference():
    """Each ``assignments/<name>/hints.py`` loads, and diagnoses only functions of its own
    reference ``solutions/<name>.py`` (a typo in a name would silently never hint)."""
    from autograder.suite.hints import assignment_diagnoses

    for path in sorted(ASSIGNMENTS_DIR.glob("*/hints.py")):
        name = path.parent.name
        diagnoses = assignment_diagnoses(name)
        assert diagnoses, f"{path} registers no diagnosis"
        reference = importlib.import_module(f"solutions.{name}")
        missing = sorted(f for f in diagnoses if not callable(getattr(reference, f, None)))
        assert not missing, f"{path} diagnoses functions solutions/{name}.py lacks: {missing}"
