"""The Gradescope autograder ``autograder.zip``, made by ``otter generate`` (otter-grader 7.0.0).

What goes into otter's working folder, and so into the zip::

    otter_config.json   the SandboxedSuitePlugin (packaging/otter_plugin.py) and its assignment
    requirements.txt    the kit's wheel (shipped inside the zip) and pinned numpy and pytest
    tests/sandboxed_suite.py
                        a one-case otter test: otter insists on a test; its result is replaced
    files/<name>_handout.ipynb
                        the placeholder notebook otter executes instead of the submission
    files/kit/          assignments/<name>/ (config, public and hidden suites), the reference
                        solutions the suites need, wheels/ (the kit)

On Gradescope, otter's setup.sh installs the requirements into its conda environment (Python
``GRADESCOPE_PYTHON``); ``otter run -a autograder.zip <submission>`` runs the same grading
entry point locally, which ``tests/test_build.py`` does on the reference, the template and a
partly wrong submission.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import nbformat

from autograder.core.assignments import SOLUTIONS_DIR, Assignment
from autograder.packaging.bundle import BuildError
from autograder.packaging.otter_plugin import KIT_FOLDER, placeholder_notebook

OTTER_VERSION = "7.0.0"
GRADESCOPE_PYTHON = "3.12"
PLUGIN = "autograder.packaging.otter_plugin.SandboxedSuitePlugin"
AUTOGRADER_DIR = "/autograder"

OTTER_TEST = '''"""Otter requires a test; the kit's plugin replaces what otter reports."""

OK_FORMAT = True

test = {
    "name": "sandboxed_suite",
    "points": 1,
    "suites": [
        {
            "cases": [{"code": ">>> True\\nTrue", "hidden": False, "locked": False}],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}
'''


def otter_config(assignment: Assignment) -> dict:
    """``otter_config.json``: our plugin, no PDFs, no tokens, quiet summaries."""
    return {
        "lang": "python",
        "plugins": [{PLUGIN: {"assignment": assignment.name}}],
        "show_stdout": False,
        "print_summary": True,
        "pdf": False,
    }


def requirements(wheel: Path) -> str:
    """Pinned requirements for otter's environment: the shipped kit wheel, numpy and pytest."""
    shipped = f"{AUTOGRADER_DIR}/source/files/{KIT_FOLDER}/wheels/{wheel.name}"
    return "\n".join(
        [
            f"cnn-autograder @ file://{shipped}",
            f"numpy=={version('numpy')}",
            f"pytest=={version('pytest')}",
            "",
        ]
    )


def _solution_modules(assignment: Assignment) -> list[Path]:
    """The reference modules the suites of ``assignment`` import (its own and its siblings')."""
    modules = [SOLUTIONS_DIR / f for f in assignment.files if (SOLUTIONS_DIR / f).is_file()]
    init = SOLUTIONS_DIR / "__init__.py"
    return [init, *modules] if init.is_file() else modules


def stage_otter_folder(assignment: Assignment, wheel: Path, folder: Path) -> None:
    """Lay out what ``otter generate`` reads, in ``folder``."""
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "sandboxed_suite.py").write_text(OTTER_TEST, encoding="utf-8")
    (folder / "otter_config.json").write_text(json.dumps(otter_config(assignment), indent=2))
    (folder / "requirements.txt").write_text(requirements(wheel), encoding="utf-8")
    kit = folder / KIT_FOLDER  # otter generate puts the support files under files/
    # what grading needs: config, suites, hints (not the oracle tests or the buggy examples)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "oracle", "examples.toml")
    shutil.copytree(assignment.folder, kit / "assignments" / assignment.name, ignore=ignore)
    (kit / "solutions").mkdir(parents=True)
    for module in _solution_modules(assignment):
        shutil.copy2(module, kit / "solutions" / module.name)
    (kit / "wheels").mkdir()
    shutil.copy2(wheel, kit / "wheels" / wheel.name)
    placeholder = folder / placeholder_name(assignment)
    placeholder.write_text(nbformat.writes(placeholder_notebook()), encoding="utf-8")


def placeholder_name(assignment: Assignment) -> str:
    """The placeholder notebook's name: the handout's, so uploading the handout is harmless."""
    return f"{assignment.name}_handout.ipynb"


def build_autograder_zip(assignment: Assignment, wheel: Path, destination: Path) -> Path:
    """Run ``otter generate`` for ``assignment``; write the zip to ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otter-generate-") as scratch:
        folder = Path(scratch)
        stage_otter_folder(assignment, wheel, folder)
        command = [
            sys.executable,
            "-m",
            "otter",
            "generate",
            "--tests-dir",
            "tests",
            "--config",
            "otter_config.json",
            "--requirements",
            "requirements.txt",
            "--python-version",
            GRADESCOPE_PYTHON,
            "--output-path",
            "autograder.zip",
            KIT_FOLDER,
            placeholder_name(assignment),
        ]
        completed = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        produced = folder / "autograder.zip"
        if completed.returncode != 0 or not produced.is_file():
            raise BuildError(
                "otter generate failed (is the instructor extra installed? "
                f"pip install -e '.[instructor]'):\n{(completed.stdout + completed.stderr)[-3000:]}"
            )
        shutil.move(str(produced), destination)
    return destination
