"""Every suite gives the reference full marks and the untouched template nothing."""

import pytest

from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    all_assignments,
    assignment_names,
)
from autograder.grading.grade import grade

ASSIGNMENTS = all_assignments()


@pytest.fixture(scope="module")
def reference_submission(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    write_files(solution_submission_files(SOLUTIONS_DIR, assignment_names()), folder)
    return folder


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_reference_scores_full_marks_on_public_and_hidden_suites(assignment, reference_submission):
    report = grade(assignment, reference_submission)
    failed = [f"{t.name}: {t.output}" for t in report.tests if t.status != "passed"]
    assert not failed, "\n".join(failed) + "\n" + report.log[-3000:]
    suites = {t.visibility for t in report.tests}
    assert "visible" in suites and len(report.tests) >= 10
    assert report.max_score > 0 and report.score == report.max_score


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_untouched_template_scores_zero_on_every_test(assignment):
    report = grade(assignment, TEMPLATE_DIR)
    assert report.tests, report.log[-3000:]
    scored = [t.name for t in report.tests if t.score != 0]
    assert not scored, f"the template scored on: {scored}"
    assert report.score == 0 and report.max_score > 0
