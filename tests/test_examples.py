"""The bundled buggy submissions apply to the reference and earn partial credit (or, for a
device-discipline bug, full credit with failed strict cases: those are feedback only)."""

import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, assignment_names, load_assignment
from autograder.grading.grade import grade

SPECS = buggy_specs()


def test_every_assignment_has_a_buggy_example():
    assert {spec["assignment"] for spec in SPECS} == set(assignment_names())


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_buggy_example_earns_partial_credit(spec, tmp_path):
    reference = solution_submission_files(SOLUTIONS_DIR, assignment_names())
    write_files(apply_edits(reference, spec), tmp_path)
    report = grade(load_assignment(spec["assignment"]), tmp_path)
    assert report.tests, report.log[-2000:]
    if spec.get("feedback_only"):
        assert report.score == report.max_score, (report.score, report.max_score)
        strict = [t for t in report.tests if "[strict" in t.name]
        failed = [t for t in strict if t.status == "failed"]
        assert failed and all(t.max_score == 0 for t in strict), strict
        assert all("device discipline" in t.output for t in failed), failed[0].output
        return
    assert 0 < report.score < report.max_score, (report.score, report.max_score)


def test_an_edit_that_no_longer_applies_is_reported():
    spec = {"name": "stale", "edits": [{"file": "conv.py", "old": "no such text", "new": ""}]}
    with pytest.raises(ValueError, match=r"occurs 0 times in conv\.py, expected once"):
        apply_edits({"conv.py": "print(1)\n"}, spec)
