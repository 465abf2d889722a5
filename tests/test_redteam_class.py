"""A class of hostile and innocent submissions graded side by side with ``grade-all``.

Every innocent submission must get exactly the score, test by test, that it gets when graded
alone, whatever the hostile ones beside it do (hold their process limit, kill every process
they may signal, spread memory over helpers, fill every writable place, fork without end,
return huge results, hang, read a classmate's file). ``benchmarks/class_isolation.py`` repeats
this 20 times with ``--jobs 4``; the default run grades the class once with ``--jobs 4`` (four
gradings beside one another on a machine of two cores), ``--exhaustive`` once more with
``--jobs 2``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.core.assignments import load_assignment
from autograder.grading.grade import grade
from autograder.sandbox import isolation

sys.path.insert(0, str(Path(__file__).parent / "redteam"))
from hostile_class import build_class, class_outcomes, outcome

GRADE_ALL = [sys.executable, "-m", "autograder", "grade-all", "conv"]


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    innocent, hostile = build_class(folder)
    solo = {}
    assignment = load_assignment("conv")
    for name in innocent:
        report = grade(assignment, folder / name, timeout=300)
        assert not report.grading_error, report.grading_error
        solo[name] = outcome(report.to_gradescope())
    return folder, innocent, hostile, solo


@pytest.mark.skipif(not isolation.running_as_root(), reason="full isolation needs root")
@pytest.mark.parametrize("jobs", [4, pytest.param(2, marks=pytest.mark.exhaustive)])
def test_innocent_submissions_keep_their_solo_scores_beside_hostile_ones(classroom, tmp_path, jobs):
    folder, innocent, hostile, solo = classroom
    out = tmp_path / "grades"
    finished = subprocess.run(
        [*GRADE_ALL, str(folder), "--out", str(out), "--jobs", str(jobs), "--regrade"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert class_outcomes(out, innocent) == solo
    for name in hostile:  # every hostile submission got a grade, not an error
        payload = json.loads((out / "students" / name / "results.json").read_text())
        assert payload["extra_data"]["status"] == "graded", (name, payload["extra_data"])
    stolen = json.loads((out / "students" / "reads-classmates" / "results.json").read_text())
    assert stolen["score"] == solo["stub"][0]  # a classmate's file cannot be read
