"""An otter-grader plugin through which otter never runs student code: the kit's sandbox does.

Otter (7.x) grades by executing the submission in a Jupyter kernel with its tests beside it,
as the grader's own user. In the autograder zip built by ``autograder build``:

* ``files/<name>_handout.ipynb`` is a placeholder notebook. Otter copies it into the
  submission folder and, finding exactly one notebook there, takes it as "the submission"
  (uploading the real handout notebook, of the same name, is harmless: the copy replaces it).
* :meth:`SandboxedSuitePlugin.before_grading` runs in otter's process before any kernel starts.
  It moves everything the student uploaded out of the submission folder into a private folder,
  so the kernel otter starts next can import nothing of it, and grades that folder with the
  kit's engine (``python -m autograder.cli grade``): public and hidden suites, student code in
  the sandbox, the kit (``files/kit``: suites and reference) found through ``AUTOGRADER_HOME``.
* :meth:`before_execution` hands otter an empty notebook to execute, whatever it resolved.
* :meth:`after_grading` makes otter write the engine's results (one entry per test, with its
  points and visibility) instead of its own.

If the engine cannot produce results, the submission gets 0 and a message, never a crash.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from otter.plugins import AbstractOtterPlugin

from autograder.core.results import GradescopeResults, TestResult

KIT_FOLDER = "kit"
"""Under the zip's ``files/``: ``assignments/<name>/``, ``solutions/`` and ``wheels/``."""
STAGED_FOLDER = "student_submission"
"""Under the autograder folder (``/autograder`` on Gradescope): the student's files."""
OTTER_OWN = frozenset({"tests", "__init__.py", KIT_FOLDER, "__pycache__"})
DEFAULT_TIMEOUT = 900.0

PLACEHOLDER_SOURCE = (
    "# This notebook is a placeholder: the submission is graded by the kit's sandboxed suites\n"
    "# (see autograder.packaging.otter_plugin); nothing the student submitted runs in this "
    "kernel.\n"
)


def placeholder_notebook() -> Any:
    """The notebook otter executes in place of the submission: one comment cell."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PLACEHOLDER_SOURCE)])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def failure_results(message: str) -> GradescopeResults:
    """Gradescope results for a submission the engine could not grade: 0, and why."""
    failed = TestResult("Grading", 0.0, 0.0, "failed", "visible", message)
    return GradescopeResults(0.0, message, [failed])


def _engine_results(payload: dict[str, Any], ag_config: Any = None) -> dict[str, Any]:
    """Stands in for ``GradingResults.to_gradescope_dict``: the engine's results, unchanged."""
    return payload


class SandboxedSuitePlugin(AbstractOtterPlugin):
    """Grades with the kit's sandboxed engine; otter only carries the results to Gradescope.

    Plugin configuration (``otter_config.json``)::

        {"plugins": [{"autograder.packaging.otter_plugin.SandboxedSuitePlugin":
                      {"assignment": "conv", "timeout": 900}}]}
    """

    def __init__(self, submission_path, submission_metadata, plugin_config):
        super().__init__(submission_path, submission_metadata, plugin_config)
        self.results: GradescopeResults | None = None

    @property
    def assignment(self) -> str:
        return str((self.plugin_config or {}).get("assignment", ""))

    def before_grading(self, config: Any) -> None:
        """Move the student's files out of otter's reach and grade them in the sandbox."""
        try:
            autograder_dir = Path(config.autograder_dir).resolve()
            staged = self._stage_submission(autograder_dir)
            self.results = self._grade(autograder_dir, staged)
        except Exception as error:  # report, never crash the grader
            self.results = failure_results(f"the autograder could not grade this: {error}")

    def before_execution(self, submission: Any) -> Any:
        """Otter executes an empty notebook, never the submission."""
        return placeholder_notebook()

    def after_grading(self, results: Any) -> None:
        """Make otter write the engine's results."""
        graded = self.results or failure_results("the autograder produced no results")
        results.to_gradescope_dict = partial(_engine_results, graded.to_gradescope())

    # ------------------------------------------------------------------ internals

    def _stage_submission(self, autograder_dir: Path) -> Path:
        """Move what the student uploaded into a private folder; return that folder."""
        submission_dir = Path(self.submission_path).resolve().parent
        placeholder = Path(self.submission_path).name
        staged = autograder_dir / STAGED_FOLDER
        if staged.exists():
            shutil.rmtree(staged)
        staged.mkdir(mode=0o700)
        for entry in submission_dir.iterdir():
            if entry.name in OTTER_OWN or entry.name == placeholder:
                continue
            shutil.move(str(entry), str(staged / entry.name))
        shutil.rmtree(submission_dir / KIT_FOLDER, ignore_errors=True)  # otter's copy of files/
        uploaded = [entry for entry in staged.iterdir() if entry.name != "__MACOSX"]
        if len(uploaded) == 1 and uploaded[0].suffix == ".zip":
            return uploaded[0]  # a zip nobody extracted: the engine reads it safely itself
        return staged

    def _grade(self, autograder_dir: Path, staged: Path) -> GradescopeResults:
        kit = autograder_dir / "source" / "files" / KIT_FOLDER
        if not (kit / "assignments" / self.assignment / "assignment.toml").is_file():
            return failure_results(f"the autograder zip has no assignment {self.assignment!r}")
        if os.geteuid() == 0:  # the sandbox's student uid must not read the kit or results
            for private in (autograder_dir / "source", autograder_dir / "results"):
                if private.is_dir():
                    os.chmod(private, 0o700)
        timeout = float((self.plugin_config or {}).get("timeout", DEFAULT_TIMEOUT))
        with tempfile.TemporaryDirectory(prefix="engine-") as scratch:
            results = Path(scratch) / "results.json"
            command = [
                sys.executable,
                "-m",
                "autograder.cli",
                "grade",
                self.assignment,
                str(staged),
                "--results",
                str(results),
            ]
            env = {**os.environ, "AUTOGRADER_HOME": str(kit)}
            try:
                completed = subprocess.run(
                    command, cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired:
                return failure_results(f"grading did not finish within {timeout:g} s")
            if not results.is_file():
                log = (completed.stdout + completed.stderr)[-3000:]
                return failure_results(f"grading produced no results:\n{log}")
            return GradescopeResults.from_gradescope(json.loads(results.read_text("utf-8")))
