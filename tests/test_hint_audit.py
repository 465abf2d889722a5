"""No misleading hint: over every call of every public and hidden case, a hint fires only where
the mistake it names changes the reference's output and the result is what the mistake gives.

Each assignment's suites run against the reference and against each correct alternative
formulation (``assignments/<name>/alternatives/``), recording every call of a student function
(``tests/plugins/record_calls.py``). Then, for each call:

* the reference's and the alternatives' own results get no hint at all;
* for each mistake a diagnosis suspects there, a result equal to what the mistake gives gets its
  hint exactly when the mistake changes the correct output (a flipped 1x1 kernel changes
  nothing, so it must not be named).

The default run checks a sample of the calls, spread evenly over each function's calls of each
submission (``SAMPLED_CALLS`` at most); ``--exhaustive`` checks every one.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.authoring.fairness import alternative_folders, write_alternative_submission
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, all_assignments, assignment_names
from autograder.grading.grade import suite_command
from autograder.suite.hints import Call, Suspect, assignment_diagnoses, diagnose, matches

PLUGINS = Path(__file__).with_name("plugins")
ASSIGNMENTS = all_assignments()
WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Recordings made at once."""
SAMPLED_CALLS = 4
"""The calls of each function (of each submission) the default run checks."""


@pytest.fixture(scope="module")
def sample(request):
    """``sample(items)``: the (test, call) pairs to check, all of them with ``--exhaustive``,
    else at most ``SAMPLED_CALLS`` per function, every k-th in the order they were made."""
    every = request.config.getoption("exhaustive")

    def pick(items):
        items = list(items)
        if every:
            return items
        by_function: dict[str, list] = {}
        for item in items:
            by_function.setdefault(item[1].function, []).append(item)
        picked = []
        for calls in by_function.values():
            step = max(1, math.ceil(len(calls) / SAMPLED_CALLS))
            picked += calls[::step]
        return picked

    return pick


def _recorded_calls(assignment, submission: Path, out: Path) -> list[tuple[str, list[Call]]]:
    suites = [str(assignment.public_dir), str(assignment.hidden_dir)]
    command = suite_command(suites, submission, ("-p", "record_calls"))
    environment = dict(os.environ, PYTHONPATH=str(PLUGINS), RECORD_CALLS_TO=str(out))
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert out.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    with out.open("rb") as recorded:
        return pickle.load(recorded)


@pytest.fixture(scope="module", params=ASSIGNMENTS, ids=lambda a: a.name)
def audited(request, tmp_path_factory):
    """``(assignment, reference module, {submission: recorded calls})``."""
    assignment = request.param
    folder = tmp_path_factory.mktemp(assignment.name)
    write_files(solution_submission_files(SOLUTIONS_DIR, assignment_names()), folder / "reference")
    submissions = {"reference": folder / "reference"}
    for variant in alternative_folders(assignment):
        submissions[variant.name] = write_alternative_submission(variant, folder / variant.name)
    with ThreadPoolExecutor(WORKERS) as pool:  # each recording is a pytest process of its own
        runs = {
            name: pool.submit(_recorded_calls, assignment, path, folder / f"{name}.pickle")
            for name, path in submissions.items()
        }
        recorded = {name: run.result() for name, run in runs.items()}
    for name, calls_by_test in recorded.items():  # an import that failed records nothing
        assert sum(len(calls) for _, calls in calls_by_test) > 0, f"{name}: no call recorded"
    reference = importlib.import_module(f"solutions.{assignment.name}")
    return assignment, reference, recorded


def _diagnosed(calls_by_test, diagnoses):
    for test, calls in calls_by_test:
        for call in calls:
            if call.function in diagnoses:
                yield test, call


def test_correct_results_get_no_hint(audited, sample):
    """No hint and no finding about the difference (``suite/differences.py``) either."""
    assignment, reference, recorded = audited
    checked = 0
    for submission, calls_by_test in recorded.items():
        for test, call in sample((test, c) for test, calls in calls_by_test for c in calls):
            hints = diagnose(reference, [call], assignment.name)
            assert hints == [], f"{submission}, {test}, {call.function}: {hints}"
            checked += 1
    assert checked > 0, f"no call of a function of {assignment.name} was recorded"


def test_a_hint_fires_exactly_where_its_mistake_changes_the_output(audited, sample):
    assignment, reference, recorded = audited
    diagnoses = assignment_diagnoses(assignment.name)
    if not diagnoses:
        pytest.skip(f"{assignment.name} has no hints file")
    fired = silent = 0
    for test, call in sample(_diagnosed(recorded["reference"], diagnoses)):
        correct = getattr(reference, call.function)(*call.args, **call.kwargs)
        for suspect in diagnoses[call.function](reference, call):
            if not isinstance(suspect, Suspect) or not suspect.possible:
                continue
            mistaken = Call(call.function, call.args, call.kwargs, suspect.applied(correct))
            hints = diagnose(reference, [mistaken], assignment.name)
            named = any(suspect.hint in hint for hint in hints)
            changes = not matches(suspect.output, suspect.select(correct))
            assert named == changes, (
                f"{test}, {call.function}: the mistake {'changes' if changes else 'keeps'} the "
                f"output, but its hint {'is not' if changes else 'is'} given: {suspect.hint}"
            )
            fired += named
            silent += not named
    if fired + silent:  # a diagnosis that suspects something must name it somewhere
        assert fired > 0, f"no mistake of {assignment.name}'s hints changes any recorded call"
