"""The portable runner gives the grader's verdicts and messages.

On a student's own machine where the isolated sandbox cannot run (Windows, macOS), the public
tests call the student's functions in the test process (:mod:`autograder.suite.in_process`).
Here, on Linux, the portable runner is forced (``AUTOGRADER_RUNNER=portable``) over every public
suite and compared with the sandbox, test by test: the same status and the same message, for the
reference, the untouched template and the bundled buggy examples (one per assignment by
default, and the reference alone for the capstone, whose public grading trains; every one with
``--exhaustive``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    assignment_names,
    load_assignment,
)
from autograder.grading.grade import grade

SPECS = buggy_specs()


def _submission(kind: str, tmp_path: Path) -> Path:
    reference = solution_submission_files(SOLUTIONS_DIR, assignment_names())
    if kind == "template":
        return TEMPLATE_DIR
    spec = None if kind == "reference" else next(s for s in SPECS if s["name"] == kind)
    write_files(reference if spec is None else apply_edits(reference, spec), tmp_path)
    return tmp_path


def _outcomes(assignment, folder: Path, runner: str, monkeypatch) -> dict[str, tuple[str, str]]:
    monkeypatch.setenv("AUTOGRADER_RUNNER", runner)
    report = grade(assignment, folder, suites=("public",))
    assert report.tests and not report.grading_error, report.log[-2000:]
    return {test.name: (test.status, test.output) for test in report.tests}


SAMPLED = 1
"""Buggy examples per assignment compared in the default run (all with ``--exhaustive``)."""
REFERENCE_ONLY = ("lenet",)
"""Assignments whose every public grading trains a network: the default run compares their
reference alone."""


def _cases() -> list:
    cases = []
    for name in assignment_names():
        examples = [s["name"] for s in SPECS if s["assignment"] == name]
        for index, kind in enumerate(["reference", "template", *examples]):
            sampled = index >= (1 if name in REFERENCE_ONLY else 2 + SAMPLED)
            marks = [pytest.mark.exhaustive] if sampled else []
            cases.append(pytest.param(name, kind, id=f"{name}-{kind}", marks=marks))
    return cases


@pytest.mark.parametrize(("name", "kind"), _cases())
def test_the_portable_runner_gives_the_sandboxs_verdicts_and_messages(
    name, kind, tmp_path, monkeypatch
):
    assignment = load_assignment(name)
    folder = _submission(kind, tmp_path)
    isolated = _outcomes(assignment, folder, "isolated", monkeypatch)
    portable = _outcomes(assignment, folder, "portable", monkeypatch)
    assert portable.keys() == isolated.keys()
    differ = {
        test: (isolated[test], portable[test])
        for test in isolated
        if isolated[test] != portable[test]
    }
    assert not differ, next(iter(differ.items()))


NO_LINUX = Path(__file__).parent / "plugins" / "no_linux"


@pytest.mark.parametrize(("kind", "score"), [("reference", "30 / 30"), ("template", "0 / 30")])
def test_where_the_sandbox_cannot_run_the_check_runs_portably(kind, score, tmp_path):
    """Without fork, memfd, resource, fcntl and pwd (as on Windows and macOS), ``autograder
    check`` picks the portable runner by itself and grades as the grader does."""
    folder = _submission(kind, tmp_path)
    environment = dict(os.environ, PYTHONPATH=str(NO_LINUX))
    environment.pop("AUTOGRADER_RUNNER", None)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "check", "conv", str(folder)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert f"score: {score}" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert "note: your functions ran in this process (the portable runner)" in done.stdout


def test_a_call_that_hangs_is_stopped_with_the_sandboxs_message(tmp_path):
    from autograder.suite.in_process import InProcessFunctions
    from autograder.suite.student import CallGuard, StudentError

    (tmp_path / "spin_module.py").write_text(
        "def spin(x):\n    while True:\n        x = x + 1\n\ndef double(x):\n    return x * 2\n"
    )
    guard = CallGuard()
    functions = InProcessFunctions(tmp_path, "spin_module", [], guard=guard, timeout=0.3)
    with pytest.raises(StudentError, match=r"^spin did not finish within 0.3 s$"):
        functions.spin(1.0)
    with pytest.raises(StudentError, match="spin timed out earlier in this grading"):
        functions.spin(1.0)
    assert functions.double(2.0) == 4.0  # the others still run, and Ctrl-C is ours again
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_dict_changed_in_place_is_a_modified_input_as_in_the_sandbox(tmp_path):
    from autograder.suite.in_process import InProcessFunctions
    from autograder.suite.student import StudentError

    (tmp_path / "head_module.py").write_text(
        "def train(head):\n    head['w'] = head['w'] - 1\n    return head\n\n"
        "def train_copy(head):\n    return {**head, 'w': head['w'] - 1}\n"
    )
    functions = InProcessFunctions(tmp_path, "head_module", [], timeout=5)
    head = {"w": np.ones(3)}
    expected = "train() modified its input head in place (the values of 'w' were replaced)"
    with pytest.raises(StudentError, match=re.escape(expected)):
        functions.train(head)
    assert np.array_equal(functions.train_copy({"w": np.ones(3)})["w"], np.zeros(3))
